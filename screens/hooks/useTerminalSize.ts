// The terminal's size, following resize events, unless a size is forced (tests).
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export function useTerminalSize(columns?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  const forced = columns !== undefined && rows !== undefined;
  useEffect(() => {
    if (forced) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout, forced]);
  return { columns: columns ?? size.columns, rows: rows ?? size.rows };
}
