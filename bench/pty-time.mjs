#!/usr/bin/env node
// One start of a console command in a 120x35 pty (util-linux script): prints when each chunk of
// output came, and marks the header ("starting") and the first frame with the verdict's score.
// Quits it with q 300 ms after the score. Used by bench/start-ab.sh.
//   node bench/pty-time.mjs "node --max-semi-space-size=1 dist/main.js"
import { spawn } from 'node:child_process';

const cmd = process.argv[2];
const env = { ...process.env, TERM: 'xterm-256color' };
delete env.CI; // ink draws only the last frame when it believes it runs in CI
const t0 = performance.now();
const c = spawn('script', ['-qfec', `stty rows 35 cols 120; exec ${cmd}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
let buf = '';
let sent = false;
const marks = [];
c.stdin.on('error', () => {});
c.stdout.on('data', (d) => {
  const s = d.toString('latin1');
  buf += s;
  marks.push(`${(performance.now() - t0).toFixed(0)}ms +${s.length}B${/score \d+%/.test(s) ? ' SCORE' : ''}${s.includes('starting') ? ' header' : ''}`);
  if (/score \d+%/.test(buf) && !sent) {
    sent = true;
    setTimeout(() => c.stdin.write('q'), 300);
  }
});
setTimeout(() => c.kill(), 15_000).unref();
c.on('exit', () => console.log(marks.slice(0, 12).join('\n')));
