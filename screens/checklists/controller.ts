// What the console does for the checklist screens: keys to actions on the walkthrough (through
// the core's Walkthrough and ChecklistService, never the database or a process directly), and
// the evaluation that settles automatic steps whenever health data or the walkthrough changes.
import type { ChecklistServiceLike } from '../../src/checklists/service';
import { advance, checkInput, type Walkthrough } from '../../src/checklists/walkthrough';
import type { RunHandleLike, TaskServiceLike } from '../../src/tasks/service';
import type { MonitorLike } from '../../src/types';
import type { KeyName } from '../keys';
import type { AppAction, AppState, ChecklistBack, HistoryMode } from '../tasks/state';
import { newWalkRoute, type ChecklistsRoute, type WalkRoute } from './state';

export interface WalkDeps {
  apply: (a: AppAction) => void;
  state: () => AppState;
  monitor: MonitorLike;
  checklists: () => ChecklistServiceLike | undefined;
  tasks: () => TaskServiceLike | undefined;
  now: () => number;
  quit: () => 'stop' | void;
  openHistory: (mode: HistoryMode, back?: WalkRoute) => void;
  /** the plan screen of a walkthrough's task step */
  openTaskPlan: (back: ChecklistBack, taskId: string, params: Record<string, unknown>) => void;
}

const errorText = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0];

const REVIEW: Partial<Record<string, number | 'home' | 'end'>> = { up: -1, down: 1, 'page-up': -10, 'page-down': 10, home: 'home', end: 'end' };

function reviewDelta(k: KeyName): number | 'home' | 'end' | null {
  if (typeof k === 'object') return k.ch === 'k' ? -1 : k.ch === 'j' ? 1 : null;
  return REVIEW[k] ?? null;
}

export function walkController(d: WalkDeps) {
  const health = () => {
    const st = d.monitor.getState();
    // Sources publish as they answer: until every one has answered once (or been given up on),
    // a walkthrough is not begun or judged on a report that leaves one out (its "before" figures
    // would miss PostgreSQL whenever the first connection took a moment).
    if (st.waiting?.some((w) => w.lastAnswerAt === null && !w.overdue)) return { snapshot: null, report: null };
    return { snapshot: st.snapshot, report: st.report };
  };
  const route = (): WalkRoute | null => {
    const r = d.state().route;
    return r.screen === 'checklist' ? r : null;
  };

  function finish(w: Walkthrough, outcome: 'completed' | 'blocked') {
    const svc = d.checklists();
    if (!svc) return;
    try {
      const report = svc.finish(w, outcome, health());
      d.apply({ type: 'walk-finished', outcome, report });
    } catch (err) {
      d.apply({ type: 'walk-finished', outcome, report: null });
      d.apply({ type: 'error', error: `the report could not be written: ${errorText(err)}` });
    }
  }

  /** Begins a waiting walkthrough once health data exists; settles what needs no operator. */
  function evaluate(): void {
    const r = route();
    const svc = d.checklists();
    if (!r || !svc || r.finished) return;
    const h = health();
    if (!r.walk) {
      if (!r.beginning || !h.report) return;
      try {
        d.apply({ type: 'walk-begun', walk: svc.begin(r.beginning, h) });
      } catch (err) {
        d.apply({ type: 'go', route: { screen: 'dashboard' } });
        d.apply({ type: 'notice', text: `checklist ${r.beginning}: ${errorText(err)}` });
        return;
      }
      return evaluate();
    }
    if (r.mode || r.walk.ended) return; // nothing moves under the operator's typing
    const before = r.walk.state;
    try {
      const need = advance(r.walk, svc.live(h, new Date(d.now())), (run) => svc.taskOutcome(run));
      if (r.walk.state !== before) d.apply({ type: 'walk-recorded' });
      d.apply({ type: 'walk-need', need });
      if (need.kind === 'done') finish(r.walk, 'completed');
    } catch (err) {
      d.apply({ type: 'error', error: errorText(err) });
    }
  }

  /** Records, then re-evaluates; a refusal (a required step, a bad value) shows as the error line. */
  function act(fn: () => void): void {
    try {
      fn();
      d.apply({ type: 'walk-recorded' });
    } catch (err) {
      d.apply({ type: 'error', error: errorText(err) });
      return;
    }
    evaluate();
  }

  function openChecklists(): void {
    const svc = d.checklists();
    if (!svc) return;
    try {
      const { checklists, errors } = svc.checklists();
      const r: ChecklistsRoute = { screen: 'checklists', checklists, unfinished: svc.unfinished(), errors, sel: 0 };
      d.apply({ type: 'go', route: r });
    } catch (err) {
      d.apply({ type: 'notice', text: `checklists: ${errorText(err)}` });
    }
  }

  /** Opens a walkthrough: a new one (begins with the next health data) or one to resume. */
  function openWalk(how: { begin: string } | { resume: string }): void {
    const svc = d.checklists();
    if (!svc) return;
    if ('begin' in how) {
      d.apply({ type: 'go', route: newWalkRoute(null, how.begin) });
    } else {
      try {
        d.apply({ type: 'go', route: newWalkRoute(svc.resume(how.resume), null) });
      } catch (err) {
        d.apply({ type: 'go', route: { screen: 'dashboard' } });
        d.apply({ type: 'notice', text: `resume: ${errorText(err)}` });
        return;
      }
    }
    evaluate();
  }

  function listKey(r: ChecklistsRoute, k: KeyName): void | 'stop' {
    const delta = reviewDelta(k);
    if (delta !== null) return d.apply({ type: 'select', delta });
    if (k === 'enter') {
      if (r.sel < r.checklists.length) return openWalk({ begin: r.checklists[r.sel].id });
      const u = r.unfinished[r.sel - r.checklists.length];
      if (u) return openWalk({ resume: u.run });
      return;
    }
    if (k === 'esc') return d.apply({ type: 'go', route: { screen: 'dashboard' } });
    if (k === 'ctrl-c' || (typeof k === 'object' && k.ch === 'q')) return d.quit();
  }

  /** A task step's run has closed: its outcome goes to the walkthrough. */
  function taskClosed(back: ChecklistBack, handle: RunHandleLike, startedAt: number | null): void {
    const w = back.route.walk;
    if (!w || w.ended) return;
    const outcome = handle.runner.state.outcome ?? 'failed';
    try {
      w.record(back.index, outcome === 'succeeded' ? 'done' : 'failed', {
        taskRun: handle.runId,
        taskOutcome: outcome,
        value: `run ${handle.runId} ${outcome}`,
        durationMs: startedAt === null ? undefined : d.now() - startedAt,
      });
    } catch {
      // shown on return: the step stays open with its run recorded as started
    }
  }

  function taskStarted(back: ChecklistBack, handle: RunHandleLike): void {
    back.route.walk?.record(back.index, 'started', { taskRun: handle.runId, value: `task ${handle.task.id}` });
  }

  function walkKey(r: WalkRoute, k: KeyName): void | 'stop' {
    if (k === 'ctrl-c') return d.quit();
    if (r.finished) {
      if (k === 'enter' || k === 'esc' || (typeof k === 'object' && k.ch === 'q')) d.apply({ type: 'go', route: { screen: 'dashboard' } });
      return;
    }
    const w = r.walk;
    if (!w) {
      if (k === 'esc' || (typeof k === 'object' && k.ch === 'q')) d.apply({ type: 'go', route: { screen: 'dashboard' } });
      return;
    }
    // typing: a skip reason, a note, an input value, "yes" at a gate
    if (r.mode) {
      const m = r.mode;
      if (k === 'esc') return d.apply({ type: 'walk-mode', mode: null });
      if (k === 'backspace') return d.apply({ type: 'erase' });
      if (k === 'enter') {
        const step = w.checklist.steps[m.index];
        const need = r.need;
        switch (m.kind) {
          case 'skip':
            return act(() => w.record(m.index, 'skipped', { reason: m.text }));
          case 'note':
            if (!m.text.trim()) return d.apply({ type: 'walk-mode', mode: null });
            return act(() => w.note(m.index, m.text));
          case 'input':
            return act(() => w.record(m.index, 'entered', { value: checkInput(step, m.text) }));
          case 'gate':
            if (m.text.trim().toLowerCase() !== 'yes') {
              d.apply({ type: 'walk-mode', mode: { ...m, text: '' } });
              return d.apply({ type: 'error', error: `"${m.text}" is not yes: type yes to go on past the failed gate, or Esc` });
            }
            return act(() => w.record(m.index, 'overridden', { value: need && 'verdict' in need ? need.verdict.value : undefined, note: 'operator typed yes' }));
        }
      }
      if (typeof k === 'object') d.apply({ type: 'type', ch: k.ch });
      return;
    }
    const delta = reviewDelta(k);
    if (delta !== null) return d.apply({ type: 'walk-review', delta });
    const ch = typeof k === 'object' ? k.ch : null;
    if (k === 'esc') {
      if (r.review !== null) return d.apply({ type: 'walk-review', delta: null });
      return;
    }
    if (ch === 'q') {
      d.apply({ type: 'go', route: { screen: 'dashboard' } });
      return d.apply({ type: 'notice', text: `walkthrough ${w.run} left open: l lists it to resume (or ops checklist resume)` });
    }
    if (ch === 'u') return d.openHistory('attention', r);
    const cur = w.current;
    if (ch === 'n') {
      const index = r.review ?? cur;
      if (index === null) return;
      return d.apply({ type: 'walk-mode', mode: { kind: 'note', index, text: '' } });
    }
    if (cur === null) return;
    const need = r.need;
    const step = w.checklist.steps[cur];
    if (ch === 's') {
      if (step.kind === 'gate') return d.apply({ type: 'error', error: 'a gate is not skipped: it passes, or (warn gates) is overridden with a typed yes' });
      if (step.required) return d.apply({ type: 'error', error: `"${step.title}" is required: it cannot be skipped` });
      return d.apply({ type: 'walk-mode', mode: { kind: 'skip', index: cur, text: '' } });
    }
    if (ch === 'x' && need?.kind === 'gate-block') {
      // the gate that stopped it, and what was seen, go to the journal first (as ops checklist run records it)
      try {
        w.record(cur, 'blocked', { value: need.verdict.value });
      } catch (err) {
        return d.apply({ type: 'error', error: errorText(err) });
      }
      return finish(w, 'blocked');
    }
    if (k !== 'enter') return;
    if (r.review !== null && r.review !== cur) return d.apply({ type: 'walk-review', delta: null });
    if (!need || need.kind === 'done' || need.index !== cur) return evaluate();
    switch (need.kind) {
      case 'confirm':
        return act(() => w.record(cur, 'confirmed'));
      case 'note':
        return act(() => w.record(cur, 'read'));
      case 'input':
        return d.apply({ type: 'walk-mode', mode: { kind: 'input', index: cur, text: '' } });
      case 'check-failed':
        return act(() => w.record(cur, need.verdict.pass === null ? 'unknown' : 'failed', { value: need.verdict.value }));
      case 'gate-warn':
        return d.apply({ type: 'walk-mode', mode: { kind: 'gate', index: cur, text: '' } });
      case 'gate-block':
        return d.apply({ type: 'error', error: 'blocked: the gate must pass first (x ends the walkthrough here, q leaves it open)' });
      case 'waiting':
        return d.apply({ type: 'notice', text: need.why });
      case 'task':
      case 'task-stopped':
        if (step.kind !== 'task') return;
        if (!d.tasks()) return d.apply({ type: 'error', error: 'this console has no task engine' });
        return d.openTaskPlan({ screen: 'checklist', route: r, index: cur }, step.task, step.params);
    }
  }

  return { evaluate, openChecklists, openWalk, listKey, walkKey, taskStarted, taskClosed };
}
