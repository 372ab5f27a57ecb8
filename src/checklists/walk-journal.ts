// The checklist journal and its reading: `checklists.jsonl` beside the task journal, and the
// fold of one walkthrough's events (journal order) into its summary, the records of its steps
// and the health at its start and end. The Walkthrough (walkthrough.ts) writes the events and
// reads itself back through summarizeWalk; the service, the report and `ops checklist` list and
// find walkthroughs here.
import { hostname } from 'node:os';
import { Journal, pickByPrefix, type LooseEvent, type Operator } from '../journal';
import type { HealthReport, Snapshot, Status } from '../types';
import { metricsOf } from './conditions';
import type { ChecklistStep } from './model';

/** Outcomes that settle a step; 'started' (a task under way) and 'blocked' (a gate) leave it open. */
export type ChecklistOutcome =
  | 'passed'
  | 'failed'
  | 'unknown'
  | 'confirmed'
  | 'skipped'
  | 'not-applicable'
  | 'overridden'
  | 'done'
  | 'entered'
  | 'read';
export type ChecklistStepState = 'open' | 'started' | 'blocked' | ChecklistOutcome;

const SETTLED = new Set<string>(['passed', 'failed', 'unknown', 'confirmed', 'skipped', 'not-applicable', 'overridden', 'done', 'entered', 'read']);
export const isSettled = (s: ChecklistStepState): boolean => SETTLED.has(s);

export type WalkOutcome = 'completed' | 'blocked' | 'failed' | 'abandoned';

export interface StepRecord {
  id: string;
  kind: ChecklistStep['kind'];
  title: string;
  required: boolean;
  status: ChecklistStepState;
  /** what was seen (checks, gates), or what was entered (input) */
  value?: string;
  reason?: string;
  notes: { ts: string; by: string; text: string }[];
  by?: string;
  at?: string;
  taskRun?: string;
  taskOutcome?: string;
  durationMs?: number;
}

export interface HealthRecord {
  at: string;
  status: Status | null;
  score: number | null;
  metrics: Record<string, number | null>;
  statuses: Record<string, Status>;
  /** check id → one-line summary, for the report's open problems */
  problems: Record<string, string>;
}

export interface WalkSummary {
  run: string;
  checklist: string;
  title: string;
  source: string;
  target: string;
  operator: Operator | null;
  host: string;
  window: string;
  insideWindow: boolean | null;
  startedAt: string;
  endedAt: string | null;
  outcome: WalkOutcome | 'unfinished';
  steps: StepRecord[];
  start: HealthRecord | null;
  end: HealthRecord | null;
  /** who resumed it, and when */
  resumes: { ts: string; by: string }[];
}

// ---------------------------------------------------------------- journal

export const CHECKLIST_JOURNAL = 'checklists.jsonl';

/** The checklist journal in the state directory (or `dir`). */
export function checklistJournal(dir?: string, secrets: readonly string[] = []): Journal {
  return new Journal(dir, { file: CHECKLIST_JOURNAL, secrets });
}

export function healthRecord(snapshot: Snapshot | null, report: HealthReport | null): HealthRecord {
  const statuses: Record<string, Status> = {};
  const problems: Record<string, string> = {};
  for (const c of report?.checks ?? []) {
    statuses[c.id] = c.status;
    if (c.status !== 'OK') problems[c.id] = `${c.status} ${c.label}: ${c.summary}`;
  }
  return {
    at: new Date(report?.at ?? snapshot?.at ?? Date.now()).toISOString(),
    status: report?.status ?? null,
    score: report?.score ?? null,
    metrics: metricsOf(snapshot, report),
    statuses,
    problems,
  };
}

type Ev = LooseEvent;

/** Folds one walkthrough's events (journal order) into its summary; null without a start. */
export function summarizeWalk(events: readonly Ev[]): WalkSummary | null {
  const start = events.find((e) => e.type === 'cl.start');
  if (!start) return null;
  const steps = (Array.isArray(start.steps) ? start.steps : []) as { id: string; kind: ChecklistStep['kind']; title: string; required?: boolean }[];
  const s: WalkSummary = {
    run: start.run,
    checklist: String(start.checklist ?? '?'),
    title: String(start.title ?? start.checklist ?? '?'),
    source: String(start.source ?? ''),
    target: String(start.target ?? '?'),
    operator: (start.operator as Operator) ?? null,
    host: String((start.operator as Operator | undefined)?.host ?? '?'),
    window: String(start.window ?? ''),
    insideWindow: typeof start.insideWindow === 'boolean' ? start.insideWindow : null,
    startedAt: start.ts,
    endedAt: null,
    outcome: 'unfinished',
    steps: steps.map((p) => ({ id: String(p.id), kind: p.kind, title: String(p.title ?? p.id), required: p.required === true, status: 'open', notes: [] })),
    start: null,
    end: null,
    resumes: [],
  };
  const stepOf = (id: unknown) => s.steps.find((x) => x.id === id);
  for (const e of events) {
    switch (e.type) {
      case 'cl.snapshot':
        if (e.which === 'start') s.start = e.health as HealthRecord;
        else s.end = e.health as HealthRecord;
        break;
      case 'cl.step': {
        const st = stepOf(e.step);
        if (!st) break;
        st.status = String(e.outcome) as ChecklistStepState;
        st.at = e.ts;
        st.by = typeof e.by === 'string' ? e.by : undefined;
        for (const k of ['value', 'reason', 'taskRun', 'taskOutcome'] as const) {
          if (typeof e[k] === 'string') st[k] = e[k] as string;
        }
        if (typeof e.durationMs === 'number') st.durationMs = e.durationMs;
        if (typeof e.note === 'string' && e.note) st.notes.push({ ts: e.ts, by: st.by ?? '?', text: e.note });
        break;
      }
      case 'cl.note': {
        const st = stepOf(e.step);
        if (st && typeof e.text === 'string') st.notes.push({ ts: e.ts, by: typeof e.by === 'string' ? e.by : '?', text: e.text });
        break;
      }
      case 'cl.resume':
        s.resumes.push({ ts: e.ts, by: String(e.by ?? '?') });
        break;
      case 'cl.end':
        s.outcome = String(e.outcome) as WalkOutcome;
        s.endedAt = e.ts;
        break;
    }
  }
  return s;
}

/** Every walkthrough in the journal, newest first. */
export function listWalks(journal: Journal): WalkSummary[] {
  const byRun = new Map<string, Ev[]>();
  for (const e of journal.looseEvents()) {
    if (!e.type.startsWith('cl.')) continue;
    let l = byRun.get(e.run);
    if (!l) byRun.set(e.run, (l = []));
    l.push(e);
  }
  const out: WalkSummary[] = [];
  for (const events of byRun.values()) {
    const s = summarizeWalk(events);
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
}

/** The walkthrough whose id is or starts with `prefix`. */
export function findWalk(journal: Journal, prefix: string): WalkSummary {
  const all = listWalks(journal);
  const run = pickByPrefix(all.map((w) => w.run), prefix, { one: 'checklist walkthrough', many: 'walkthroughs', where: journal.file });
  return all.find((w) => w.run === run)!;
}

/**
 * Unfinished walkthroughs nobody is walking now: their process is gone (a crash, a dropped SSH
 * session, a headless run that stopped at a manual step), or it is this process (left with q).
 */
export function unfinishedWalks(journal: Journal): WalkSummary[] {
  const host = hostname();
  return listWalks(journal).filter((w) => {
    if (w.outcome !== 'unfinished') return false;
    const op = w.operator;
    if (!op || op.host !== host) return true;
    if (op.pid === process.pid) return true; // left open in this very console

    try {
      process.kill(op.pid, 0);
      return false; // its console is still open
    } catch {
      return true;
    }
  });
}

/** The newest finished (completed) walkthrough of `checklist` on `target`, for baseline comparisons. */
export function latestCompleted(journal: Journal, checklist: string, target: string): WalkSummary | null {
  return listWalks(journal).find((w) => w.checklist === checklist && w.target === target && w.outcome === 'completed' && w.start) ?? null;
}
