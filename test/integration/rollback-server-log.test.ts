// The rollback says the truth (issue 13 §5.1), checked against the server itself: on a throwaway
// cluster logging every statement, the undo that `ops rollback RUN` and `ops show RUN` list for a
// set-setting run is, statement for statement, what the server log shows the rollback running.
// work_mem is set twice (8MB, then 64MB) and the second run rolled back, so its undo is a SET
// with the value captured at run time ('8MB'), not a RESET.
import { openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster';
import { opsHome, type OpsHome } from '../support/faults';
import { runOps } from '../support/ops';

/** Splits SQL text on top-level semicolons (not inside quotes), trimmed, empties dropped. */
function statements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ';') {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur.trim());
  return out.filter(Boolean);
}

interface Logged {
  pid: number;
  text: string;
}

/** The simple-query `statement:` entries of a server log (log_line_prefix '%m [%p] '), continuation lines joined. */
function loggedStatements(log: string): Logged[] {
  const out: Logged[] = [];
  let last: Logged | null = null;
  for (const line of log.split('\n')) {
    const m = /^\S+ \S+ \S+ \[(\d+)\] (\w+):  (.*)$/.exec(line);
    if (m) {
      last = null;
      const s = /^statement: (.*)$/.exec(m[3]);
      if (m[2] === 'LOG' && s) out.push((last = { pid: Number(m[1]), text: s[1] }));
    } else if (last && line.startsWith('\t')) last.text += `\n${line.slice(1)}`;
  }
  return out;
}

/** The undo lines `ops rollback RUN` prints: `  1. undo TITLE: SQL`. */
function listedUndos(stdout: string, title: string): string[] {
  const prefix = `. undo ${title}: `;
  return stdout
    .split('\n')
    .filter((l) => /^\s+\d+\. undo /.test(l) && l.includes(prefix))
    .map((l) => l.slice(l.indexOf(prefix) + prefix.length));
}

/** The Undo section of `ops show RUN`: `  undo TITLE: SQL` lines under its heading. */
function shownUndos(stdout: string, title: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => /^Undo\b/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('  ')) break;
    const prefix = `  undo ${title}: `;
    if (l.startsWith(prefix)) out.push(l.slice(prefix.length));
  }
  return out;
}

describe('the rollback listing is what the server runs', () => {
  let cluster: Cluster;
  let home: OpsHome;
  let env: NodeJS.ProcessEnv;
  let logFile: string;

  beforeAll(async () => {
    cluster = await startCluster({ prefix: 'ops-rollback-log-', settings: { log_statement: "'all'", log_line_prefix: "'%m [%p] '" } });
    logFile = join(cluster.dir, 'server.log');
    home = opsHome(`postgres://${cluster.user}@${cluster.host}:${cluster.port}/postgres`);
    env = home.env();
  }, 120_000);
  afterAll(() => {
    home?.cleanup();
    cluster?.stop();
  });

  const workMem = async (): Promise<string> => {
    const c = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, database: 'postgres' });
    await c.connect();
    try {
      return String((await c.query('SHOW work_mem')).rows[0].work_mem);
    } finally {
      await c.end();
    }
  };

  it('set-setting rolled back: the listed undo SQL appears in the server log verbatim, and nothing else is altered', async () => {
    const title = 'ALTER SYSTEM and reload';
    const set = async (value: string) => {
      const r = await runOps(['run', 'set-setting', '--param', 'name=work_mem', '--param', `value=${value}`, '--yes'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const id = /^run (\S+) succeeded$/m.exec(r.stdout)?.[1];
      expect(id, r.stdout).toBeTruthy();
      return id!;
    };
    await set('8MB');
    const run = await set('64MB');
    expect(await workMem()).toBe('64MB');

    // what the operator is shown before confirming: the listing, and ops show's Undo section
    const listing = await runOps(['rollback', run], { env });
    expect(listing.stderr).toMatch(/asks for confirmation/);
    const listed = listedUndos(listing.stdout, title);
    expect(listed, listing.stdout).toHaveLength(1);
    const show = await runOps(['show', run], { env });
    expect(show.code, show.stderr).toBe(0);
    expect(shownUndos(show.stdout, title), show.stdout).toEqual(listed);
    // the value captured at run time, not a RESET
    const undo = statements(listed[0]);
    expect(undo).toContain(`ALTER SYSTEM SET "work_mem" = '8MB'`);

    // run it headless, reading the server log from here on
    const from = statSync(logFile).size;
    const rb = await runOps(['rollback', run, '--yes'], { env, timeoutMs: 60_000 });
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(new RegExp(`^run ${run} rolled back$`, 'm'));
    // the confirmation-free run prints the same listing it then runs
    expect(listedUndos(rb.stdout, title)).toEqual(listed);

    const size = statSync(logFile).size;
    const buf = Buffer.alloc(size - from);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, buf, 0, buf.length, from);
    } finally {
      closeSync(fd);
    }
    const logged = loggedStatements(buf.toString('utf8'));
    const context = `listed:\n  ${undo.join('\n  ')}\nlogged:\n  ${logged.map((l) => `[${l.pid}] ${l.text}`).join('\n  ')}`;

    // the listed statements, verbatim, consecutively, from one backend
    const at = logged.findIndex((_, i) => undo.every((u, k) => logged[i + k]?.text === u && logged[i + k].pid === logged[i].pid));
    expect(at, context).toBeGreaterThanOrEqual(0);
    // and no other change of the configuration than the listed one ran
    const changes = (xs: string[]) => xs.filter((t) => /^\s*ALTER\s+SYSTEM\b/i.test(t));
    expect(changes(logged.map((l) => l.text)), context).toEqual(changes(undo));

    expect(await workMem()).toBe('8MB');
    // the server's own configuration file holds what the undo set
    expect(readFileSync(join(cluster.data, 'postgresql.auto.conf'), 'utf8')).toMatch(/^work_mem = '8MB'$/m);
  }, 180_000);
});
