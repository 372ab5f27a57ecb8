// One terminal line of styled segments, truncated (never wrapped). Colour only when `color`.
// Every segment passes clean() here, whatever its screen did: no text reaches the terminal raw.
import { Text } from 'ink';
import { memo } from 'react';
import { clean, STATUS_COLOR } from '../format';
import type { Line } from '../panels';

/** Two lines draw the same: the same segments, with the same text and styles. */
export function sameLine(a: Line, b: Line): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.text !== y.text || x.status !== y.status || !x.bold !== !y.bold || !x.accent !== !y.accent || !x.inverse !== !y.inverse) return false;
  }
  return true;
}

// compared by value: every round builds its lines anew, and most of them draw as before, so
// React skips them (and ink then re-measures nothing for them)
export const LineView = memo(function LineView({ line, color }: { line: Line; color: boolean }) {
  return (
    <Text wrap="truncate">
      {line.map((seg, i) => {
        const fg = !color ? undefined : seg.status ? STATUS_COLOR[seg.status] : seg.accent ? 'cyan' : undefined;
        const inverse = color && seg.inverse;
        return fg || seg.bold || inverse ? (
          <Text key={i} color={fg} bold={seg.bold} inverse={inverse}>
            {clean(seg.text)}
          </Text>
        ) : (
          clean(seg.text)
        );
      })}
    </Text>
  );
}, (a, b) => a.color === b.color && sameLine(a.line, b.line));
