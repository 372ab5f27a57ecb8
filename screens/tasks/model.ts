// Pure pieces of the task screens: risk badges, the parameter fields read from a task's zod
// schema, and the scrolling of a window over many lines (the confirmation a plan needs is the
// core's policy, src/tasks/confirm.ts).
// No React and no I/O, so the reducers and the components share them and tests can call them.
import type { Risk, TaskDef } from '../../src/tasks/model';
import type { Status } from '../../src/types';
import type { ScrollDelta } from '../keymap';
import type { Seg } from '../panels';

export type { ScrollDelta } from '../keymap';

export const RISK_BADGE: Record<Risk, string> = { low: '[low]', medium: '[medium]', high: '[HIGH]', critical: '[CRITICAL]' };
const RISK_STATUS: Record<Risk, Status> = { low: 'OK', medium: 'WARNING', high: 'CRITICAL', critical: 'CRITICAL' };
/** the widest badge, for aligned lists */
export const BADGE_WIDTH = 10;

/** `[low]` `[medium]` `[HIGH]` `[CRITICAL]`: readable without colour, coloured with it. */
export function riskSeg(risk: Risk, pad = false): Seg {
  const text = RISK_BADGE[risk] ?? `[${String(risk)}]`;
  return { text: pad ? text.padEnd(BADGE_WIDTH) : text, status: RISK_STATUS[risk], bold: risk === 'high' || risk === 'critical' };
}

// ---------------------------------------------------------------- parameters
export interface ParamField {
  name: string;
  required: boolean;
  /** the schema's .describe() text, if any */
  description: string | null;
}

interface SchemaLike {
  shape?: Record<string, unknown>;
  safeParse?: (v: unknown) => { success: boolean };
  description?: string;
  def?: { in?: unknown; innerType?: unknown; schema?: unknown };
  _zod?: { def?: { in?: unknown; innerType?: unknown } };
}

/** The object shape of a task's parameters: a ZodObject's, or the one inside a pipe/refinement. */
function shapeOf(schema: unknown, depth = 0): Record<string, unknown> | null {
  if (!schema || typeof schema !== 'object' || depth > 5) return null;
  const s = schema as SchemaLike;
  if (s.shape && typeof s.shape === 'object') return s.shape;
  const def = s.def ?? s._zod?.def;
  return shapeOf(def?.in, depth + 1) ?? shapeOf(def?.innerType, depth + 1);
}

/** One field per key of the task's parameter object, in declaration order. */
export function paramFields(task: Pick<TaskDef, 'params'>): ParamField[] {
  const shape = shapeOf(task.params);
  if (!shape) return [];
  return Object.entries(shape).map(([name, field]) => {
    const f = field as SchemaLike;
    let required = true;
    try {
      required = !(f.safeParse?.(undefined).success ?? false);
    } catch {
      /* a schema that throws on undefined needs a value */
    }
    return { name, required, description: typeof f.description === 'string' && f.description ? f.description : null };
  });
}

/** Splits on commas outside double quotes ("a.b, c.\"d,e\"" is two items). */
function splitList(v: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of v) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/**
 * What the form's text becomes: empty fields are left out (so defaults apply); a value with
 * commas becomes a list when the field takes a list (like --param given several times).
 */
export function paramsFromForm(task: Pick<TaskDef, 'params'>, values: Record<string, string>): Record<string, unknown> {
  const shape = shapeOf(task.params) ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(values)) {
    const v = raw.trim();
    if (v === '') continue;
    const field = shape[name] as SchemaLike | undefined;
    if (v.includes(',') && field?.safeParse) {
      const list = splitList(v);
      try {
        if (list.length > 1 && field.safeParse(list).success) {
          out[name] = list;
          continue;
        }
      } catch {
        /* fall through to the text */
      }
    }
    out[name] = v;
  }
  return out;
}

// ---------------------------------------------------------------- scrolling

/** A window of `height` lines over `count`, its first line clamped so the window stays full. */
export function clampTop(top: number, count: number, height: number): number {
  return Math.max(0, Math.min(top, count - height));
}

export function scrollTop(top: number, delta: ScrollDelta, count: number, height: number): number {
  const cur = clampTop(top, count, height);
  const h = Math.max(1, height);
  const next =
    delta === 'home' ? 0 : delta === 'end' ? count : delta === 'page-up' ? cur - h : delta === 'page-down' ? cur + h : cur + delta;
  return clampTop(next, count, height);
}

/** A window that keeps the selected row in view, roughly centred. */
export function windowAround(sel: number, count: number, height: number): number {
  return clampTop(sel - Math.floor(height / 2), count, height);
}

/**
 * The live output's view: following the newest lines, or held at an absolute line number
 * (so new lines arriving do not move what the operator is reading).
 */
export interface OutputView {
  follow: boolean;
  /** absolute index (of all lines ever pushed) of the first visible line, when not following */
  top: number;
}

export const FOLLOW: OutputView = { follow: true, top: 0 };

export interface OutputEnv {
  /** lines the output area shows */
  height: number;
  /** lines ever pushed (LineRing.total) */
  total: number;
  /** lines still kept (LineRing.length) */
  kept: number;
}

/** The absolute index of the first visible line. */
export function outputTop(view: OutputView, env: OutputEnv): number {
  const first = env.total - env.kept;
  const last = Math.max(first, env.total - env.height);
  return view.follow ? last : Math.max(first, Math.min(view.top, last));
}

export function scrollOutput(view: OutputView, delta: ScrollDelta, env: OutputEnv): OutputView {
  if (delta === 'end') return view.follow ? view : FOLLOW;
  const first = env.total - env.kept;
  const last = Math.max(first, env.total - env.height);
  if (last === first) return view; // everything fits: nothing to scroll
  const cur = outputTop(view, env);
  const h = Math.max(1, env.height);
  const to = delta === 'home' ? first : delta === 'page-up' ? cur - h : delta === 'page-down' ? cur + h : cur + delta;
  const top = Math.max(first, Math.min(to, last));
  if (!view.follow && top === view.top) return view;
  return { follow: false, top };
}

/**
 * Wraps text to `width` columns at spaces, never inside a word or a pid (issue 13 §4), keeping
 * every character (the space stays at the end of its line, so the lines joined are the command
 * exactly as it runs). Only a token longer than the width is cut, at the width.
 */
export function hardWrap(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    let rest = [...raw];
    if (rest.length === 0) out.push('');
    while (rest.length > w) {
      // the last space that leaves a line of at most w characters, the space included
      let cut = -1;
      for (let i = Math.min(w - 1, rest.length - 1); i > 0; i--) {
        if (rest[i] === ' ') {
          cut = i;
          break;
        }
      }
      if (cut > 0) {
        out.push(rest.slice(0, cut + 1).join(''));
        rest = rest.slice(cut + 1);
      } else {
        out.push(rest.slice(0, w).join(''));
        rest = rest.slice(w);
      }
    }
    if (rest.length) out.push(rest.join(''));
  }
  return out;
}

/** "the run failed", "the run was cancelled"... */
export function ranText(outcome: string | null | undefined): string {
  switch (outcome) {
    case null:
    case undefined:
      return 'the run stopped';
    case 'cancelled':
    case 'interrupted':
    case 'rolled back':
    case 'refused':
      return `the run was ${outcome}`;
    default:
      return `the run ${outcome}`;
  }
}
