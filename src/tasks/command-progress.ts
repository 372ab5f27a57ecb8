// A command step's progress from its own output (issue 13 §2): pg_dump --verbose and
// pg_restore --verbose name each table as they start on it, and the file a dump writes grows.
// A table counts as done once the command says anything after it (the next table, an index it
// creates) or exits 0. The file is stat'ed at most once a second. What it reports is a
// StepProgress, drawn by the same progressFigures as a statement's (src/tasks/progress.ts).
import { stat } from 'node:fs/promises';
import { formatBytes } from '../util/format';
import type { CommandLine, CommandProgress } from './model';
import type { StepProgress } from './progress';

const PHASE_MAX = 80;

/**
 * One line of pg_dump's or pg_restore's standard error, as PostgreSQL 12–17 word it (their
 * logging prefixes every line with `<program>: `, and the level for all but information):
 *   pg_dump: dumping contents of table "public.orders"      (pg_dump.c, dumpTableData_copy)
 *   pg_restore: processing data for table "public.orders"   (pg_backup_archiver.c, restore_toc_entry)
 * Errors, warnings, their detail and hint lines (and 12–14's `fatal:`), `from TOC entry` (the
 * context of an error) and any line without the prefix (an error's `Command was:`) are not
 * chatter: null, and they stay error lines.
 */
export function pgToolLine(tool: 'pg_dump' | 'pg_restore', line: string): CommandLine {
  const prefix = `${tool}: `;
  if (!line.startsWith(prefix)) return null;
  const msg = line.slice(prefix.length);
  if (/^(error|warning|fatal|detail|hint):/.test(msg) || msg.startsWith('from TOC entry') || msg.startsWith('[')) return null;
  const m = (tool === 'pg_dump' ? /^dumping contents of table "(.*)"$/ : /^processing data for table "(.*)"$/).exec(msg);
  return m ? { table: m[1]! } : { verbose: msg };
}

/** Counts a command's tables and reads its file's size, and reports both while it runs. */
export class CommandProgressWatch {
  /** tables it started on */
  private started = 0;
  /** the last table started has not been followed by anything yet */
  private open = false;
  private phase = '';
  private bytes: number | null = null;
  private lastStat = 0;
  private statting = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ended = false;

  constructor(
    private readonly spec: CommandProgress,
    private readonly report: (p: StepProgress | null) => void,
    private readonly everyMs = 1000,
  ) {}

  /** Tables done: every one started, but the one it is on. */
  get done(): number {
    return this.started - (this.open ? 1 : 0);
  }

  /** The command runs: its file's size is read at most once every `everyMs`. */
  start(): void {
    if (!this.spec.file || this.timer) return;
    this.timer = setInterval(() => void this.readSize(false), this.everyMs);
    this.timer.unref?.();
  }

  /** One line of its standard error; true when it is the command's own chatter (logged as info). */
  line(l: string): boolean {
    if (this.ended) return false;
    const k = this.spec.line(l);
    if (!k) return false;
    if ('table' in k) {
      this.started++;
      this.open = true;
      this.phase = `${this.spec.source === 'pg_restore' ? 'restoring' : 'dumping'} ${k.table}`;
    } else {
      this.open = false;
      this.phase = k.verbose;
    }
    this.emit();
    return true;
  }

  /** The process is gone: no more reads of its file. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** It ended: when it exited 0, all it started is done (the last figures, one last size); then no progress. */
  async finish(ok: boolean): Promise<void> {
    this.stop();
    if (this.ended) return;
    if (ok) {
      this.open = false;
      await this.readSize(true);
      this.phase = 'done';
      this.emit();
    }
    this.ended = true;
    this.report(null);
  }

  private async readSize(last: boolean): Promise<void> {
    const file = this.spec.file;
    if (!file || (!last && (this.statting || Date.now() - this.lastStat < this.everyMs))) return;
    this.statting = true;
    this.lastStat = Date.now();
    try {
      this.bytes = (await stat(file)).size;
    } catch {
      /* not there (yet): the size stays unknown */
    } finally {
      this.statting = false;
    }
    if (!last && !this.ended) this.emit();
  }

  private emit(): void {
    const done = this.done;
    const total = this.spec.total === null ? null : Math.max(this.spec.total, done);
    const phase = this.phase.length > PHASE_MAX ? `${this.phase.slice(0, PHASE_MAX - 1)}…` : this.phase;
    this.report({
      source: this.spec.source,
      phase,
      done,
      total,
      unit: 'tables',
      extra: this.bytes !== null ? [`${formatBytes(this.bytes)} written`] : [],
      at: Date.now(),
      waitingFor: null,
    });
  }
}
