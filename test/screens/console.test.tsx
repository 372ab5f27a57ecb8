// runConsole: refuses without a terminal, uses the alternate screen, and restores it on every exit path.
import { EventEmitter } from 'node:events';
import { act } from 'react';
import { afterEach, describe, expect, onTestFinished, test, vi } from 'vitest';
import { NOT_A_TTY_MESSAGE, runConsole } from '../../screens/console';
import { fixedMonitor, healthyState } from '../support/fixtures';
import { fakeService, type FakeService } from '../support/fake-tasks';
import type { TaskServiceLike } from '../../src/tasks/service';

const ENTER = '\x1b[?1049h';
const LEAVE = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  rawModes: boolean[] = [];
  setRawMode(on: boolean) {
    this.rawModes.push(on);
    return this;
  }
  setEncoding() {}
  ref() {}
  unref() {}
  resume() {}
  pause() {}
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  type(chunk: string) {
    this.data = chunk;
    this.emit('readable');
  }
}

class FakeStdout extends EventEmitter {
  isTTY = true;
  columns = 80;
  rows = 24;
  chunks: string[] = [];
  write(s: string | Uint8Array) {
    this.chunks.push(String(s));
    return true;
  }
  get text() {
    return this.chunks.join('');
  }
}

const WATCHED = ['SIGTERM', 'SIGHUP', 'SIGINT', 'exit', 'uncaughtExceptionMonitor'] as const;
const listenerCounts = () => Object.fromEntries(WATCHED.map((e) => [e, process.listenerCount(e as 'exit')]));

function newListener(event: (typeof WATCHED)[number], before: Function[]): (...args: unknown[]) => void {
  const added = process.listeners(event as 'exit').filter((l) => !before.includes(l));
  expect(added).toHaveLength(1);
  return added[0] as (...args: unknown[]) => void;
}

async function start(color = false, service?: FakeService) {
  const stdin = new FakeStdin();
  const stdout = new FakeStdout();
  const monitor = fixedMonitor(healthyState());
  let done!: Promise<unknown>;
  await act(async () => {
    done = runConsole(monitor, {
      color,
      service,
      stdin: stdin as unknown as NodeJS.ReadStream,
      stdout: stdout as unknown as NodeJS.WriteStream,
    });
  });
  return { stdin, stdout, monitor, done };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runConsole', () => {
  test('refuses a non-interactive stdin before drawing anything', async () => {
    const stdout = new FakeStdout();
    const before = listenerCounts();
    await expect(
      runConsole(fixedMonitor(healthyState()), {
        color: false,
        stdin: { isTTY: false } as unknown as NodeJS.ReadStream,
        stdout: stdout as unknown as NodeJS.WriteStream,
      }),
    ).rejects.toThrow(NOT_A_TTY_MESSAGE);
    expect(NOT_A_TTY_MESSAGE).toBe('ops: the console needs an interactive terminal; for scripts and monitoring use "ops check" (or "ops check --json")');
    expect(stdout.chunks).toEqual([]);
    expect(listenerCounts()).toEqual(before);
  });

  test('q: alternate screen on, monitor started, then stopped, screen restored, listeners removed', async () => {
    // Ink's own dependencies (signal-exit via restore-cursor) install process-wide handlers once:
    // run the console once first so only the console's own listeners are counted.
    const warm = await start();
    await act(async () => {
      warm.stdin.type('q');
      await warm.done;
    });
    const before = listenerCounts();
    const { stdin, stdout, monitor, done } = await start();
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM + 1);
    expect(stdout.text.startsWith(ENTER)).toBe(true);
    expect(stdout.text).toContain('db-maint-01');
    expect(monitor.calls.start).toBe(1);
    expect(stdin.rawModes).toContain(true);
    await act(async () => {
      stdin.type('q');
      await done;
    });
    expect(monitor.calls.stop).toBe(1);
    const text = stdout.text;
    expect(text.lastIndexOf(LEAVE)).toBeGreaterThan(text.lastIndexOf('db-maint-01'));
    expect(text.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(text.lastIndexOf(ENTER));
    expect(text.split(LEAVE)).toHaveLength(2); // restored exactly once
    expect(stdin.rawModes.at(-1)).toBe(false);
    expect(listenerCounts()).toEqual(before);
  });

  test('Ctrl-C quits like q', async () => {
    const { stdin, stdout, monitor, done } = await start();
    await act(async () => {
      stdin.type('\u0003');
      await done;
    });
    expect(monitor.calls.stop).toBe(1);
    expect(stdout.text).toContain(LEAVE);
  });

  test('SIGTERM: screen restored, monitor stopped, exit 143', async () => {
    const before = process.listeners('SIGTERM');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const { stdout, monitor, done } = await start();
    const onTerm = newListener('SIGTERM', before);
    await act(async () => {
      onTerm('SIGTERM');
      await done;
    });
    expect(stdout.text).toContain(LEAVE);
    expect(stdout.text).toContain(SHOW_CURSOR);
    expect(monitor.calls.stop).toBe(1);
    expect(exit).toHaveBeenCalledWith(143);
  });

  test('a crash restores the screen before Node prints the error; restoring is idempotent', async () => {
    const before = process.listeners('uncaughtExceptionMonitor');
    const beforeExit = process.listeners('exit');
    const { stdin, stdout, done } = await start();
    const onCrash = newListener('uncaughtExceptionMonitor', before);
    const onExit = newListener('exit', beforeExit);
    onCrash(new Error('boom'), 'uncaughtException');
    expect(stdout.text.endsWith(LEAVE + SHOW_CURSOR)).toBe(true);
    onExit(1);
    await act(async () => {
      stdin.type('q');
      await done;
    });
    expect(stdout.text.split(LEAVE)).toHaveLength(2);
  });

  test('colour follows opts.color', async () => {
    vi.stubEnv('FORCE_COLOR', '1');
    const { stdin, stdout, done } = await start(false);
    await act(async () => {
      stdin.type('q');
      await done;
    });
    // eslint-disable-next-line no-control-regex
    expect(stdout.text).not.toMatch(/\x1b\[(?:3[0-9]|9[0-7])m/);
  });

  test('SIGHUP with a run in progress: waits for service.hangUp() (the step finishes, is journaled), then restores and exits 129', async () => {
    const before = process.listeners('SIGHUP');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // a hang-up leaves by SIGHUP's default action (Node 20 aborts on a normal exit without a tty)
    const kill = vi.spyOn(process, 'kill').mockImplementation((() => true) as never);
    onTestFinished(() => {
      kill.mockRestore();
      for (const l of before) if (!process.listeners('SIGHUP').includes(l)) process.on('SIGHUP', l as () => void);
    });
    let finishStep!: () => void;
    const service = fakeService({ hangUp: () => new Promise<void>((resolve) => (finishStep = resolve)) });
    const { stdin, stdout, monitor, done } = await start(false, service);
    // a run is in progress
    await act(async () => {
      stdin.type('t');
    });
    await act(async () => {
      stdin.type('\r'); // analyze: the form
    });
    await act(async () => {
      stdin.type('\r'); // the plan (low risk)
    });
    await act(async () => {
      stdin.type('\r'); // run it
    });
    expect(service.start).toHaveBeenCalledTimes(1);
    const onHup = newListener('SIGHUP', before);
    await act(async () => {
      onHup('SIGHUP');
      await new Promise<void>((r) => setImmediate(r));
    });
    expect(service.hangUp).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
    expect(stdout.text).not.toContain(LEAVE);
    await act(async () => {
      finishStep();
      await done;
    });
    expect(stdout.text).toContain(LEAVE);
    expect(monitor.calls.stop).toBe(1);
    expect(exit).toHaveBeenCalledWith(129);
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGHUP');
  });

  test('with a task service, q quits from the dashboard as before', async () => {
    const service = fakeService();
    const { stdin, stdout, done } = await start(false, service);
    expect(stdout.text).toContain('t tasks');
    await act(async () => {
      stdin.type('q');
      await done;
    });
    expect(stdout.text).toContain(LEAVE);
  });

  // (what they show is test/screens/plan-reading.test.tsx's; here: that the wrapper forwards them)
  test("the service's optional reads reach the screens: the form's defaults and the plan's reading", async () => {
    const preview = vi.fn(async () => ({ steps: [{ id: 'analyze', title: 'ANALYZE VERBOSE', detail: 'ANALYZE VERBOSE every user table', rollback: null, irreversible: false }], findings: { lines: ['12 tables, 3 with stale statistics'] } }));
    const paramDefaults = vi.fn((): Record<string, string> => ({ tables: 'every user table' }));
    const service = fakeService({ preview, paramDefaults });
    const { stdin, done } = await start(false, service);
    await act(async () => {
      stdin.type('t');
    });
    await act(async () => {
      stdin.type('\r'); // analyze: the form
    });
    expect(paramDefaults).toHaveBeenCalledWith('analyze');
    await act(async () => {
      stdin.type('\r'); // the plan, read
    });
    expect(preview).toHaveBeenCalledWith('analyze', {});
    await act(async () => {
      stdin.type('\x03');
      await done;
    });
  });

  test('SIGHUP while a run is still starting: waits for it to start, then hangUp() sees it', async () => {
    const before = process.listeners('SIGHUP');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // a hang-up leaves by SIGHUP's default action (Node 20 aborts on a normal exit without a tty)
    const kill = vi.spyOn(process, 'kill').mockImplementation((() => true) as never);
    onTestFinished(() => {
      kill.mockRestore();
      for (const l of before) if (!process.listeners('SIGHUP').includes(l)) process.on('SIGHUP', l as () => void);
    });
    const service = fakeService();
    const realStart = service.start.getMockImplementation() as TaskServiceLike['start'];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let startedAt = 0;
    service.start.mockImplementationOnce(async (id: string, params: Record<string, unknown>) => {
      await gate;
      startedAt = Date.now();
      return realStart(id, params);
    });
    let hungUpAfterStart: boolean | null = null;
    service.hangUp.mockImplementation(async () => {
      hungUpAfterStart = startedAt > 0;
    });
    const { stdin, done } = await start(false, service);
    for (const k of ['t', '\r', '\r', '\r']) {
      await act(async () => {
        stdin.type(k);
      });
    }
    expect(service.start).toHaveBeenCalledTimes(1);
    const onHup = newListener('SIGHUP', before);
    await act(async () => {
      onHup('SIGHUP');
      await new Promise<void>((r) => setImmediate(r));
    });
    expect(service.hangUp).not.toHaveBeenCalled();
    await act(async () => {
      release();
      await done;
    });
    expect(hungUpAfterStart).toBe(true);
    expect(exit).toHaveBeenCalledWith(129);
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGHUP');
  });
});
