// One terminal line of styled segments, truncated (never wrapped). Colour only when `color`.
// Every segment passes clean() here, whatever its screen did: no text reaches the terminal raw.
import { Text } from 'ink';
import { memo } from 'react';
import { clean, STATUS_COLOR } from '../format';
import type { Line } from '../panels';

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
});
