// The built-in tasks, in the order they are listed to the operator.
import type { TaskDef } from '../src/tasks/model';
import { analyze, vacuumAnalyze } from './analyze';
import { backup } from './backup';
import { dropIndex } from './drop-index';
import { dropReplicationSlot } from './drop-replication-slot';
import { cleanTemp, rotateLogs } from './files';
import { reindexConcurrently } from './reindex';
import { restore } from './restore';
import { rollbackPrepared } from './rollback-prepared';
import { cancelQuery, terminateSessions } from './sessions';
import { setSetting } from './set-setting';
import { verifyBackup } from './verify-backup';

export const BUILTIN_TASKS: TaskDef[] = [backup, verifyBackup, analyze, vacuumAnalyze, setSetting, reindexConcurrently, dropIndex, restore, cancelQuery, terminateSessions, dropReplicationSlot, rollbackPrepared, rotateLogs, cleanTemp];

/** The built-in task with this id, if any. */
export function findTask(id: string): TaskDef | undefined {
  return BUILTIN_TASKS.find((t) => t.id === id);
}
