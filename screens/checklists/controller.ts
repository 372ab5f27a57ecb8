// The walkthrough part of the console's controller (screens/controller.ts): opening checklists
// and walkthroughs, the evaluation that settles automatic steps whenever health data or the
// walkthrough changes, and the operator's replies. Every reply goes through the core's
// WalkHandle.answer (the one mapping of a step's need and the reply to an outcome, shared with
// the headless runner); this module only turns its answer into what the screen shows.
import { errorLine } from '../../src/errors';
import type { ChecklistServiceLike } from '../../src/checklists/service';
import { skipRefusal } from '../../src/checklists/skip';
import type { WalkAnswer, WalkHandle, WalkReply } from '../../src/checklists/walkthrough';
import type { RunHandleLike } from '../../src/tasks/service';
import type { MonitorLike } from '../../src/types';
import type { AppAction, AppState, Route } from '../state';
import type { ChecklistBack, HistoryMode } from '../tasks/state';
import { newWalkRoute, type ChecklistsRoute, type TextMode, type WalkRoute } from './state';

export interface WalkDeps {
  apply: (a: AppAction) => void;
  go: (r: Route) => void;
  state: () => AppState;
  monitor: MonitorLike;
  checklists: ChecklistServiceLike | undefined;
  hasTasks: () => boolean;
  now: () => number;
  openHistory: (mode: HistoryMode, back?: WalkRoute) => void;
  /** the plan screen of a walkthrough's task step */
  openTaskPlan: (back: ChecklistBack, taskId: string, params: Record<string, unknown>) => void;
}

export type WalkController = ReturnType<typeof walkController>;

export function walkController(d: WalkDeps) {
  const watch = walkWatcher(d);
  const core = walkCore(d, watch);
  const { evaluate } = core;
  const { openChecklists, openWalk, openChosen, taskStarted, taskClosed } = walkOpeners(d, watch);
  const { submitText, enter, skip, endBlocked, openNote, leave } = walkCommands(d, core);

  function dispose(): void {
    watch(null);
  }

  return { evaluate, openChecklists, openWalk, openChosen, taskStarted, taskClosed, submitText, enter, skip, endBlocked, openNote, leave, dispose };
}

/** The walkthrough the screen follows. */
function walkWatcher(d: WalkDeps) {
  let watched: WalkHandle | null = null;
  let offWalk: (() => void) | null = null;

  /** The screen follows the walkthrough's own state: every record, note or end redraws it. */
  function watch(w: WalkHandle | null): void {
    if (w === watched) return;
    offWalk?.();
    watched = w;
    offWalk = w ? w.subscribe(() => d.apply({ type: 'walk-changed', state: w.state })) : null;
  }

  return watch;
}

type Watch = ReturnType<typeof walkWatcher>;

/** The health data a walkthrough is begun and judged on. */
function healthOf(monitor: MonitorLike) {
  const st = monitor.getState();
  // Sources publish as they answer: until every one has answered once (or been given up on),
  // a walkthrough is not begun or judged on a report that leaves one out (its "before" figures
  // would miss PostgreSQL whenever the first connection took a moment).
  if (st.waiting?.some((w) => w.lastAnswerAt === null && !w.overdue)) return { snapshot: null, report: null };
  return { snapshot: st.snapshot, report: st.report };
}

/** The evaluation that settles automatic steps, and the replies handed to the core. */
function walkCore(d: WalkDeps, watch: Watch) {
  const health = () => healthOf(d.monitor);
  const route = (): WalkRoute | null => {
    const r = d.state().route;
    return r.screen === 'checklist' ? r : null;
  };
  const error = (text: string) => d.apply({ type: 'error', error: text });

  function finish(w: WalkHandle, outcome: 'completed' | 'blocked') {
    const svc = d.checklists;
    if (!svc) return;
    try {
      const report = svc.finish(w, outcome, health());
      d.apply({ type: 'walk-finished', outcome, report });
    } catch (err) {
      d.apply({ type: 'walk-finished', outcome, report: null });
      error(`the report could not be written: ${errorLine(err)}`);
    }
  }

  /** Begins a waiting walkthrough once health data exists; settles what needs no operator. */
  function evaluate(): void {
    const r = route();
    const svc = d.checklists;
    if (!r || !svc || r.finished) return;
    const h = health();
    if (!r.walk) {
      if (!r.beginning || !h.report) return;
      try {
        const w = svc.begin(r.beginning, h);
        watch(w);
        d.apply({ type: 'walk-begun', walk: w });
      } catch (err) {
        d.go({ screen: 'dashboard' });
        d.apply({ type: 'notice', text: `checklist ${r.beginning}: ${errorLine(err)}` });
        return;
      }
      return evaluate();
    }
    watch(r.walk);
    if (r.mode || r.walk.ended) return; // nothing moves under the operator's typing
    try {
      const need = r.walk.advance(svc.live(h, new Date(d.now())), (run) => svc.taskOutcome(run));
      d.apply({ type: 'walk-need', need });
      if (need.kind === 'done') finish(r.walk, 'completed');
    } catch (err) {
      error(errorLine(err));
    }
  }

  /** What the core answered to a reply, as the screen shows it. */
  function settle(r: WalkRoute, a: WalkAnswer, mode: TextMode | null): void {
    switch (a.kind) {
      case 'recorded':
        d.apply({ type: 'walk-recorded' });
        return evaluate();
      case 'ask': {
        const index = r.walk?.current ?? 0;
        return d.apply({ type: 'walk-mode', mode: { kind: a.what, index, text: '' } });
      }
      case 'refused':
        if (mode && a.retype) d.apply({ type: 'walk-mode', mode: { ...mode, text: '' } });
        return error(a.error);
      case 'wait':
        return d.apply({ type: 'notice', text: a.why });
      case 'run-task':
        if (!d.hasTasks()) return error('this console has no task engine');
        return d.openTaskPlan({ screen: 'checklist', route: r, index: a.index }, a.taskId, a.params);
      case 'end':
        if (r.walk) finish(r.walk, a.outcome);
    }
  }

  /** Hands a reply to the core; a journal that cannot be written shows as the error line. */
  function reply(r: WalkRoute, rep: WalkReply, mode: TextMode | null = null): void {
    const w = r.walk;
    if (!w || !r.need) return;
    let a: WalkAnswer;
    try {
      a = w.answer(r.need, rep);
    } catch (err) {
      return error(errorLine(err));
    }
    settle(r, a, mode);
  }

  return { error, evaluate, settle, reply };
}

type WalkCore = ReturnType<typeof walkCore>;

/** Opening the checklists and walkthroughs, and a task step's run started and closed. */
function walkOpeners(d: WalkDeps, watch: Watch) {
  function openChecklists(): void {
    const svc = d.checklists;
    if (!svc) return;
    try {
      const { checklists, errors } = svc.checklists();
      const r: ChecklistsRoute = { screen: 'checklists', checklists, unfinished: svc.unfinished(), errors, sel: 0 };
      d.go(r);
    } catch (err) {
      d.apply({ type: 'notice', text: `checklists: ${errorLine(err)}` });
    }
  }

  /** Opens a walkthrough: a new one (begins with the next health data) or one to resume. */
  function openWalk(how: { begin: string } | { resume: string }): void {
    const svc = d.checklists;
    if (!svc) return;
    if ('begin' in how) return d.go(newWalkRoute(null, how.begin));
    let w: WalkHandle;
    try {
      w = svc.resume(how.resume);
    } catch (err) {
      d.go({ screen: 'dashboard' });
      d.apply({ type: 'notice', text: `resume: ${errorLine(err)}` });
      return;
    }
    watch(w);
    d.go(newWalkRoute(w, null));
  }

  /** Enter on the list: begin the checklist, or resume the unfinished walkthrough, chosen. */
  function openChosen(r: ChecklistsRoute): void {
    if (r.sel < r.checklists.length) return openWalk({ begin: r.checklists[r.sel].id });
    const u = r.unfinished[r.sel - r.checklists.length];
    if (u) openWalk({ resume: u.run });
  }

  /** A task step's run has closed: its outcome goes to the walkthrough. */
  function taskClosed(back: ChecklistBack, handle: RunHandleLike, startedAt: number | null): void {
    const w = back.route.walk;
    if (!w || w.ended) return;
    try {
      w.taskEnded(back.index, handle.runId, handle.runner.state.outcome ?? 'failed', startedAt === null ? undefined : d.now() - startedAt);
    } catch {
      // shown on return: the step stays open with its run recorded as started
    }
  }

  function taskStarted(back: ChecklistBack, handle: RunHandleLike): void {
    back.route.walk?.taskStarted(back.index, handle.runId, handle.task.id);
  }

  return { openChecklists, openWalk, openChosen, taskStarted, taskClosed };
}

/** The operator's commands on the walkthrough screen. */
function walkCommands(d: WalkDeps, core: WalkCore) {
  const { error, evaluate, reply, settle } = core;

  /** Enter while typing: the text goes to the step the prompt was opened for. */
  function submitText(r: WalkRoute): void {
    const m = r.mode;
    const w = r.walk;
    if (!m || !w) return;
    if (m.kind === 'note') {
      if (!m.text.trim()) return d.apply({ type: 'walk-mode', mode: null });
      try {
        w.note(m.index, m.text);
      } catch (err) {
        return error(errorLine(err));
      }
      return settle(r, { kind: 'recorded' }, m);
    }
    reply(r, m.kind === 'skip' ? { kind: 'skip', reason: m.text } : { kind: 'text', text: m.text }, m);
  }

  /** Enter on the current step: what its need asks for. */
  function enter(r: WalkRoute): void {
    const w = r.walk;
    const cur = w?.current ?? null;
    if (!w || cur === null) return;
    if (r.review !== null && r.review !== cur) return d.apply({ type: 'walk-review', delta: null });
    if (!r.need || r.need.kind === 'done' || r.need.index !== cur) return evaluate();
    reply(r, { kind: 'enter' });
  }

  function skip(r: WalkRoute): void {
    const w = r.walk;
    const cur = w?.current ?? null;
    if (!w || cur === null) return;
    if (r.need && r.need.kind !== 'done' && r.need.index === cur) return reply(r, { kind: 'skip' });
    const no = skipRefusal(w.checklist.steps[cur]);
    if (no) return error(no);
    d.apply({ type: 'walk-mode', mode: { kind: 'skip', index: cur, text: '' } });
  }

  /** x at a failed gate that blocks: the walkthrough ends blocked, the gate recorded with what was seen. */
  function endBlocked(r: WalkRoute): void {
    if (r.walk?.current === null || r.need?.kind !== 'gate-block') return;
    reply(r, { kind: 'end-blocked' });
  }

  function openNote(r: WalkRoute): void {
    const index = r.review ?? r.walk?.current ?? null;
    if (index === null) return;
    d.apply({ type: 'walk-mode', mode: { kind: 'note', index, text: '' } });
  }

  function leave(r: WalkRoute): void {
    d.go({ screen: 'dashboard' });
    if (r.walk && !r.finished) d.apply({ type: 'notice', text: `walkthrough ${r.walk.run} left open: l lists it to resume (or ops checklist resume)` });
  }

  return { submitText, enter, skip, endBlocked, openNote, leave };
}
