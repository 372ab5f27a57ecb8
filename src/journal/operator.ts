// Who runs ops: the operator identity every run.start records.
import { readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isatty } from 'node:tty';

export interface Operator {
  user: string;
  sudoUser: string | null;
  /** the client address: first field of $SSH_CLIENT or $SSH_CONNECTION */
  sshClient: string | null;
  /** the terminal on stdin (/dev/pts/N), or null when stdin is not a terminal */
  tty: string | null;
  host: string;
  pid: number;
}

export function operatorIdentity(env: NodeJS.ProcessEnv = process.env): Operator {
  let user = env.USER || env.LOGNAME || '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = `uid ${process.getuid?.() ?? '?'}`;
    }
  }
  const ssh = (env.SSH_CLIENT || env.SSH_CONNECTION || '').trim();
  let tty: string | null = null;
  if (isatty(0)) {
    try {
      tty = readlinkSync('/proc/self/fd/0');
    } catch {
      tty = env.SSH_TTY || 'tty';
    }
  }
  return {
    user,
    sudoUser: env.SUDO_USER || null,
    sshClient: ssh ? ssh.split(/\s+/)[0] : null,
    tty,
    host: hostname(),
    pid: process.pid,
  };
}

/** `user@sshClient`; under sudo `user(sudoUser)@sshClient`. */
export function formatOperator(op: Operator | null | undefined): string {
  if (!op) return '?';
  const who = op.sudoUser && op.sudoUser !== op.user ? `${op.user}(${op.sudoUser})` : op.user;
  return op.sshClient ? `${who}@${op.sshClient}` : who;
}
