// Redis probe: PING latency and INFO figures over one short-lived connection.
// A tiny RESP reader is enough for PING, AUTH, SELECT and INFO; no client library needed.
// The whole exchange (connect, AUTH, SELECT, PING, INFO) has one deadline, kept on our side: a
// server that is stopped, or answers a byte at a time, is given up on and its socket destroyed.
// Nothing is kept between rounds, so the next round connects afresh.
import { connect, type Socket } from 'node:net';
import type { ProbeResult, RedisData } from '../types';
import { redact } from '../util/redact';

type Reply = string | null | Error;

/** Reads complete RESP replies (simple strings, errors, integers, bulk strings) from a buffer. */
export function parseReplies(buf: Buffer): { replies: Reply[]; rest: Buffer } {
  const replies: Reply[] = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) break;
    const type = String.fromCharCode(buf[off]);
    const line = buf.toString('utf8', off + 1, eol);
    if (type === '+' || type === ':') {
      replies.push(line);
      off = eol + 2;
    } else if (type === '-') {
      replies.push(new Error(line));
      off = eol + 2;
    } else if (type === '$') {
      const len = Number(line);
      if (len < 0) {
        replies.push(null);
        off = eol + 2;
        continue;
      }
      if (buf.length < eol + 2 + len + 2) break;
      replies.push(buf.toString('utf8', eol + 2, eol + 2 + len));
      off = eol + 2 + len + 2;
    } else {
      throw new Error(`unexpected reply from Redis: ${JSON.stringify(buf.toString('utf8', off, Math.min(buf.length, off + 40)))}`);
    }
  }
  return { replies, rest: buf.subarray(off) };
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

export async function probeRedis(url: string, timeoutMs: number): Promise<ProbeResult<RedisData>> {
  const started = Date.now();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, error: `not a valid redis:// URL: ${redact(url)}`, at: Date.now(), ms: 0 };
  }
  const password = u.password ? decodeURIComponent(u.password) : '';
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  const db = u.pathname.length > 1 ? u.pathname.slice(1) : '';
  const where = `${host}:${port}`;
  return new Promise((resolve) => {
    let socket: Socket;
    let done = false;
    let buf: Buffer = Buffer.alloc(0);
    const queue: ((r: Reply) => void)[] = [];
    // what the exchange is at, for the reason given when the deadline passes
    let step = 'connecting';
    const finish = (r: ProbeResult<RedisData>) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve(r);
    };
    const fail = (msg: string) =>
      finish({ ok: false, error: redact(msg, [password]), at: Date.now(), ms: Date.now() - started });
    const send = (args: string[]) =>
      new Promise<Reply>((res) => {
        step = `waiting for its ${args[0]} reply`;
        queue.push(res);
        socket.write(encode(args));
      });

    // one deadline for the whole exchange: the socket's idle timeout would start again on every
    // byte, so a server trickling its reply could hold the probe for ever
    const deadline = setTimeout(() => fail(`no answer from Redis at ${where} within ${timeoutMs} ms (${step})`), timeoutMs);
    socket = connect({ host, port });
    // on, not once: a second error after the first must not become an uncaught exception
    socket.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ECONNREFUSED' ? `connection refused at ${where}` : `${err.code ?? err.message} ${where}`),
    );
    socket.on('close', () => fail(`Redis at ${where} closed the connection (${step})`));
    socket.on('data', (chunk: Buffer) => {
      try {
        const parsed = parseReplies(Buffer.concat([buf, chunk]));
        buf = parsed.rest;
        for (const r of parsed.replies) queue.shift()?.(r);
      } catch (err) {
        fail((err as Error).message);
      }
    });
    socket.once('connect', async () => {
      step = 'connected';
      try {
        if (password) {
          const args = u.username ? ['AUTH', decodeURIComponent(u.username), password] : ['AUTH', password];
          const r = await send(args);
          if (r instanceof Error) return fail(`authentication failed: ${r.message}`);
        }
        if (db) {
          const r = await send(['SELECT', db]);
          if (r instanceof Error) return fail(r.message);
        }
        const t0 = performance.now();
        const pong = await send(['PING']);
        const latencyMs = performance.now() - t0;
        if (pong instanceof Error) return fail(pong.message);
        const info = await send(['INFO']);
        if (info instanceof Error || info === null) return fail(info instanceof Error ? info.message : 'empty INFO reply');
        const m = parseInfo(info);
        const num = (k: string) => Number(m.get(k) ?? 0) || 0;
        const hits = num('keyspace_hits');
        const misses = num('keyspace_misses');
        finish({
          ok: true,
          data: {
            latencyMs,
            usedMemoryBytes: num('used_memory'),
            maxMemoryBytes: num('maxmemory'),
            keyspaceHits: hits,
            keyspaceMisses: misses,
            hitPct: hits + misses > 0 ? (100 * hits) / (hits + misses) : null,
            evictedKeys: num('evicted_keys'),
            connectedClients: num('connected_clients'),
            version: m.get('redis_version') ?? '?',
          },
          at: Date.now(),
          ms: Date.now() - started,
        });
      } catch (err) {
        fail((err as Error).message);
      }
    });
  });
}
