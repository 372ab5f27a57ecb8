// Bundles the `ops` entry into dist/ with esbuild. The interactive console (ink + react)
// is a separate chunk loaded on demand, so `ops check` never pays for it. Every runtime library
// is inside the bundle: the npm package has no dependencies.
//
// `node build.mjs --sea FILE` writes instead the one CommonJS script a Node 20 single
// executable runs (scripts/package.mjs): no chunks, no dynamic import of files, no top-level
// await (three small patches below take ink's and yoga's out of the modules the console loads).
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const seaIndex = process.argv.indexOf('--sea');
const seaOut = seaIndex === -1 ? null : process.argv[seaIndex + 1];
if (seaIndex !== -1 && !seaOut) throw new Error('build.mjs --sea: name the output file');

// `npm pack` runs prepack (this build) and then prepare: one build is enough.
if (!seaOut && process.env.npm_lifecycle_event === 'prepare' && ['pack', 'publish'].includes(process.env.npm_command ?? '')) {
  process.exit(0);
}

// Fixes to ink 6.8, applied to the bundle only. The build fails if ink's code changes, so
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
  // 3. The frame's cost (issue 14). ink's Output keeps each line's styled characters and each
  //    string's width, but in caches of its own, and a new Output is made for every frame: the
  //    caches outlive the frame here, bounded: emptied past 1,000 entries, and the styled
  //    characters (an object per character) past 300. With 5,000 each, an idle console's RSS
  //    climbed from 75 to 104 MB over 10 minutes, filling them with lines of figures long gone;
  //    with these it stays between 77 and 87 MB (docs/performance.md).
  {
    file: /ink[\\/]build[\\/]output\.js$/,
    find: '    caches = new OutputCaches();',
    replace: '    caches = SHARED_CACHES;',
  },
  // 4. ink builds every row of every frame cell by cell (an object per cell, then back to a
  //    string): scripts/ink-rows.mjs keeps each row by what was written on it, and only the rows
  //    that changed go through the cells. Frames with clipping take ink's own path.
  {
    file: /ink[\\/]build[\\/]output\.js$/,
    find: 'export default class Output {',
    replace: `import { fastRows } from ${JSON.stringify(fileURLToPath(new URL('./scripts/ink-rows.mjs', import.meta.url)))};
const CACHE_MAX = 1000;
const STYLED_MAX = 300;
const SHARED_CACHES = new OutputCaches();
for (const m of ['getStyledChars', 'getStringWidth', 'getWidestLine']) {
  const f = OutputCaches.prototype[m];
  OutputCaches.prototype[m] = function (x) {
    if (this.styledChars.size > STYLED_MAX) this.styledChars.clear();
    if (this.widths.size > CACHE_MAX) this.widths.clear();
    if (this.blockWidths.size > CACHE_MAX) this.blockWidths.clear();
    return f.call(this, x);
  };
}
export default class Output {`,
  },
  {
    file: /ink[\\/]build[\\/]output\.js$/,
    find: '    get() {\n',
    replace: `    get() {\n        const fast = fastRows(this, styledCharsToString);\n        if (fast) return fast;\n`,
  },
  // 5. ink's measure-text cache had no bound: it grew by a line a second, all day.
  {
    file: /ink[\\/]build[\\/]measure-text\.js$/,
    find: '    cache.set(text, dimensions);',
    replace: '    if (cache.size > 1000) cache.clear();\n    cache.set(text, dimensions);',
  },
];

// 6. widest-line measures every text node of every frame again (string-width, a regular
//    expression per character beyond ASCII): its answers are kept, bounded as above, and a text
//    of one-column characters only (src/util/narrow.ts) is measured by its length.
const WIDEST_LINE = {
  file: /widest-line[\\/]index\.js$/,
  find: 'export default function widestLine(string) {',
  replace: `import { narrowWidth } from ${JSON.stringify(fileURLToPath(new URL('./src/util/narrow.ts', import.meta.url)))};
const WIDEST = new Map();
export default function widestLine(string) {
	let w = WIDEST.get(string);
	if (w === undefined) {
		if (WIDEST.size > 1000) WIDEST.clear();
		w = fastWidest(string) ?? measureWidest(string);
		WIDEST.set(string, w);
	}
	return w;
}
// lines of one-column characters only (src/util/narrow.ts) measure as their length
function fastWidest(string) {
	let widest = 0;
	for (const line of string.split('\\n')) {
		const w = narrowWidth(line);
		if (w === null) return null;
		if (w > widest) widest = w;
	}
	return widest;
}
function measureWidest(string) {`,
};
const patchWidestLine = {
  name: 'patch-widest-line',
  setup(b) {
    b.onLoad({ filter: WIDEST_LINE.file }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      if (src.split(WIDEST_LINE.find).length !== 2) throw new Error(`widest-line changed: review the patch for ${args.path} in build.mjs`);
      return { contents: src.replace(WIDEST_LINE.find, () => WIDEST_LINE.replace), loader: 'js' };
    });
  },
};

// The single executable's script is CommonJS, which has no top-level await. ink awaits at the top
// of its reconciler only when DEV=true (React devtools, which the executable does not carry), and
// yoga-layout awaits its WebAssembly: the executable compiles yoga's module synchronously from the
// same bytes (emscripten's instantiateWasm hook) before anything lays out.
const SEA_PATCHES = [
  {
    file: /ink[\\/]build[\\/]reconciler\.js$/,
    find: "await import('./devtools.js');",
    replace: "throw Object.assign(new Error('React devtools are not in the single executable'), { code: 'ERR_MODULE_NOT_FOUND' });",
  },
  {
    file: /ink[\\/]build[\\/]reconciler\.js$/,
    find: 'const packageJson = isDev()\n    ? await loadPackageJson()\n    : { name: undefined, version: undefined };',
    replace: 'const packageJson = { name: undefined, version: undefined };',
  },
];

const YOGA_INDEX = /yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/;
const YOGA_TLA = 'const Yoga = wrapAssembly(await loadYoga());';
async function yogaWithoutAwait(path) {
  const src = await readFile(path, 'utf8');
  if (src.split(YOGA_TLA).length !== 2) throw new Error(`yoga-layout changed: review the single-executable patch for ${path} in build.mjs`);
  const wasmFile = join(dirname(path), '../binaries/yoga-wasm-base64-esm.js');
  const wasm = /H="data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/.exec(await readFile(wasmFile, 'utf8'));
  if (!wasm) throw new Error(`yoga-layout changed: no embedded WebAssembly found in ${wasmFile} (build.mjs)`);
  const sync = [
    `const yogaModule = new WebAssembly.Module(Buffer.from(${JSON.stringify(wasm[1])}, 'base64'));`,
    'const yogaLib = { instantiateWasm(imports, done) { done(new WebAssembly.Instance(yogaModule, imports)); return {}; } };',
    'loadYoga(yogaLib);',
    "if (typeof yogaLib.Node !== 'function') throw new Error('yoga-layout did not load synchronously');",
    'const Yoga = wrapAssembly(yogaLib);',
  ].join('\n');
  return { contents: src.replace(YOGA_TLA, sync), loader: 'js' };
}

// Optional native or development modules the bundles leave out. The single executable's require
// loads built-in modules only, so there they are modules that are not found (pg then uses its
// JavaScript client, as it does when pg-native is not installed).
const OPTIONAL = ['pg-native', 'react-devtools-core'];
const seaOptional = {
  name: 'sea-optional',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${OPTIONAL.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'sea-optional' }));
    b.onLoad({ filter: /.*/, namespace: 'sea-optional' }, (args) => ({
      contents: `const e = new Error(${JSON.stringify(`Cannot find module '${args.path}' (not in the single executable)`)}); e.code = 'MODULE_NOT_FOUND'; throw e;`,
      loader: 'js',
    }));
  },
};

// node-postgres asks whether it runs on Cloudflare Workers by making a `new Response(...)`: in
// Node 20 that loads undici, 60 ms of the console's start-up (issue 14). Under Node it never does.
const PG_STREAM = {
  file: /pg[\\/]lib[\\/]stream\.js$/,
  find: 'function isCloudflareRuntime() {',
  replace: "function isCloudflareRuntime() {\n  if (typeof process === 'object' && process.release && process.release.name === 'node') return false;",
};
const patchPg = {
  name: 'patch-pg',
  setup(b) {
    b.onLoad({ filter: PG_STREAM.file }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      if (src.split(PG_STREAM.find).length !== 2) throw new Error(`pg changed: review the patch for ${args.path} in build.mjs`);
      return { contents: src.replace(PG_STREAM.find, () => PG_STREAM.replace), loader: 'js' };
    });
  },
};

// Both builds load yoga's WebAssembly synchronously (above). Its own loader asks `typeof fetch`
// first, and in Node 20 the first look at the global fetch loads undici: 65 ms of the console's
// start-up compiling node's internal modules (issue 14), for a fetch it never makes.
const yogaSync = {
  name: 'yoga-sync',
  setup(b) {
    b.onLoad({ filter: YOGA_INDEX }, (args) => yogaWithoutAwait(args.path));
  },
};

const patchInk = {
  name: 'patch-ink',
  setup(b) {
    const patches = seaOut ? [...INK_PATCHES, ...SEA_PATCHES] : INK_PATCHES;
    // one onLoad for all of them: esbuild asks only the first that matches a file
    b.onLoad({ filter: /ink[\\/]build[\\/][^\\/]+\.js$/ }, async (args) => {
      const mine = patches.filter((p) => p.file.test(args.path));
      if (mine.length === 0) return undefined;
      let src = await readFile(args.path, 'utf8');
      for (const p of mine) {
        if (src.split(p.find).length !== 2) throw new Error(`ink changed: review the patch for ${args.path} in build.mjs`);
        src = src.replace(p.find, () => p.replace);
      }
      return { contents: src, loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: process.env.OPS_NO_MINIFY ? false : true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};

if (!seaOut) {
  await rm(new URL('./dist', import.meta.url), { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { main: 'bin/main.ts' },
    outdir: 'dist',
    splitting: true,
    format: 'esm',
    sourcemap: 'linked',
    external: OPTIONAL,
    banner: {
      js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    },
    plugins: [patchInk, patchWidestLine, yogaSync, patchPg],
  });
} else {
  // The drill's planted sessions re-run `ops` as `execPath argv[1] __drill-sessions URL`
  // (src/drill/sessions.ts); an executable repeats its own path as argv[1], so the re-run sees
  // that path once more before the hidden command: drop it. Nothing else starts with it.
  const SESSIONS_COMMAND = '__drill-sessions';
  if (!(await readFile('src/drill/sessions.ts', 'utf8')).includes(`SESSIONS_COMMAND = '${SESSIONS_COMMAND}'`)) {
    throw new Error('src/drill/sessions.ts: SESSIONS_COMMAND changed: update build.mjs');
  }
  await build({
    ...common,
    entryPoints: ['bin/main.ts'],
    outfile: seaOut,
    format: 'cjs',
    sourcemap: false,
    // a module's own place is the executable's (src/util/install.ts then reads the SEA's assets)
    define: { ...common.define, 'import.meta.url': '__ops_module_url', 'import.meta.dirname': '__dirname' },
    banner: {
      js: [
        "const __ops_module_url = require('node:url').pathToFileURL(__filename).href;",
        `if (process.argv[3] === '${SESSIONS_COMMAND}') process.argv.splice(2, 1);`,
      ].join('\n'),
    },
    plugins: [patchInk, patchWidestLine, seaOptional, yogaSync, patchPg],
  });
}
