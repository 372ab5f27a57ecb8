// The alternate screen the console draws on, entered once and left on every exit path
// (screens/console.tsx, and bin/console.ts's early header before the UI has loaded).
//
// Leaving clears it first. A terminal that reflows text (tmux does) shrinks the alternate screen
// back to the size it had on entering before it restores the shell's screen: after a resize from
// 80x24 to 120x35, the console's lines wider than 80 columns wrap into two, the frame no longer
// fits 24 rows, and the top of it is pushed into the shell's scrollback, from where the resize
// back to 120x35 pulls it onto the shell's screen: the first lines of the console stayed behind.
// An empty alternate screen, the cursor at its top, has nothing to push.

/** Switch to the alternate screen, cursor hidden. */
export const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[?25l';

/** Clear the alternate screen, leave it (the shell's screen and cursor restored), cursor shown. */
export const LEAVE_ALT_SCREEN = '\x1b[H\x1b[2J\x1b[?1049l\x1b[?25h';
