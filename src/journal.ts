// The durable journal of task runs.
//
// One append-only file, `journal.jsonl`, in the state directory: one JSON event per line, each
// written with a single write(2) on an O_APPEND descriptor and fsynced before `append` returns,
// so a crash, a Ctrl-C or a dropped SSH session leaves exactly the events of what ran. Both the
// start and the end of every step are journalled: a step with a start and no finish ran, with an
// unknown outcome. Every run's full output goes to its own log file, `runs/<run>.log`, beside it.
//
// Reading never throws on a damaged file. Every line is checked when read: an event whose fields
// are not what the readers use (a wrong type, a missing field) is skipped with one warning naming
// its line, and hides nothing else. A last line without its newline (a write cut short by a
// crash, or one still being written) and events of unknown (future) types or versions are
// skipped quietly.
//
// Reading does not scale with the file: `journal.jsonl.idx` beside it (see JournalIndex) keeps,
// for every run, where its events are, so listing the newest runs or showing one reads only
// their lines. The index is a cache the journal never depends on: appends do not touch it, a
// reader brings it up to date from the lines appended since (by any process), and one that no
// longer matches the file (replaced, truncated, edited) is rebuilt from the file.//
// The pieces live in src/journal/: events.ts (the event types), validate.ts (checking what is
// read), scrub.ts (sanitising what is written), summary.ts (run summaries), run-index.ts (the
// index), reader.ts (reading with it), journal.ts (the Journal), log-writer.ts (the run log),
// state-dir.ts, operator.ts, errors.ts, warnings.ts. This file re-exports their public names.
export { stateDir } from './journal/state-dir';
export { formatOperator, operatorIdentity, type Operator } from './journal/operator';
export type {
  EventBase,
  JournalEvent,
  JournalEventInput,
  JournalEventType,
  LooseEvent,
  LooseEventInput,
  NoteEvent,
  Risk,
  RollbackFinishEvent,
  RollbackStartEvent,
  RunEndEvent,
  RunOutcome,
  RunStartEvent,
  StepFinishEvent,
  StepEnd,
  StepPlan,
  StepStartEvent,
} from './journal/events';
export { parseLine } from './journal/validate';
export { MAX_LINE, MAX_STRING } from './journal/scrub';
export { summarize, type RunSummary, type JournalStepState, type StepSummary } from './journal/summary';
export { StateWriteError } from './journal/errors';
export { setJournalWarningHandler } from './journal/warnings';
export { Journal, pickByPrefix, setJournalAppendListener, type JournalOptions } from './journal/journal';
export { LogWriter, readLog, type LogStream, type OpenLogOptions } from './journal/log-writer';
