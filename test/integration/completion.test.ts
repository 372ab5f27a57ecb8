// `ops completion bash` (issue 16), sourced in a real bash: its function is driven the way bash's
// programmable completion drives it (COMP_WORDS, COMP_CWORD, then COMPREPLY), with `ops` on the
// PATH being the built one, so the dynamic words (task ids, checklist names, targets, runs) come
// from `ops completion __words` as they would on a host.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE } from '../../src/cli/args';
import { COMPLETION_COMMANDS } from '../../src/cli/completion';
import { assertBuilt, cleanEnv, OPS_BIN, runOps } from '../support/ops';

describe('ops completion', () => {
  let tmp: string;
  let script: string;
  const env = () =>
    cleanEnv({ PATH: `${join(tmp, 'bin')}:${process.env.PATH}`, HOME: join(tmp, 'home'), OPS_CONFIG_DIR: join(tmp, 'config'), OPS_STATE_DIR: join(tmp, 'state') });

  beforeAll(async () => {
    assertBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'ops-completion-'));
    mkdirSync(join(tmp, 'bin'));
    mkdirSync(join(tmp, 'config'));
    writeFileSync(join(tmp, 'bin', 'ops'), `#!/bin/sh\nexec '${process.execPath}' '${OPS_BIN}' "$@"\n`);
    chmodSync(join(tmp, 'bin', 'ops'), 0o755);
    writeFileSync(join(tmp, 'config', 'config.json'), JSON.stringify({ targets: [{ name: 'prod-db', url: 'postgres://app@db1/prod' }, { name: 'staging', url: 'postgres://app@db2/staging' }] }));
    const r = await runOps(['completion', 'bash'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    script = join(tmp, 'ops.bash');
    writeFileSync(script, r.stdout);
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** COMPREPLY for a command line whose last word is being completed, and what bash wrote to stderr. */
  function complete(...words: string[]): { reply: string[]; stderr: string } {
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const program = join(tmp, 'complete.sh');
    writeFileSync(program, `source '${script}'\nCOMP_WORDS=(${quoted})\nCOMP_CWORD=${words.length - 1}\nCOMPREPLY=()\n_ops\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`);
    const r = spawnSync('bash', ['--norc', '--noprofile', program], { env: env(), encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    return { reply: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
  }

  it('ops ru completes to ops run', () => {
    expect(complete('ops', 'ru')).toEqual({ reply: ['run'], stderr: '' });
  });

  it('ops run vac completes to the task vacuum-analyze', () => {
    expect(complete('ops', 'run', 'vac')).toEqual({ reply: ['vacuum-analyze'], stderr: '' });
  });

  it('flags, checklist names, target names and flag values', () => {
    expect(complete('ops', 'check', '--j').reply).toEqual(['--json']);
    expect(complete('ops', 'checklist', 'run', 'wee').reply).toEqual(['weekly']);
    expect(complete('ops', 'checklist', '').reply).toEqual(expect.arrayContaining(['show', 'run', 'resume', 'daily', 'emergency']));
    expect(complete('ops', '--target', 'pro').reply).toEqual(['prod-db']);
    expect(complete('ops', '--target', '=', 'st').reply).toEqual(['staging']);
    expect(complete('ops', 'check', '--only', 'host,se').reply).toEqual(['host,sessions']);
    expect(complete('ops', 'completion', '').reply).toEqual(['bash', 'zsh']);
  });

  it('no runs, a damaged state or config: no candidates and not a word on stderr', () => {
    expect(complete('ops', 'show', '')).toEqual({ reply: [], stderr: '' });
    mkdirSync(join(tmp, 'state'), { recursive: true });
    writeFileSync(join(tmp, 'state', 'journal.jsonl'), '{not json\n');
    writeFileSync(join(tmp, 'config', 'config.json'), '{"targets": [');
    expect(complete('ops', 'rollback', '')).toEqual({ reply: [], stderr: '' });
    expect(complete('ops', '--target', '')).toEqual({ reply: [], stderr: '' });
    expect(complete('ops', 'run', 'vac').reply).toEqual(['vacuum-analyze']);
  });

  it('the hidden word lister answers quietly, even for an unknown kind', async () => {
    const r = await runOps(['completion', '__words', 'tasks'], { env: env() });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toContain('vacuum-analyze');
    expect(await runOps(['completion', '__words', 'nonsense'], { env: env() })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('ops completion with no shell, or another shell, is a usage error', async () => {
    const r = await runOps(['completion', 'fish'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ops: completion: name a shell/);
  });

  it('completes every command of ops --help', () => {
    const commands = new Set([...USAGE.matchAll(/^ {2}ops ([a-z]+)/gm)].map((m) => m[1]));
    expect(commands.size).toBeGreaterThan(8);
    for (const c of commands) expect(Object.keys(COMPLETION_COMMANDS)).toContain(c);
  });
});
