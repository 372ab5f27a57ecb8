// File tasks on the maintenance host: rotate-logs and clean-temp. No database needed.
//
// rotate-logs (low)
//   1. pick      the regular files in <dir> (not below it) matching <glob> (default *.log) last
//                modified more than olderThanDays (default 1) days ago; never symlinks, *.gz, or a
//                file whose <name>.gz already exists. Read-only: nothing to undo (its rollback is
//                step 2's, for when step 2 fails part-way: a failed step offers no rollback itself)
//   2. compress  gzip each into <name>.gz (a temporary file, fsynced, linked into place without
//                overwriting anything), with the original's mtime, atime and mode; the manifest
//                <dir>/.ops-rotate-<runstamp>.json lists original -> .gz and is rewritten (fsynced)
//                before each original is removed. A file that changes while it is compressed is
//                left alone.
//                rollback: from the manifest, gunzip each .gz back to its name (checked against the
//                original's sha256), restore mtime, atime and mode, remove the .gz and the manifest
//   3. delete-archives   only with deleteArchivesOlderThanDays: delete the <glob>.gz archives in
//                <dir> last modified more than that many days ago (the .gz keeps the log's mtime),
//                except those step 2 just wrote (its rollback still needs them). IRREVERSIBLE.
//
// clean-temp (medium)
//   1. count     the regular files under <dir> (recursively, never following a symlink, never into
//                another file system) matching <glob> (default *) last modified more than
//                olderThanHours (default 24) ago; the plan shows their count and bytes. Read-only.
//   2. delete    delete those files (the same cut-off time; each re-checked with lstat just before);
//                directories are kept. IRREVERSIBLE.
//   Refused: /, system directories (/etc, /usr, /var, /boot, /proc ... and what is below most of
//   them), home directories, a symlink, anything not a directory.
//
// The tasks live in tasks/rotate-logs.ts and tasks/clean-temp.ts (their shared helpers in
// tasks/files-shared.ts); this file re-exports them.
export { cleanTemp, refuseCleanDir } from './clean-temp';
export { rotateLogs } from './rotate-logs';
