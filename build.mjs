// Bundles the `ops` entry into dist/ with esbuild. The interactive console (ink + react)
// is a separate chunk loaded on demand, so `ops check` never pays for it.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

// Two fixes to ink 6.8, applied to the bundle only. The build fails if ink's code changes, so
// an upgrade cannot silently drop (or double) them.
// 1. The incremental renderer returns to the top of the previous frame with cursorUp(lines - 1),
//    one line short when that frame ended with a newline (every frame shorter than the terminal
//    does): each refresh then lands one line lower and leaves the old header behind.
// 2. On resize ink re-lays out the old tree (sized for the old terminal) and clears only when the
//    width shrinks, by erasing lines upwards from where the cursor was before the terminal
//    reflowed its text. The console owns the alternate screen and re-renders itself on resize
//    (the dashboard listens for it), so ink just clears the screen and forgets the last frame;
//    the next frame is then drawn in full.
const INK_PATCHES = [
  {
    file: /ink[\\/]build[\\/]log-update\.js$/,
    find: 'buffer.push(ansiEscapes.cursorUp(previousVisible - 1));',
    replace:
      "{ const up = previousVisible - (previousOutput.endsWith('\\n') ? 0 : 1); if (up > 0) buffer.push(ansiEscapes.cursorUp(up)); }",
  },
  {
    file: /ink[\\/]build[\\/]ink\.js$/,
    find: 'resized = () => {',
    replace:
      "resized = () => { if (this.options.stdout.isTTY) { this.throttledLog?.cancel?.(); this.options.stdout.write('\\x1b[2J\\x1b[H'); this.log.clear(); this.lastOutput = ''; this.lastOutputToRender = ''; this.lastOutputHeight = 0; this.lastTerminalWidth = this.getTerminalWidth(); return; }",
  },
];
const patchInk = {
  name: 'patch-ink',
  setup(b) {
    for (const p of INK_PATCHES) {
      b.onLoad({ filter: p.file }, async (args) => {
        const src = await readFile(args.path, 'utf8');
        if (src.split(p.find).length !== 2) throw new Error(`ink changed: review the patch for ${args.path} in build.mjs`);
        return { contents: src.replace(p.find, p.replace), loader: 'js' };
      });
    }
  },
};

await rm(new URL('./dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: 'bin/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: process.env.OPS_NO_MINIFY ? false : true,
  sourcemap: 'linked',
  legalComments: 'none',
  external: ['pg-native', 'react-devtools-core'],
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: {
    js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  },
  plugins: [patchInk],
  logLevel: 'warning',
});
