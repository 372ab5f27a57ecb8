// The non-PostgreSQL probes against real things: /proc, a real filesystem, real HTTP and TLS
// servers on loopback, and a real Redis.
import cp from 'node:child_process';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checksumText } from '../../src/backups';
import { globToRegExp, probeBackup } from '../../src/probes/backup';
import { HostProbe, parseMounts } from '../../src/probes/host';
import { probeHttp } from '../../src/probes/http';
import { probeRedis } from '../../src/probes/redis';
import { probeTls } from '../../src/probes/tls';
import { freePort as closedPort } from '../support/cluster';

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

describe('host probe', () => {
  it('reads CPU, memory, load and the real filesystems from /proc, starting no process', async () => {
    const spawnSpy = vi.spyOn(cp.ChildProcess.prototype as unknown as { spawn: () => void }, 'spawn');
    const probe = new HostProbe({ timeoutMs: 2000 });
    await probe.prime();
    const r = await probe.probe();
    expect(spawnSpy).not.toHaveBeenCalled();
    spawnSpy.mockRestore();
    if (!r.ok) throw new Error(r.error);
    expect(r.data.cpuPct).not.toBeNull();
    expect(r.data.cpuPct!).toBeGreaterThanOrEqual(0);
    expect(r.data.cpuPct!).toBeLessThanOrEqual(100);
    expect(r.data.memTotalBytes).toBeGreaterThan(0);
    expect(r.data.memUsedPct).toBeGreaterThan(0);
    const root = r.data.filesystems.find((f) => f.mount === '/');
    expect(root, 'the root filesystem is reported').toBeDefined();
    expect(root!.usedPct).toBeGreaterThan(0);
    // df's figure: used / (used + available)
    const df = execFileSync('df', ['-P', '/'], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/);
    expect(Math.abs(Math.ceil(root!.usedPct) - Number(df[4].replace('%', '')))).toBeLessThanOrEqual(1);
    expect(r.data.filesystems.some((f) => ['proc', 'sysfs', 'cgroup', 'cgroup2', 'tmpfs'].includes(f.fstype))).toBe(false);
  });

  it('parses /proc/mounts: keeps real filesystems, decodes spaces, drops pseudo and duplicate mounts', () => {
    const text = [
      '/dev/sda1 / ext4 rw 0 0',
      'proc /proc proc rw 0 0',
      'tmpfs /run tmpfs rw 0 0',
      '/dev/sdb1 /srv/my\\040data xfs rw 0 0',
      '/dev/sda1 /var/lib/docker/bind ext4 rw 0 0',
      'server:/export /mnt/nfs nfs4 rw 0 0',
    ].join('\n');
    expect(parseMounts(text).map((m) => m.mount)).toEqual(['/', '/srv/my data', '/mnt/nfs']);
    expect(parseMounts(text, ['/mnt']).map((m) => m.mount)).toEqual(['/', '/srv/my data']);
  });

  it("leaves the console's own start-up out of the first CPU sample, and only the first", async () => {
    const proc = mkdtempSync(join(tmpdir(), 'ops-proc-'));
    try {
      const stat = (busy: number, idle: number) => writeFileSync(join(proc, 'stat'), `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`);
      writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemAvailable: 500 kB\n');
      writeFileSync(join(proc, 'loadavg'), '0.10 0.20 0.30 1/100 1\n');
      writeFileSync(join(proc, 'uptime'), '100.0 50.0\n');
      writeFileSync(join(proc, 'mounts'), '');
      const probe = new HostProbe({ timeoutMs: 2000, procRoot: proc });
      stat(1000, 1000);
      await probe.prime();
      const until = Date.now() + 60; // the console busy starting up
      while (Date.now() < until);
      stat(1100, 1100); // the host was 50 % busy over the interval, the console included
      const first = await probe.probe();
      if (!first.ok) throw new Error(first.error);
      expect(first.data.cpuPct!).toBeLessThan(50);
      expect(first.data.cpuPct!).toBeGreaterThanOrEqual(0);
      stat(1200, 1200);
      const second = await probe.probe();
      expect(second.ok && second.data.cpuPct).toBe(50);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('reports a failure instead of throwing when /proc cannot be read', async () => {
    const r = await new HostProbe({ timeoutMs: 1000, procRoot: '/nonexistent-proc' }).probe();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/ENOENT/);
  });
});

describe('backup probe', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-backups-'));
    const old = Date.now() / 1000 - 3 * 86400;
    writeFileSync(join(dir, 'prod-1.dump'), 'x'.repeat(100));
    utimesSync(join(dir, 'prod-1.dump'), old, old);
    writeFileSync(join(dir, 'prod-2.dump'), 'y'.repeat(200));
    utimesSync(join(dir, 'prod-2.dump'), old + 86400, old + 86400);
    // complete backups have their .sha256 (test/integration/backup-probe.test.ts: the ones that do not)
    for (const f of ['prod-1.dump', 'prod-2.dump']) {
      const path = join(dir, f);
      const st = statSync(path, { bigint: true });
      writeFileSync(`${path}.sha256`, checksumText(createHash('sha256').update(readFileSync(path)).digest('hex'), path, { size: st.size, mtimeNs: st.mtimeNs }));
    }
    writeFileSync(join(dir, 'notes.txt'), 'newest, but not a backup');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the newest file matching the glob, with its age and size', async () => {
    const r = await probeBackup(dir, '*.dump', 1000);
    if (!r.ok) throw new Error(r.error);
    expect(r.data.count).toBe(2);
    expect(r.data.newest).toMatchObject({ file: 'prod-2.dump', sizeBytes: 200 });
    expect(r.data.newest!.ageSec / 3600).toBeGreaterThan(47);
    expect(r.data.newest!.ageSec / 3600).toBeLessThan(49);
  });
  it('says so when nothing matches, and when the directory is missing', async () => {
    const none = await probeBackup(dir, '*.sql.gz', 1000);
    expect(none.ok && none.data.newest).toBe(null);
    const missing = await probeBackup(join(dir, 'nope'), '*', 1000);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error).toContain('does not exist');
  });
  it('globs: * ? [..] {a,b}', () => {
    expect(globToRegExp('*.dump').test('a.dump')).toBe(true);
    expect(globToRegExp('*.dump').test('a.dumpx')).toBe(false);
    expect(globToRegExp('db-??.{sql,dump}').test('db-01.sql')).toBe(true);
    expect(globToRegExp('db-[0-9].gz').test('db-x.gz')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('HTTP probe', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 300);
      else if (req.url === '/down') res.writeHead(503).end('no');
      else res.end('ok');
    });
    port = await listen(server);
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('reports status and latency', async () => {
    const r = await probeHttp(`http://127.0.0.1:${port}/health`, 2000);
    expect(r.ok && r.data.status).toBe(200);
    const slow = await probeHttp(`http://127.0.0.1:${port}/slow`, 2000);
    expect(slow.ok && slow.data.latencyMs).toBeGreaterThanOrEqual(250);
    const down = await probeHttp(`http://127.0.0.1:${port}/down`, 2000);
    expect(down.ok && down.data.status).toBe(503);
  });
  it('times out a slow endpoint and fails a closed port, without secrets in the message', async () => {
    const t = await probeHttp(`http://127.0.0.1:${port}/slow`, 100);
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.error).toContain('no response within 100 ms');
    const closed = await probeHttp(`http://user:hunter22@127.0.0.1:${await closedPort()}/`, 1000);
    expect(closed.ok).toBe(false);
    if (!closed.ok) expect(closed.error).not.toContain('hunter22');
  });
});

describe('TLS probe', () => {
  let dir: string;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ops-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '5', '-subj', '/CN=ops-test.local'], { stdio: 'ignore' });
    const { readFileSync } = await import('node:fs');
    server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_q, s) => s.end('ok'));
    port = await listen(server);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the days left on a real certificate', async () => {
    const r = await probeTls('127.0.0.1', port, 2000);
    if (!r.ok) throw new Error(r.error);
    expect(r.data.subject).toBe('ops-test.local');
    expect(r.data.daysLeft).toBeGreaterThan(4.9);
    expect(r.data.daysLeft).toBeLessThanOrEqual(5);
  });
  it('fails clearly on a closed port', async () => {
    const p = await closedPort();
    const r = await probeTls('127.0.0.1', p, 1000);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(`ECONNREFUSED 127.0.0.1:${p}`);
  });
});

describe('Redis probe', () => {
  let url = 'redis://127.0.0.1:6379';
  let child: ChildProcess | null = null;
  beforeAll(async () => {
    const reachable = await probeRedis(url, 500);
    if (reachable.ok) return;
    // no Redis on the standard port: start a throwaway one if the binary exists
    let bin: string | null = null;
    try {
      bin = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
    } catch {
      bin = null;
    }
    if (!bin) return;
    const port = await closedPort();
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50 && !(await probeRedis(url, 200)).ok; i++) await new Promise((r) => setTimeout(r, 100));
  });
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('measures ping latency and reads INFO from a real server', async (ctx) => {
    const r = await probeRedis(url, 2000);
    if (!r.ok && !child && /refused/.test(r.error)) ctx.skip(); // no Redis here and no redis-server binary
    if (!r.ok) throw new Error(r.error);
    expect(r.data.version).toMatch(/^\d+\.\d+/);
    expect(r.data.latencyMs).toBeGreaterThan(0);
    expect(r.data.usedMemoryBytes).toBeGreaterThan(0);
    expect(r.data.connectedClients).toBeGreaterThanOrEqual(1);
  });
  it('fails clearly on a closed port and hides the password', async () => {
    const p = await closedPort();
    const r = await probeRedis(`redis://:s3cretpw@127.0.0.1:${p}`, 1000);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBe(`connection refused at 127.0.0.1:${p}`);
      expect(r.error).not.toContain('s3cretpw');
    }
  });
});
