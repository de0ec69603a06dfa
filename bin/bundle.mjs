// Build step (`npm run build:bundle`, part of `npm run build`, after tsc and bin/postbuild.mjs):
// bundles the tsc output for a fast start. tsc's dist/*.js stay the source of truth; this only
// packs them. Writes:
//   dist/hull.bundle.js     dist/entry-fast.js and every dist/ module it reaches, one file
//   dist/vendor/yargs.js    yargs, one file, loaded only by the commands that go to yargs
//   dist/vendor/pino.js     pino, one file, loaded only when a JSON log line is written
//   dist/locales/           yargs' message catalogues (vendor/yargs.js looks in ../locales)
//   dist/hull.bundle.cache  V8 code cache of the bundle, made by dist/node itself (same V8 version
//                           and flags as bin/hull), see lib/entry-boot.ts
// bin/hull runs dist/entry-boot.js only when dist/hull.bundle.js is newer than dist/hull.js, so a
// later `npx tsc -p .` alone makes bin/hull use the plain tsc output again until this runs.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(top, 'dist');
const out = (f) => join(dist, f);

for (const f of ['entry-fast.js', 'entry-boot.js', 'hull.js']) {
  if (!existsSync(out(f))) throw new Error(`dist/${f} is missing: run tsc first (npm run build:ts)`);
}
// Never leave a cache beside a bundle it was not made from.
rmSync(out('hull.bundle.cache'), { force: true });

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };

// yargs and pino stay out of the main bundle: the fast path never loads them, and their code
// would otherwise be read and compiled at every start.
const vendor = {
  name: 'vendor',
  setup(b) {
    b.onResolve({ filter: /^(yargs\/yargs|pino|dbus-next)$/ }, (a) => ({ path: `./vendor/${a.path === 'yargs/yargs' ? 'yargs' : a.path}.js`, external: true }));
  },
};

await build({ ...common, entryPoints: [out('entry-fast.js')], outfile: out('hull.bundle.js'), plugins: [vendor] });
mkdirSync(out('vendor'), { recursive: true });
await build({ ...common, stdin: { contents: "module.exports = require('yargs/yargs');", resolveDir: top }, outfile: out('vendor/yargs.js') });
await build({ ...common, stdin: { contents: "module.exports = require('pino');", resolveDir: top }, outfile: out('vendor/pino.js') });
// The systemd cgroup driver's D-Bus client, loaded only with --systemd-cgroup (usocket: its optional
// abstract-socket helper, and x11, its session-bus finder: neither is installed nor used by hull).
await build({ ...common, stdin: { contents: "module.exports = require('dbus-next');", resolveDir: top }, outfile: out('vendor/dbus-next.js'), external: ['usocket', 'x11'] });
rmSync(out('locales'), { recursive: true, force: true });
cpSync(join(top, 'node_modules', 'yargs', 'locales'), out('locales'), { recursive: true });

// The cache is made by the node bin/hull runs, with the flags bin/hull passes (none today), after
// a training run of commands that touch nothing outside a temp dir: `check` of a default spec
// (validation, cgroup and plan building), a `create` that the same config makes fail before any
// side effect (terminal without --console-socket, runc's rule), and the other hot commands on a
// container that does not exist. Their compiled functions go into the cache too, which saves
// ~4 ms of CPU per `create` (bench/README.md, "Design measurements").
const node = existsSync(out('node')) ? out('node') : process.execPath;
const tmp = mkdtempSync(join(tmpdir(), 'hull-bundle-'));
try {
  const b = join(tmp, 'bundle');
  const root = join(tmp, 'root');
  mkdirSync(join(b, 'rootfs'), { recursive: true });
  execFileSync(node, [out('hull.js'), 'spec', '--bundle', b], { stdio: ['ignore', 'ignore', 'inherit'] });
  const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  config.process.terminal = true;
  config.linux = { ...config.linux, cgroupsPath: `/hull-bundle-train-${process.pid}` };
  writeFileSync(join(b, 'config.json'), JSON.stringify(config));
  const id = 'hull-bundle-train';
  const train = [
    ['check', '--bundle', b],
    ['--root', root, 'create', '--bundle', b, '--pid-file', join(tmp, 'pid'), id],
    ...['state', 'start', 'delete', 'pause', 'resume'].map((c) => ['--root', root, c, id]),
    ['--root', root, 'kill', id, 'KILL'],
    ['--root', root, 'delete', '--force', id],
    ['--root', root, 'exec', '--process', join(tmp, 'process.json'), '--detach', '--pid-file', join(tmp, 'pid'), id],
    ['--root', root, 'list'],
  ];
  const r = spawnSync(node, ['-e', `require(${JSON.stringify(out('entry-boot.js'))}).writeCache(JSON.parse(process.argv[1])).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })`, JSON.stringify(train)], {
    cwd: tmp,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0 || !existsSync(out('hull.bundle.cache'))) {
    throw new Error(`code cache not written (exit ${r.status}): ${String(r.stderr)}`);
  }
  if (existsSync(join(root, id))) throw new Error(`training created a container: ${join(root, id)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
