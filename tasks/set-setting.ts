// set-setting: ALTER SYSTEM SET a server setting and reload. Its rollback puts back exactly what
// postgresql.auto.conf said before (the old value, or no entry at all) and reloads again.
import * as z from 'zod';
import { quoteIdent, quoteLiteral, type StepIO, type TaskDef } from '../src/tasks/model';

async function reloadAndWait(io: StepIO, name: string): Promise<string> {
  await io.sql('SELECT pg_reload_conf()');
  // the reload reaches this session when it starts its next statement; give it a moment
  let value = '';
  for (let i = 0; i < 20; i++) {
    const r = await io.sql('SELECT setting, pending_restart FROM pg_settings WHERE name = $1', [name]);
    value = String(r.rows[0]?.setting ?? '');
    if (r.rows[0]?.pending_restart) {
      io.log(`${name} takes effect only after a server restart`, 'info');
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return value;
}

export const setSetting: TaskDef = {
  id: 'set-setting',
  title: 'Change a server setting',
  description: 'ALTER SYSTEM SET a setting and reload the configuration. Rolling back restores what postgresql.auto.conf held before.',
  risk: 'high',
  params: z
    .object({
      name: z.string().regex(/^[a-z_][a-z0-9_.]*$/, 'a setting name such as work_mem'),
      value: z.string().min(1, 'give the new value'),
    })
    .strict(),
  steps: [
    {
      id: 'read',
      title: 'Read the current value',
      action: (ctx) => ({
        kind: 'fn',
        describe: `read ${String(ctx.params.name)} from pg_settings and postgresql.auto.conf`,
        run: async (io) => {
          const name = String(ctx.params.name);
          const r = await io.sql(
            `SELECT s.setting, s.unit, s.context,
               (SELECT f.setting FROM pg_file_settings f
                 WHERE f.name = s.name AND f.sourcefile LIKE '%postgresql.auto.conf'
                 ORDER BY f.seqno DESC LIMIT 1) AS auto
             FROM pg_settings s WHERE s.name = $1`,
            [name],
          );
          const row = r.rows[0];
          if (!row) throw new Error(`no such setting: ${name}`);
          if (row.context === 'internal') throw new Error(`${name} cannot be changed (it is fixed when the server is built)`);
          io.log(`${name} = ${String(row.setting)}${row.unit ? ` (${String(row.unit)})` : ''}; postgresql.auto.conf: ${row.auto === null ? 'no entry' : String(row.auto)}`);
          return { previous: String(row.setting), previousAuto: row.auto === null ? null : String(row.auto) };
        },
      }),
    },
    {
      id: 'alter',
      title: 'ALTER SYSTEM and reload',
      action: (ctx) => {
        const name = String(ctx.params.name);
        const sql = `ALTER SYSTEM SET ${quoteIdent(name)} = ${quoteLiteral(String(ctx.params.value))}`;
        return {
          kind: 'fn',
          describe: `${sql}; SELECT pg_reload_conf()`,
          run: async (io) => {
            await io.sql(sql);
            const now = await reloadAndWait(io, name);
            io.log(`${name} is now ${now}`);
            return { applied: now };
          },
        };
      },
      rollback: (ctx) => {
        const name = String(ctx.params.name);
        const prev = ctx.values.previousAuto as string | null | undefined;
        const sql =
          prev === null || prev === undefined
            ? `ALTER SYSTEM RESET ${quoteIdent(name)}`
            : `ALTER SYSTEM SET ${quoteIdent(name)} = ${quoteLiteral(prev)}`;
        return {
          kind: 'fn',
          describe: `${sql}; SELECT pg_reload_conf()`,
          run: async (io) => {
            await io.sql(sql);
            const now = await reloadAndWait(io, name);
            io.log(`${name} is back to ${now}`);
          },
        };
      },
    },
  ],
};
