// `ops drill`: a throwaway cluster with planted problems, and the console on it; `ops drill
// clean` removes the kept ones and any left behind.
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import type { ParsedArgs } from '../src/cli/args';
import { runCommand } from '../src/cli/run';
import { reap, registryDir, SCENARIO_NAMES, startDrill } from '../src/drill/drill';
import { UsageError, UserError } from '../src/errors';
import { stateDir } from '../src/journal';
import { openConsole } from './console';
import type { Services } from './services';

export async function drillCommand(args: ParsedArgs, services: Services): Promise<number> {
  const [sub, ...rest] = args.positionals;
  const realState = stateDir();
  if (sub === 'clean') {
    if (rest.length) throw new UsageError(`drill clean: unexpected argument "${rest[0]}"`);
    const lines = reap(registryDir(realState), { all: true, host: hostname() });
    process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'no drill to remove\n');
    return 0;
  }
  if (sub !== undefined) throw new UsageError(`drill: unexpected argument "${sub}" (ops drill [--scenario NAME,...] [--keep], or ops drill clean)`);
  const scenarios = args.scenario ? args.scenario.split(',').map((s) => s.trim()).filter(Boolean) : SCENARIO_NAMES;
  const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
  if (!tty && !args.keep) {
    throw new UserError('drill: opens the console, which needs an interactive terminal; --keep sets the drill up without it and leaves it running (ops drill clean removes it)', 2);
  }
  const say = (l: string) => process.stdout.write(`${l}\n`);
  const useDrill = (dirs: { configDir: string; stateDir: string }) => {
    // the drill's own configuration and journal, apart from the real ones
    process.env.OPS_CONFIG_DIR = dirs.configDir;
    process.env.OPS_STATE_DIR = dirs.stateDir;
  };
  const drill = await startDrill({
    scenarios,
    stateDir: realState,
    host: hostname(),
    say,
    keep: args.keep,
    explicit: args.scenario !== undefined,
    badChange: async (url, dirs) => {
      useDrill(dirs);
      const settings = services.settings({ database: url });
      const code = await runCommand(settings, services.tasks, 'set-setting', { params: ['name=work_mem', 'value=64kB'], dryRun: false, yes: true }, new Writable({ write: (_c, _e, cb) => cb() }));
      if (code !== 0) throw new UserError('drill: the bad-change scenario could not run set-setting');
    },
  });
  useDrill(drill);
  say(drill.where);
  if (!tty) {
    drill.keep();
    say(`export OPS_CONFIG_DIR=${drill.configDir} OPS_STATE_DIR=${drill.stateDir} DATABASE_URL=${drill.record.url}`);
    say('kept: the commands above point ops at it; "ops drill clean" removes it');
    return 0;
  }
  process.env.OPS_BADGE = 'DRILL';
  // the console's help overlay (?) names the psql command: the line above is behind its screen
  const about = ['Drill · connect from another terminal:', `  ${drill.psql}`, args.keep ? '  kept when you quit; "ops drill clean" removes it then' : '  removed when you quit'];
  try {
    await openConsole(services, services.settings({ ...args.flags, target: undefined, database: drill.record.url }), null, about);
  } finally {
    if (args.keep) {
      const clean = drill.keep();
      say(clean ? `drill kept at 127.0.0.1:${drill.record.port} (${drill.record.dir}); remove it with: ${clean}` : `drill ${drill.record.id} is gone (removed while its console was open): nothing was kept`);
    } else {
      drill.remove();
      say('drill removed: its cluster is stopped and its files are gone');
    }
  }
  return 0;
}
