// Copying a query to the operator's clipboard with OSC 52: the terminal (the one on the
// operator's desk, through SSH) sets its clipboard from the sequence. Inside tmux the sequence
// goes through tmux's passthrough (its own ESC doubled), so the outer terminal gets it. Writing to
// the terminal is the console entry's to do (screens/console.tsx hands the console a
// ClipboardLike); the screens only ask, so a test can see what was asked.

/** What the console gets to copy text with. */
export interface ClipboardLike {
  /** writes the text to the terminal's clipboard; false when there is no terminal to write to */
  copy(text: string): boolean;
}

/** The OSC 52 sequence that sets the clipboard to `text`; wrapped in tmux's passthrough when `tmux`. */
export function osc52(text: string, tmux = false): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  const seq = `\x1b]52;c;${b64}\x07`;
  // tmux's passthrough: ESC P tmux; <the sequence, each ESC doubled> ESC \
  return tmux ? `\x1bPtmux;${seq.replace(/\x1b/g, '\x1b\x1b')}\x1b\\` : seq;
}

/** A clipboard that writes OSC 52 to the terminal (`out`), through tmux when TMUX is set. */
export function terminalClipboard(out: { write(s: string): unknown }, env: Record<string, string | undefined>): ClipboardLike {
  const tmux = !!env.TMUX;
  return {
    copy(text) {
      try {
        out.write(osc52(text, tmux));
        return true;
      } catch {
        return false;
      }
    },
  };
}
