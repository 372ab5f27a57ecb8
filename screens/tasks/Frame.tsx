// The task screens' common frame: a header line, a body and a footer line, never more than
// rows - 1 lines (Ink clears the whole screen when a frame reaches the terminal's height), each
// line truncated to the width, or wrapped into the rows left over (Frame's rows).
import { Box } from 'ink';
import { createContext, useContext } from 'react';
import { LineView } from '../components/LineView';
import { clean, fillRows } from '../format';
import type { Line } from '../panels';

/** Lines the body gets between the header and the footer. */
export function bodyHeight(rows: number): number {
  return Math.max(0, Math.floor(rows) - 3);
}

export function fitFrame(header: Line, body: Line[], footer: Line, rows: number): Line[] {
  const max = Math.max(0, Math.floor(rows) - 1);
  if (max === 0) return [];
  if (max === 1) return [header];
  if (max === 2) return [header, footer];
  return [header, ...body.slice(0, max - 2), footer];
}

/** The footer: the key hints, or a notice in their place until the next key. */
export function footer(hints: string, notice: string | null): Line {
  if (notice) return [{ text: `! ${clean(notice)}`, bold: true, status: 'WARNING' }];
  return [{ text: hints }];
}

/** A label every screen's header starts with (the drill's DRILL), so nobody mistakes it for production. */
export const BadgeContext = createContext<string | null>(null);

/**
 * The frame's lines, one terminal line each. Given `rows`, the lines between the header and the
 * footer that are cut at the width wrap into the rows the frame leaves (screens whose lines are
 * table rows leave it out).
 */
export function Frame({ lines: given, columns, color, rows }: { lines: Line[]; columns: number; color: boolean; rows?: number }) {
  const width = Math.max(1, Math.floor(columns));
  const badge = useContext(BadgeContext);
  const body = rows === undefined ? given : fillRows(given, width, rows);
  const lines = badge && body.length ? [[{ text: `[${clean(badge)}]`, bold: true, status: 'WARNING' as const }, { text: ' ' }, ...body[0]], ...body.slice(1)] : body;
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <LineView key={i} line={l} color={color} />
      ))}
    </Box>
  );
}
