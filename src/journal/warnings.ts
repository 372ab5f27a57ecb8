// Where journals without an onWarning of their own send their warnings.

let warningHandler: ((message: string) => void) | null = null;
const warnedInProcess = new Set<string>();

/**
 * Where journals without an `onWarning` of their own send their warnings (a line skipped as
 * unreadable): once per line and file in the process, whichever Journal read it. The CLI prints
 * them to stderr; the console gathers them into a notice. Null (the default): they are only kept
 * in each Journal's `warnings`.
 */
export function setJournalWarningHandler(handler: ((message: string) => void) | null): void {
  warningHandler = handler;
}

/** Gives `message` to the process-wide handler, once per `key` (the file and the line) in the process. */
export function warnProcess(key: string, message: string): void {
  if (!warningHandler) return;
  if (warnedInProcess.has(key)) return;
  warnedInProcess.add(key);
  warningHandler(message);
}
