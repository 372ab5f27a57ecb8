// Fault: a Redis that answers a byte at a time. The probe's deadline covers the whole exchange
// (a socket idle timeout would start again on every byte): it gives up in time with one line,
// destroys the socket, and the next probe connects afresh.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeRedis } from '../../src/probes/redis';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const timers = new Set<NodeJS.Timeout>();

afterEach(async () => {
  for (const t of timers) clearInterval(t);
  timers.clear();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that answers each command with a reply it never finishes, one byte every 50 ms. */
async function tricklingRedis(): Promise<{ port: number; open: () => number; closed: () => Promise<unknown>; accepted: () => number }> {
  let accepted = 0;
  const closing: Promise<void>[] = [];
  const srv = net.createServer((s) => {
    accepted += 1;
    sockets.add(s);
    closing.push(new Promise((resolve) => s.on('close', () => resolve())));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.once('data', () => {
      s.write('$100000\r\n');
      const t = setInterval(() => {
        if (!s.destroyed) s.write('x');
      }, 50);
      timers.add(t);
      s.on('close', () => clearInterval(t));
    });
  });
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    open: () => sockets.size,
    /** every connection accepted so far has closed */
    closed: () => Promise.all(closing),
    accepted: () => accepted,
  };
}

/** The probe's answer, or 'no answer' if it has none after `ms` (the test's own bound). */
async function answerWithin<T>(p: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'no answer'>((r) => (timer = setTimeout(() => r('no answer'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis probe against a server that trickles its replies', () => {
  it('gives up at its deadline with one line, closes the socket, and connects afresh next time', async () => {
    const redis = await tricklingRedis();
    const r = await answerWithin(probeRedis(`redis://:pw-trickle@127.0.0.1:${redis.port}`, 400), 5000);
    expect(r).not.toBe('no answer');
    if (r === 'no answer') return;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBe(`no answer from Redis at 127.0.0.1:${redis.port} within 400 ms (waiting for its AUTH reply)`);
    expect(r.error).not.toContain('pw-trickle');
    // the probe's socket is gone: the server sees it close
    await answerWithin(redis.closed(), 5000);
    expect(redis.open()).toBe(0);

    const again = await answerWithin(probeRedis(`redis://127.0.0.1:${redis.port}`, 400), 5000);
    expect(again).toMatchObject({ ok: false, error: `no answer from Redis at 127.0.0.1:${redis.port} within 400 ms (waiting for its PING reply)` });
    expect(redis.accepted()).toBe(2);
  });
});
