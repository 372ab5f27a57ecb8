// `npm run package`: the release files for hosts without a usable Node.
//  - release/ops-linux-x64: a Node single-executable application (SEA): this Node's binary with
//    one CommonJS bundle of `ops` (node build.mjs --sea) and the config/ files as its assets
//    (read through src/util/install.ts), injected with postject;
//  - release/ops-console_VERSION_amd64.deb, built with dpkg-deb: /usr/bin/ops (that executable),
//    the bash and zsh completions (`ops completion bash|zsh`), a man page made from `ops --help`.
//
// node scripts/package.mjs [--out DIR] [--no-deb] [--fast]    (DIR: release/ by default)
//
// It never touches dist/ (the npm package's bundle): the executable, its man page and its
// completions all come from the executable itself.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

// the same names as src/util/install.ts (SEA_MANIFEST) and Node's SEA fuse
const SEA_MANIFEST = 'ops-assets.json';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const ASSET_DIRS = ['config'];

function option(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const out = resolve(option('--out') ?? join(ROOT, 'release'));
const withDeb = !process.argv.includes('--no-deb');
// xz by default (a third smaller); --fast: gzip -1, for the tests, which build it once per file
const debCompression = process.argv.includes('--fast') ? ['-Zgzip', '-z1'] : ['-Zxz'];
const work = join(out, '.build');

const log = (s) => process.stdout.write(`package: ${s}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], ...opts });

function filesUnder(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) found.push(...filesUnder(p));
    else found.push(p);
  }
  return found;
}

// ---------------------------------------------------------------- the single executable

async function buildExecutable() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) throw new Error(`package: the single executable needs Node 20.12 or later (SEA assets); this is ${process.version}`);

  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const script = join(work, 'ops.cjs');
  run(process.execPath, ['build.mjs', '--sea', script], { stdio: 'inherit' });

  // config/ as assets, keyed by their path, with a manifest that names them
  const assets = {};
  const digest = createHash('sha256').update(pkg.version);
  for (const dir of ASSET_DIRS) {
    for (const file of filesUnder(join(ROOT, dir))) {
      const key = relative(ROOT, file).split('\\').join('/');
      assets[key] = file;
      digest.update(`\0${key}\0`).update(readFileSync(file));
    }
  }
  const manifestFile = join(work, SEA_MANIFEST);
  writeFileSync(manifestFile, JSON.stringify({ digest: digest.digest('hex').slice(0, 16), files: Object.keys(assets) }));
  assets[SEA_MANIFEST] = manifestFile;

  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }, null, 2));
  run(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

  const arch = process.arch;
  const exe = join(out, `ops-${process.platform}-${arch}`);
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const { inject } = (await import('postject')).default;
  // postject's ELF reader warns about every note section Node's binary has (harmless: the
  // injection is checked by running the result below); only those lines are dropped
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => (/^warning: Can't find string offset for section name '\.note/.test(String(chunk)) ? true : write.call(process.stderr, chunk, ...rest));
  try {
    await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    process.stderr.write = write;
  }

  const version = run(exe, ['--version'], { env: { PATH: '/nonexistent' } }).toString().trim();
  if (version !== `ops ${pkg.version}`) throw new Error(`package: ${exe} --version said "${version}"`);
  log(`${relative(process.cwd(), exe) || exe} (${(statSync(exe).size / 1048576).toFixed(1)} MB, Node ${process.version})`);
  return exe;
}

// ---------------------------------------------------------------- the man page

const roff = (line) => {
  const s = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(s) ? `\\&${s}` : s;
};

/** ops(1) from `ops --help`: the name line, then the usage as ops prints it. */
function manPage(help, date) {
  const [first, ...rest] = help.trimEnd().split('\n');
  const summary = first.replace(/^ops:\s*/, '');
  const body = rest.join('\n').replace(/^\n+/, '').split('\n');
  return [
    `.TH OPS 1 "${date}" "ops-console ${pkg.version}" "User Commands"`,
    '.SH NAME',
    `ops \\- ${roff(summary)}`,
    '.SH SYNOPSIS',
    '.B ops',
    '[\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]',
    '.SH DESCRIPTION',
    roff(pkg.description),
    '.PP',
    'Without a command, \\fBops\\fR opens the interactive console on the local host and the PostgreSQL database found through \\fBDATABASE_URL\\fR or libpq\'s \\fBPG*\\fR variables. The usage, as \\fBops \\-\\-help\\fR prints it:',
    '.PP',
    '.nf',
    ...body.map(roff),
    '.fi',
    '.SH FILES',
    '.TP',
    '.I ~/.config/ops-console/config.json',
    'the configuration file (\\fBOPS_CONFIG_DIR\\fR or \\fBXDG_CONFIG_HOME\\fR move it); \\fBops config path\\fR prints it.',
    '.SH SHELL COMPLETION',
    '\\fBops completion bash\\fR and \\fBops completion zsh\\fR print the completion scripts.',
    '.SH SEE ALSO',
    '.BR psql (1)',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- the .deb

/** The oldest glibc and libstdc++ the executable's symbols ask for, as Depends. */
function depends(exe) {
  const bytes = readFileSync(exe).toString('latin1');
  const newest = (re) => {
    const later = (a, b) => {
      for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
      return false;
    };
    let best = null;
    for (const m of bytes.matchAll(re)) {
      const v = m[1].split('.').map(Number);
      if (!best || later(v, best)) best = v;
    }
    return best;
  };
  const glibc = newest(/GLIBC_(2\.\d+)/g);
  const cxx = newest(/GLIBCXX_(3\.4\.\d+)/g);
  // GLIBCXX_3.4.N comes with GCC: 21 = 5, 22 = 6, 23 = 7, 25 = 8, 26 = 9, 28 = 10, 29 = 11, ...
  const gcc = cxx ? { 21: 5, 22: 6, 23: 7, 24: 7, 25: 8, 26: 9, 27: 9, 28: 10, 29: 11, 30: 12, 31: 13, 32: 14 }[cxx[2]] : undefined;
  return [glibc ? `libc6 (>= ${glibc.join('.')})` : 'libc6', 'libgcc-s1 | libgcc1', gcc ? `libstdc++6 (>= ${gcc})` : 'libstdc++6'].join(', ');
}

/** package.json's author (a string or { name, email }), else a placeholder to set there. */
function maintainer() {
  const a = pkg.author;
  if (typeof a === 'string' && /<[^>]+@[^>]+>/.test(a)) return a;
  if (a && typeof a === 'object' && a.email) return `${a.name ?? pkg.name} <${a.email}>`;
  return 'ops-console maintainers <ops-console@localhost>';
}

function buildDeb(exe) {
  const debArch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  if (process.platform !== 'linux' || !debArch) return log(`no .deb on ${process.platform}-${process.arch}`);
  const version = pkg.version.replace(/-/g, '~');
  const root = join(work, 'deb');
  rmSync(root, { recursive: true, force: true });
  const put = (path, data, mode = 0o644) => {
    const to = join(root, path);
    mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
    writeFileSync(to, data);
    chmodSync(to, mode);
  };
  const env = { PATH: '/nonexistent', HOME: work, OPS_CONFIG_DIR: join(work, 'no-config') };
  const help = run(exe, ['--help'], { env }).toString();
  const date = new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now()).toISOString().slice(0, 10);

  put('usr/bin/ops', readFileSync(exe), 0o755);
  put('usr/share/bash-completion/completions/ops', run(exe, ['completion', 'bash'], { env }));
  put('usr/share/zsh/vendor-completions/_ops', run(exe, ['completion', 'zsh'], { env }));
  put('usr/share/man/man1/ops.1.gz', gzipSync(manPage(help, date), { level: 9 }));
  put(
    'usr/share/doc/ops-console/copyright',
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: ops-console\n\nFiles: *\nLicense: ${pkg.license}\n\n${readFileSync(join(ROOT, 'LICENSE'), 'utf8')}`,
  );
  let size = 0;
  for (const f of filesUnder(root)) size += statSync(f).size;
  const control = [
    `Package: ${pkg.name}`,
    `Version: ${version}`,
    `Architecture: ${debArch}`,
    `Maintainer: ${maintainer()}`,
    `Installed-Size: ${Math.ceil(size / 1024)}`,
    `Depends: ${depends(exe)}`,
    'Section: admin',
    'Priority: optional',
    `Description: ${pkg.description.replace(/[.:]\s.*$/, '').toLowerCase().replace(/^a /, '')}`,
    ` ${pkg.description}`,
    ' .',
    ' One self-contained executable (Node.js inside): it needs no Node on the host.',
    '',
  ].join('\n');
  put('DEBIAN/control', control);
  for (const d of [root, ...readdirSync(root, { recursive: true }).map((p) => join(root, p))]) if (statSync(d).isDirectory()) chmodSync(d, 0o755);

  const deb = join(out, `${pkg.name}_${version}_${debArch}.deb`);
  rmSync(deb, { force: true });
  run('dpkg-deb', ['--root-owner-group', ...debCompression, '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  log(`${relative(process.cwd(), deb) || deb} (${(statSync(deb).size / 1048576).toFixed(1)} MB)`);
}

mkdirSync(out, { recursive: true });
const exe = await buildExecutable();
if (withDeb) buildDeb(exe);
rmSync(work, { recursive: true, force: true });
