// The console's own sessions, one definition: the probe ('ops-console') and the task runs, the
// sessions reader and the run lock ('ops-console: <what>', src/tasks/lock.ts). An exact name and
// a prefix with its colon and space, so another client calling itself ops-console-something is
// not taken for ours. The dashboard counts them apart, the sessions view marks them, and the
// cancel and terminate tasks never signal them.
export const OWN_APPLICATION = 'ops-console';

/** SQL: true for a session of the console's own; `col` is the application_name column. */
export const ownSessionSql = (col: string): string => `(coalesce(${col}, '') = '${OWN_APPLICATION}' OR coalesce(${col}, '') LIKE '${OWN_APPLICATION}: %')`;

/** The same test on a name already read. */
export const isOwnApplication = (name: string | null | undefined): boolean => name === OWN_APPLICATION || (name ?? '').startsWith(`${OWN_APPLICATION}: `);
