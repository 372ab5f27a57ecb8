// Rules for the checks behind real outages (issue 10, section 2): judged from what
// src/probes/pg-outages.ts read. Pure functions; every threshold comes from the configuration.
//
//   pg.replication_slots  pg.archiver  pg.xmin_horizon  pg.prepared_xacts  pg.autovacuum
//   pg.mxid_age           tables.never_analyzed  indexes.invalid  sequences.exhaustion
//
// Each check names its object (subject) and judges each object on its own (rows, with the object's
// identity for a fix). A role that cannot see what a check needs gets UNKNOWN, naming the
// privilege, unless what it could see is already a finding.
import type { Thresholds } from '../config/schema';
import type { Check, CheckGroup, Snapshot } from '../types';
import { OUTAGE_CHECKS, check } from './outages-common';
import { invalidIndexesCheck, neverAnalyzedCheck, sequencesCheck } from './outages-tables';
import { autovacuumCheck, mxidCheck, preparedCheck, relevantHolders, vacuumVerdicts, xidDetail, xminCheck } from './outages-vacuum';
import { archiverCheck, slotsCheck } from './outages-wal';
export { HOLDER_MIN_SEC, OUTAGE_CHECKS } from './outages-common';
export { holderText, vacuumText, vacuumVerdicts } from './outages-vacuum';
export { filesystemOf } from './outages-wal';

/**
 * Adds the outage checks the selected groups hold to `checks`, and completes pg.xid_age (its
 * share of autovacuum_freeze_max_age, the oldest table) and the dead-tuple rows (whether vacuum
 * can remove them) when those are there. Nothing when the probe did not read them.
 */
export function addOutageChecks(checks: Check[], snap: Snapshot, th: Thresholds, want: (g: CheckGroup) => boolean): void {
  const pgr = snap.postgres;
  if (!pgr) return;
  const inits = OUTAGE_CHECKS.filter((c) => want(c.group));
  if (!pgr.ok) {
    for (const i of inits) checks.push(check(i, 'UNKNOWN', 'database unavailable', null, null));
    return;
  }
  const pg = pgr.data;
  const o = pg.outages;
  if (!o) return;
  if ('error' in o) {
    for (const i of inits) checks.push(check(i, 'UNKNOWN', o.error, null, null));
    return;
  }
  const host = snap.host.ok ? snap.host.data.filesystems : null;
  const holders = relevantHolders(o, pg);
  const vacuum = vacuumVerdicts(pg, th, holders, snap.postgres?.at ?? snap.at);
  for (const i of inits) {
    switch (i.id) {
      case 'pg.replication_slots':
        checks.push(slotsCheck(o, th, host, pg.inRecovery));
        break;
      case 'pg.archiver':
        checks.push(archiverCheck(o, th, pg.inRecovery));
        break;
      case 'pg.xmin_horizon':
        checks.push(xminCheck(o, th, pg, vacuum));
        break;
      case 'pg.prepared_xacts':
        checks.push(preparedCheck(o, th));
        break;
      case 'pg.autovacuum':
        checks.push(autovacuumCheck(o, th, pg.inRecovery));
        break;
      case 'pg.mxid_age':
        checks.push(mxidCheck(o, th, pg));
        break;
      case 'tables.never_analyzed':
        checks.push(neverAnalyzedCheck(o, th));
        break;
      case 'indexes.invalid':
        checks.push(invalidIndexesCheck(o));
        break;
      case 'sequences.exhaustion':
        checks.push(sequencesCheck(o, th));
        break;
    }
  }
  // the existing checks these complete
  const xid = checks.find((c) => c.id === 'pg.xid_age');
  if (xid && xid.status !== 'UNKNOWN') xid.summary += xidDetail(o, pg, xid.subject);
  const dead = checks.find((c) => c.id === 'tables.dead_tuples');
  for (const r of dead?.rows ?? []) {
    const v = vacuum.get(r.subject);
    if (v) r.vacuum = v.verdict;
  }
}
