// A fixed-width sparkline (▁▂▃▄▅▆▇█) of the last `width` points. Pure and cheap: one string.
import { Text } from 'ink';

const BARS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` values as bars, right-aligned and left-padded with spaces to exactly `width`
 * characters. With no `min`/`max` the scale is the data's own range (a flat series sits at the bottom).
 */
export function sparkline(values: readonly number[], width: number, min?: number, max?: number): string {
  const w = Math.max(0, Math.floor(width));
  if (w === 0) return '';
  const pts = values.slice(-w).filter((v) => Number.isFinite(v));
  if (pts.length === 0) return ' '.repeat(w);
  const lo = min ?? Math.min(...pts);
  const hi = max ?? Math.max(...pts);
  const span = hi - lo;
  let out = '';
  for (const v of pts) {
    const f = span > 0 ? (Math.min(hi, Math.max(lo, v)) - lo) / span : 0;
    out += BARS[Math.min(BARS.length - 1, Math.round(f * (BARS.length - 1)))];
  }
  return out.padStart(w, ' ');
}

export interface SparklineProps {
  values: readonly number[];
  width: number;
  min?: number;
  max?: number;
  /** an Ink colour; ignored when `useColor` is false */
  color?: string;
  useColor?: boolean;
}

export function Sparkline({ values, width, min, max, color, useColor = true }: SparklineProps) {
  return (
    <Text wrap="truncate" color={useColor ? color : undefined}>
      {sparkline(values, width, min, max)}
    </Text>
  );
}
