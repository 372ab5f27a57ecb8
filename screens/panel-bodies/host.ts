// The Host and Disks panels: the host probe's figures, and every filesystem (the ones not
// answering named, never left out).
import type { Line } from '../line';
import type { Status } from '../../src/types';
import { sparkline } from '../components/Sparkline';
import { clean, fit, formatBytes, formatDuration, pct0, rowMark, severity, suffix } from '../format';
import { collecting, fig, neverAnswered, s, sparkWidth, staleText, waitOn, waitSeg, type Body, type Ctx } from './parts';

export function hostPanel({ state, checks, width, now }: Ctx): Body {
  const snap = state.snapshot;
  if (!snap) return collecting;
  const w = waitOn(state, 'host', now);
  if (w && w.lastAnswerAt === null) return neverAnswered(w, now);
  if (!snap.host.ok) return { summary: [...(w ? [waitSeg(w, now)] : []), s(`unavailable: ${clean(snap.host.error)}`, 'UNKNOWN')], rows: [] };
  const h = snap.host.data;
  const cpu = checks.get('host.cpu')?.status;
  const mem = checks.get('host.memory')?.status;
  const sw = sparkWidth(width);
  const load = h.load.map((l) => l.toFixed(2)).join(' ');
  const cpuTxt = h.cpuPct === null ? 'n/a' : pct0(h.cpuPct, 1);
  return {
    summary: [...(w ? [waitSeg(w, now)] : []), s('cpu '), fig(cpuTxt, cpu), s(' · mem '), fig(pct0(h.memUsedPct, 1), mem), s(` · load ${h.load[0].toFixed(2)}`)],
    rows: [
      ...(w ? [[s(staleText(w, snap.host.at, now), w.overdue ? 'UNKNOWN' : undefined)]] : []),
      [s('cpu  '), s(fit(cpuTxt + suffix(cpu), 8), cpu), s(' '), s(sparkline(state.history.cpu, sw, 0, 100), undefined, { accent: true }), s(`  load ${load}`)],
      [
        s('mem  '),
        s(fit(pct0(h.memUsedPct, 1) + suffix(mem), 8), mem),
        s(' '),
        s(sparkline(state.history.mem, sw, 0, 100), undefined, { accent: true }),
        s(h.swapTotalBytes > 0 ? `  swap ${formatBytes(h.swapUsedBytes)} of ${formatBytes(h.swapTotalBytes)}` : '  no swap'),
      ],
      [s(`${h.cores} cores · ${formatBytes(h.memTotalBytes)} RAM · up ${formatDuration(h.uptimeSec)}`)],
    ],
  };
}

// ---------------------------------------------------------------- disks
export function disksPanel({ state, checks, now }: Ctx): Body {
  const snap = state.snapshot;
  if (!snap) return collecting;
  const w = waitOn(state, 'host', now);
  if (w && w.lastAnswerAt === null) return neverAnswered(w, now);
  const lead = w ? [waitSeg(w, now)] : [];
  if (!snap.host.ok) return { summary: [...lead, s(`unavailable: ${clean(snap.host.error)}`, 'UNKNOWN')], rows: [] };
  const judged = snap.host.data.filesystems.map((fs) => ({ fs, status: checks.get(`disk:${fs.mount}`)?.status }));
  // filesystems whose statfs has not returned (a hung network mount): named, never left out
  const stalled = (snap.host.data.stalledMounts ?? []).map((m) => ({ m, status: checks.get(`disk:${m.mount}`)?.status ?? ('UNKNOWN' as Status) }));
  if (judged.length === 0 && stalled.length === 0) {
    const c = checks.get('disk');
    return { summary: [...lead, s(c ? clean(c.summary) : 'no filesystem reported', c?.status)], rows: [] };
  }
  judged.sort((a, b) => severity(b.status) - severity(a.status) || b.fs.usedPct - a.fs.usedPct);
  const mw = Math.min(24, Math.max(...judged.map((j) => j.fs.mount.length), ...stalled.map((x) => x.m.mount.length)));
  const row = ({ fs, status }: (typeof judged)[number]): Line => [
    s(rowMark(status), status),
    s(` ${fit(clean(fs.mount), mw)} `),
    s(pct0(fs.usedPct).padStart(4), status),
    s(`  ${formatBytes(fs.usedBytes)} of ${formatBytes(fs.sizeBytes)}, ${formatBytes(fs.availBytes)} free  ${clean(fs.fstype)}`),
  ];
  const stalledRow = ({ m, status }: (typeof stalled)[number]): Line => [
    s(rowMark(status), status),
    s(` ${fit(clean(m.mount), mw)} `),
    s('not answering', status),
    s(` for ${formatDuration(Math.max(0, now - m.since) / 1000)} (statfs)  ${clean(m.fstype)} ${clean(m.device)}`),
  ];
  // in order of severity: the warnings and criticals first, then the ones not answering, then the rest
  const rows: Line[] = [
    ...judged.filter((j) => severity(j.status) > severity('UNKNOWN')).map(row),
    ...stalled.map(stalledRow),
    ...judged.filter((j) => severity(j.status) <= severity('UNKNOWN')).map(row),
  ];
  const quiet = stalled.length ? [s(' · '), fig(`${stalled.length} not answering`, 'UNKNOWN')] : [];
  const top = judged[0];
  if (!top) return { summary: [...lead, fig(`${stalled.length} filesystem${stalled.length === 1 ? '' : 's'} not answering`, 'UNKNOWN')], rows };
  return {
    summary: [
      ...lead,
      s(`${judged.length} filesystem${judged.length === 1 ? '' : 's'} · fullest ${clean(top.fs.mount)} `),
      fig(pct0(top.fs.usedPct), top.status),
      ...quiet,
    ],
    rows,
  };
}
