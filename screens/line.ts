// A line of text on screen: segments, each with its own status colour, accent, weight or
// reverse video. Every screen draws these (components/LineView.tsx renders one).
import type { Status } from '../src/types';

export interface Seg {
  text: string;
  /** coloured by status (when colour is on) */
  status?: Status;
  /** a neutral accent colour (sparklines) */
  accent?: boolean;
  bold?: boolean;
  /** reverse video (a selected row), when colour is on; the screens also mark it textually */
  inverse?: boolean;
}
export type Line = Seg[];
