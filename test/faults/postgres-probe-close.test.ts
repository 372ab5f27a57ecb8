// Fault: the console quits (or `ops check` gives up on PostgreSQL) while a probe round waits on a
// server that does not answer. close() ends that round at once, as closed, and destroys its
// socket: nothing waits for the round's deadline or for a goodbye the server will never send.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresProbe } from '../../src/probes/postgres';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** The promise's value, or 'no answer' once the test's own bound has passed. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'no answer'>((r) => (timer = setTimeout(() => r('no answer'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgresProbe.close() while a round waits on a silent server', () => {
  it('ends the round as closed and destroys its socket, long before the round deadline', async () => {
    let accepted!: () => void;
    const connected = new Promise<void>((r) => (accepted = r));
    const closed: Promise<void>[] = [];
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      closed.push(new Promise((r) => s.on('close', () => r())));
      s.resume(); // read the startup packet, never answer
      accepted();
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const probe = new PostgresProbe({ connection: { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }, timeoutMs: 30_000 });

    const round = probe.probe();
    await within(connected, 5000);
    await within(probe.close(), 5000);
    const r = await within(round, 5000);
    expect(r).toMatchObject({ ok: false, error: 'probe closed' });
    expect(await within(Promise.all(closed), 5000)).not.toBe('no answer');
    // and it stays closed: no reconnect
    expect(await probe.probe()).toMatchObject({ ok: false, error: 'probe closed' });
    expect(closed).toHaveLength(1);
  });
});
