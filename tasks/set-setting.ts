// set-setting: ALTER SYSTEM SET a server setting and reload. Its rollback puts back exactly what
// postgresql.auto.conf said before (the old value, or no entry at all) and reloads again.
//
// The plan reads the setting first (read-only): its value now and the new one as SHOW prints
// them (`work_mem 4MB → 64MB`), the value checked against pg_settings (vartype, min_val/max_val
// in the setting's unit, enumvals, bool) so that a bad one is refused before anything runs, and
// when it takes effect: a 'postmaster' setting only after a restart (marked so in the plan, and
// never reported as applied while pending_restart says it waits), an 'internal' one never
// (refused). The run reads and checks it again (step 1) before it changes anything.
import * as z from 'zod';
import { quoteIdent, quoteLiteral, type PlanFindings, type PlanIO, type StepIO, type TaskDef } from '../src/tasks/model';
import { checkValue, contextEffect, showSetting, type SettingRow } from './setting-values';

const ROW_SQL = `SELECT name, setting, unit, vartype, context, min_val, max_val, enumvals, source, pending_restart, current_setting(name) AS shown
   FROM pg_settings WHERE name = $1`;

/** postgresql.auto.conf's entry for the setting (the last one wins), when this role may read pg_file_settings. */
const AUTO_SQL = `SELECT (SELECT f.setting FROM pg_file_settings f
     WHERE f.name = $1 AND f.sourcefile LIKE '%postgresql.auto.conf'
     ORDER BY f.seqno DESC LIMIT 1) AS auto`;

type Sql = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

interface Read {
  row: SettingRow & { source: string; pending_restart: boolean; shown: string };
}

async function readRow(sql: Sql, name: string): Promise<Read['row'] | null> {
  const r = (await sql(ROW_SQL, [name])).rows[0];
  if (!r) return null;
  return {
    name: String(r.name),
    setting: String(r.setting ?? ''),
    unit: r.unit === null || r.unit === undefined ? null : String(r.unit),
    vartype: String(r.vartype) as SettingRow['vartype'],
    context: String(r.context),
    min_val: r.min_val === null || r.min_val === undefined ? null : String(r.min_val),
    max_val: r.max_val === null || r.max_val === undefined ? null : String(r.max_val),
    enumvals: Array.isArray(r.enumvals) ? r.enumvals.map(String) : null,
    source: String(r.source ?? ''),
    pending_restart: r.pending_restart === true,
    shown: String(r.shown ?? ''),
  };
}

/** The checks the plan and step 1 both make: known, changeable, a value the setting takes. */
function judge(row: Read['row'] | null, name: string, value: string): { refuse: string } | { shownNew: string; when: 'restart' | 'new sessions' | 'reload' } {
  if (!row) return { refuse: `no such setting: ${name}` };
  const effect = contextEffect(row.context);
  if ('refuse' in effect) return { refuse: `${name} cannot be changed: ${effect.refuse}` };
  const check = checkValue(row, value);
  if (!check.ok) return { refuse: check.why };
  return { shownNew: check.shown, when: effect.when };
}

const WHEN_TEXT = {
  restart: 'takes effect after a restart (context postmaster): ops does not restart the server',
  'new sessions': 'applies to sessions started after the reload (context backend)',
  reload: '',
} as const;

/** `work_mem 4MB → 64MB`, marked when it does not take effect at the reload. */
function changeLine(name: string, from: string, to: string, when: keyof typeof WHEN_TEXT): string {
  const same = from === to ? ' (no change)' : '';
  return `${name} ${from} → ${to}${same}${WHEN_TEXT[when] ? `  [${WHEN_TEXT[when]}]` : ''}`;
}

async function readAuto(sql: Sql, name: string): Promise<{ readable: boolean; auto: string | null }> {
  const may = (await sql(`SELECT has_table_privilege('pg_catalog.pg_file_settings', 'SELECT') AS ok`)).rows[0]?.ok === true;
  if (!may) return { readable: false, auto: null };
  const r = (await sql(AUTO_SQL, [name])).rows[0];
  return { readable: true, auto: r?.auto === null || r?.auto === undefined ? null : String(r.auto) };
}

/** The plan's reading: read-only. */
async function planSetting(io: PlanIO): Promise<PlanFindings> {
  const name = String(io.params.name);
  const value = String(io.params.value);
  const row = await readRow(io.sql, name);
  const j = judge(row, name, value);
  if ('refuse' in j) return { lines: row ? [`${name} is ${row.shown} now`] : [], refusal: j.refuse };
  const lines = [changeLine(name, row!.shown, j.shownNew, j.when)];
  if (row!.pending_restart) lines.push(`${name} already waits for a restart: a value in the configuration files is not in effect yet`);
  if (['user', 'database', 'database user', 'session'].includes(row!.source)) {
    lines.push(`this connection's ${name} comes from ${row!.source === 'session' ? 'the session' : 'ALTER ROLE or ALTER DATABASE ... SET'} (source ${row!.source}); ALTER SYSTEM does not change it where that applies`);
  }
  const auto = await readAuto(io.sql, name);
  if (!auto.readable) {
    lines.push(`postgresql.auto.conf cannot be read by this role (pg_file_settings): the undo is known once step 1 reads it`);
    return { lines, values: { expected: j.shownNew } };
  }
  lines.push(auto.auto === null ? `postgresql.auto.conf has no ${name} entry now: the undo removes the one this run writes` : `postgresql.auto.conf holds ${name} = ${quoteLiteral(auto.auto)} now: the undo puts it back`);
  return { lines, values: { previous: row!.setting, previousShown: row!.shown, previousAuto: auto.auto, expected: j.shownNew } };
}

const RELOAD = 'SELECT pg_reload_conf()';
const POLLS = 30;

/**
 * After a reload: the value as SHOW prints it and pending_restart, once `done` says they are what
 * was wanted (or after 3 s). The reload is asynchronous: until the server has read the files,
 * both still say what they said before it.
 */
async function afterReload(io: StepIO, name: string, done: (shown: string, pendingRestart: boolean) => boolean): Promise<{ shown: string; pendingRestart: boolean }> {
  // the reload reaches this session when it starts its next statement; give it a moment
  let shown = '';
  let pendingRestart = false;
  for (let i = 0; i < POLLS; i++) {
    const r = await io.sql('SELECT current_setting($1) AS shown, pending_restart FROM pg_settings WHERE name = $1', [name]);
    shown = String(r.rows[0]?.shown ?? '');
    pendingRestart = r.rows[0]?.pending_restart === true;
    if (done(shown, pendingRestart)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { shown, pendingRestart };
}

export const setSetting: TaskDef = {
  id: 'set-setting',
  title: 'Change a server setting',
  description:
    'ALTER SYSTEM SET a setting and reload the configuration, after checking the value against pg_settings. A setting that needs a restart is marked so, and never reported as applied. Rolling back restores what postgresql.auto.conf held before.',
  risk: 'high',
  params: z
    .object({
      name: z.string().regex(/^[a-z_][a-z0-9_.]*$/, 'a setting name such as work_mem'),
      value: z.string().min(1, 'give the new value'),
    })
    .strict(),
  plan: planSetting,
  // from step 1's values (the value before, the new one as SHOW prints it) and step 2's (applied)
  changed: (values, params) => {
    const from = values.previousShown;
    if (typeof from !== 'string') return null;
    const to = typeof values.expected === 'string' ? values.expected : String(params.value ?? '?');
    const line = `${String(params.name)} ${from} → ${to}`;
    if (!('applied' in values)) return `${line} (not recorded as applied)`;
    if (values.pendingRestart === true) return `${line} (after a restart: pending)`;
    if (values.applied === false) return `${line} (written, not applied)`;
    if (values.applied === 'new sessions') return `${line} (for new sessions)`;
    return line;
  },
  steps: [
    {
      id: 'read',
      title: 'Read the current value',
      action: (ctx) => ({
        kind: 'fn',
        describe: `read ${String(ctx.params.name)} from pg_settings and postgresql.auto.conf, and check the new value against pg_settings`,
        run: async (io) => {
          const name = String(ctx.params.name);
          const value = String(ctx.params.value);
          const row = await readRow(io.sql, name);
          const j = judge(row, name, value);
          if ('refuse' in j) throw new Error(j.refuse);
          const r = (await io.sql(AUTO_SQL, [name])).rows[0];
          const auto = r?.auto === null || r?.auto === undefined ? null : String(r.auto);
          io.log(`${name} is ${row!.shown}; postgresql.auto.conf: ${auto === null ? 'no entry' : `${name} = ${quoteLiteral(auto)}`}`);
          io.log(changeLine(name, row!.shown, j.shownNew, j.when));
          // a string's value may read back normalized: any change is then taken as applied
          return { previous: row!.setting, previousShown: row!.shown, previousAuto: auto, expected: j.shownNew, exact: row!.vartype !== 'string', context: row!.context };
        },
      }),
    },
    {
      id: 'alter',
      title: 'ALTER SYSTEM and reload',
      action: (ctx) => {
        const name = String(ctx.params.name);
        const statements = [`ALTER SYSTEM SET ${quoteIdent(name)} = ${quoteLiteral(String(ctx.params.value))}`, RELOAD];
        return {
          kind: 'fn',
          describe: statements.join('; '),
          run: async (io) => {
            for (const s of statements) await io.sql(s);
            const expected = ctx.values.expected as string | undefined;
            const before = ctx.values.previousShown as string | undefined;
            const context = String(ctx.values.context ?? '');
            const exact = ctx.values.exact !== false;
            const took = (now: string) => expected === undefined || now === expected || (!exact && now !== before);
            const { shown, pendingRestart } = await afterReload(io, name, (now, pending) => pending || took(now));
            if (pendingRestart) {
              io.log(`${name} is still ${shown}: ${expected ?? String(ctx.params.value)} is written to postgresql.auto.conf and takes effect after a server restart (pending_restart); not applied yet`, 'err');
              return { applied: false, pendingRestart: true, now: shown };
            }
            if (took(shown)) {
              io.log(`${name} is now ${shown}`);
              return { applied: true, now: shown };
            }
            if (context === 'backend' || context === 'superuser-backend') {
              io.log(`${name}: ${expected} applies to sessions started from now on (this one keeps ${shown})`);
              return { applied: 'new sessions', now: shown };
            }
            io.log(`${name} is ${shown}, not ${expected}, ${POLLS / 10} s after the reload: not applied here (a value set with ALTER ROLE or ALTER DATABASE takes precedence; see the server log)`, 'err');
            return { applied: false, now: shown };
          },
        };
      },
      rollback: (ctx) => {
        const name = String(ctx.params.name);
        const prev = ctx.values.previousAuto as string | null | undefined;
        // not read yet (a plan whose reading could not see postgresql.auto.conf): decided by step 1
        if (prev === undefined) throw new Error('decided by step 1');
        const statements = [prev === null ? `ALTER SYSTEM RESET ${quoteIdent(name)}` : `ALTER SYSTEM SET ${quoteIdent(name)} = ${quoteLiteral(prev)}`, RELOAD];
        return {
          kind: 'fn',
          describe: statements.join('; '),
          run: async (io) => {
            for (const s of statements) await io.sql(s);
            const before = ctx.values.previousShown as string | undefined;
            // put back: the value as before and, once the reload is read, no restart pending (a
            // postmaster setting shows its old value throughout; only pending_restart moves)
            const { shown, pendingRestart } = await afterReload(io, name, (now, pending) => (before === undefined || now === before) && !pending);
            if (pendingRestart) io.log(`${name} is ${shown} in the running server; postgresql.auto.conf is put back, which takes effect after a server restart (pending_restart)`, 'err');
            else io.log(`${name} is back to ${shown}`);
          },
        };
      },
    },
  ],
};
