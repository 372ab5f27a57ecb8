// One session's detail: its fields, its locks, who it blocks and who blocks it, then its full
// query wrapped at word boundaries; scrollable. Render-only: the scroll offset and the choice on a
// blocked session are the route's, the row the monitor's last list (or the one last seen, marked
// ended, once the session is gone).
import { sessionKey } from '../../src/sessions/model';
import type { MonitorLike, MonitorState } from '../../src/types';
import { useMonitor } from '../hooks/useMonitor';
import { clean } from '../format';
import type { Line } from '../line';
import { clampTop } from '../tasks/model';
import { Frame } from '../tasks/Frame';
import { BLANK, detailHeight, detailLines, stateText } from './model';
import { durationWords, whoShort } from './plan-notes';
import { choiceLines } from './SessionsScreen';
import type { SessionRoute } from './state';

export interface SessionDetailProps {
  route: SessionRoute;
  monitor: MonitorState;
  hints: string;
  notice: string | null;
  columns: number;
  rows: number;
  color: boolean;
}

export function sessionDetailLines({ route, monitor, hints, notice, columns, rows }: Omit<SessionDetailProps, 'color'>): Line[] {
  const all = monitor.snapshot?.sessions ?? [];
  const live = all.find((r) => sessionKey(r) === route.key);
  const row = live ?? route.last;
  const body = detailLines(row, all, columns, !live);
  const h = detailHeight(route, rows);
  const top = clampTop(route.top, body.length, h);
  const header: Line = [
    { text: `Session pid ${row.pid}`, bold: true },
    ...(monitor.paused ? [{ text: ' · ' }, { text: 'PAUSED', bold: true, status: 'WARNING' as const }] : []),
    { text: ` · ${whoShort(row)} · ${stateText(row.state)} · ${durationWords(row)}` },
    ...(body.length > h ? [{ text: ` · [${top + 1}-${Math.min(body.length, top + h)}/${body.length}]` }] : []),
  ];
  const out: Line[] = [header, ...body.slice(top, top + h)];
  if (route.choice) {
    for (let i = out.length - 1; i < h; i++) out.push(BLANK);
    out.push(...choiceLines(route.choice));
  }
  out.push(notice ? [{ text: `! ${clean(notice)}`, bold: true, status: 'WARNING' }] : [{ text: hints }]);
  return out.slice(0, Math.max(1, rows - 1));
}

export function SessionDetail({ monitor, keys, ...rest }: Omit<SessionDetailProps, 'monitor' | 'hints'> & { monitor: MonitorLike; keys: () => string }) {
  const state = useMonitor(monitor);
  return <Frame lines={sessionDetailLines({ ...rest, hints: keys(), monitor: state })} columns={rest.columns} color={rest.color} />;
}
