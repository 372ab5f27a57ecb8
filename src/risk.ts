// How dangerous a task is. One vocabulary, used by the task model, the journal's records
// and the confirmation policy (src/tasks/confirm.ts).
export type Risk = 'low' | 'medium' | 'high' | 'critical';
export const RISKS: readonly Risk[] = ['low', 'medium', 'high', 'critical'];
