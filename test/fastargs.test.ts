// The fast path (lib/fastargs.ts + lib/entry-fast.ts, what bin/hull runs) must do exactly what the
// yargs CLI (lib/cli.ts main) does for every command line it takes, and leave every other one to
// yargs. Part 1 runs both entries in this process on the same command lines with the lifecycle,
// run, exec, manage and log functions replaced by recorders, and compares the calls, the output and
// the exit code. Part 2 checks the launcher (bin/hull) picks the bundle only when it is fresh and
// works with an empty environment. Part 3 runs a real container through the built bundle.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.join(__dirname, '..');

/* ------------------------------------------------------------------ part 1: same calls */

type Call = [string, ...unknown[]];
let calls: Call[] = [];
let out: string[] = [];
const rec = (name: string, ret?: (...a: any[]) => unknown) => (...args: unknown[]) => {
  calls.push([name, ...args]);
  return ret ? ret(...args) : undefined;
};

const lifecycle = require('../lib/lifecycle');
const run = require('../lib/run');
const exec = require('../lib/exec');
const manage = require('../lib/manage');
const log = require('../lib/log');
const fakeState = (id: string) => ({ ociVersion: '1.3.0', id, pid: 42, status: 'created', bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-01T00:00:00.000Z', owner: 'root' });
Object.assign(lifecycle, {
  create: rec('create', async () => fakeState('x')),
  start: rec('start'),
  state: rec('state', (_g, id) => fakeState(id)),
  kill: rec('kill'),
  del: rec('del'),
  list: rec('list', () => [fakeState('a'), fakeState('bb')]),
});
run.run = rec('run', async () => 3);
exec.exec = rec('exec', async () => 5);
Object.assign(manage, { pause: rec('pause'), resume: rec('resume') });
Object.assign(log, { configureLog: rec('configureLog'), logError: rec('logError') });

const { main } = require('../lib/cli') as typeof import('../lib/cli');
const { hullMain } = require('../lib/entry-fast') as typeof import('../lib/entry-fast');
const { parseFast } = require('../lib/fastargs') as typeof import('../lib/fastargs');

async function capture(fn: () => Promise<number>): Promise<{ code: number; calls: Call[]; out: string[] }> {
  calls = [];
  out = [];
  const nodeFs = require('node:fs');
  const real = nodeFs.writeSync;
  nodeFs.writeSync = (fd: number, s: any, ...rest: any[]) => {
    if (fd === 1 || fd === 2) {
      out.push(`${fd}:${String(s)}`);
      return String(s).length;
    }
    return (real as any)(fd, s, ...rest);
  };
  try {
    const code = await fn();
    return { code, calls, out };
  } finally {
    nodeFs.writeSync = real;
  }
}

// What engines send (CONTRACT.md §1) and what people type: all of these take the fast path.
const FAST: string[][] = [
  ['state', 'c1'], ['--root', '/r', 'state', 'c1'], ['--root=/r', 'state', 'c1'], ['state', '--root', '/r', 'c1'],
  ['state', 'c1', '--root', '/r'], ['--systemd-cgroup', '--debug', 'state', '007'], ['--rootless', 'true', 'state', '1e5'],
  ['--rootless=false', 'list'], ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'start', 'c1'],
  ['--log-format=json', '--log', '/x', 'delete', '--force', 'c1'], ['--log', '/x', '--log-format', 'text', 'state', 'c1'],
  ['kill', 'c1'], ['kill', 'c1', '9'], ['kill', '--all', 'c1', '15'], ['kill', '-a', 'c1', 'KILL'], ['kill', 'c1', 'SIGKILL', '--all'],
  ['kill', 'c1', 'BOGUS'], ['kill', 'c1', '0'],
  ['delete', 'c1'], ['delete', '-f', 'c1'], ['delete', 'c1', '--force'],
  ['list'], ['list', '-q'], ['list', '--format', 'json'], ['list', '-f', 'json'], ['list', '--format=table', '--quiet'],
  ['create', '--bundle', '/b', '--pid-file', '/p', 'c1'], ['create', '-b', '/b', 'c1'], ['create', 'c1'],
  ['create', '--bundle=/b', '--console-socket', '/s', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c1'],
  ['--root', '/r', '--log', '/l', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', '--no-pivot', 'c1'],
  ['create', '--preserve-fds', '007', 'c1'],
  ['run', '--bundle', '/b', 'c1'], ['run', '-d', '--keep', '--no-subreaper', '-b', '/b', 'c1'],
  ['exec', '--process', '/p.json', '--detach', '--pid-file', '/x.pid', 'c1'],
  ['--root', '/r', '--log', '/l', '--log-format', 'json', 'exec', '--process', '/p.json', '--console-socket', '/s', '--detach', '--pid-file', '/x', 'c1'],
  ['exec', '-p', '/p.json', '-d', '-t', '--preserve-fds', '3', '--pid-file', '/x', 'c1'],
  ['exec', 'c1', '/bin/true'], ['exec', '-t', 'c1', 'sh', '-c', 'echo hi'], ['exec', 'c1', '--', 'ls', '-l'], ['exec', 'c1', '--', '--'],
  ['exec', '--detach', 'c1', '--tty'], ['exec', 'c1', '--help'], ['exec', 'c1', '-v'], ['exec', '--root', '/r', 'c1', 'state', 'x'],
  ['pause', 'c1'], ['resume', 'c1'], ['--root', '/r', 'pause', 'c1'],
];

// Help, errors and anything unusual stay with yargs.
const DEFERRED: string[][] = [
  [], ['--help'], ['-h'], ['state', '--help'], ['state'], ['state', 'a', 'b'], ['state', ''], ['delete', '--force', 'true'],
  ['delete', '--force', 'false'], ['kill', '--all=true', 'c1'], ['--root', 'state', 'c1'], ['state', '-x', 'c1'],
  ['list', '--format', 'xml'], ['--root', '/a', '--root', '/b', 'state', 'c1'], ['exec', '--', 'c1', 'ls'],
  ['exec', '--env', 'A=1', '-p', '/p', 'c1'], ['exec', '-', 'ls'], ['exec', '', 'ls'], ['exec', '--detach', 'true', 'ls'], ['exec', '--cwd', '/', 'c1', 'ls'], ['create', '--preserve-fds', 'abc', 'c1'],
  ['create', '--preserve-fds', '-1', 'c1'], ['ps', 'c1'], ['spec'], ['check'], ['features'], ['update', '--resources', '-', 'c1'],
  ['events', 'c1'], ['--', 'state', 'c1'], ['state', '--', 'c1'], ['list', '-fq'], ['--root', '', 'state', 'c1'],
  ['--root=', 'state', 'c1'], ['--log-format', 'JSON', 'state', 'c1'], ['--debug=true', 'state', 'c1'], ['--no-debug', 'state', 'c1'],
  ['state', '-', 'c1'], ['--root'], ['state', 'c1', '--root'], ['create', '--bundle', '--pid-file', '/p', 'c1'], ['bogus', 'c1'],
  ['--rootless', 'state', 'c1'], ['kill', 'c1', '9', 'x'], ['delete', '-F', 'c1'], ['list', 'x'], ['state', '--id', 'c1'],
];

t.test('the fast path takes the engines\' command lines and nothing unusual', async (t) => {
  for (const argv of FAST) t.ok(parseFast(argv), `fast: ${argv.join(' ')}`);
  for (const argv of DEFERRED) t.equal(parseFast(argv), null, `yargs: ${JSON.stringify(argv)}`);
});

t.test('fast path and yargs make the same calls, print the same and exit the same', async (t) => {
  for (const argv of FAST) {
    const viaYargs = await capture(() => main([...argv]));
    const viaFast = await capture(() => hullMain([...argv]));
    t.same(viaFast, viaYargs, argv.join(' '));
    // guard against a vacuous pass: every command line reached a handler
    t.ok(viaYargs.calls.some((c) => c[0] !== 'configureLog'), `handler called: ${argv.join(' ')}`);
  }
  const st = await capture(() => hullMain(['state', 'c1']));
  t.match(st.out.join(''), /"status": "created"/, 'output is captured (the comparison above is not vacuous)');
  const v = await capture(() => hullMain(['--version']));
  t.same(v, await capture(() => main(['--version'])), '--version');
  t.match(v.out.join(''), /^1:hull version /);
});

/* ------------------------------------------------------------------ part 2: the launcher */

const launchers: [string, string][] = [['C (bin/launcher.c)', path.join(repo, 'dist', 'hull-launch')], ['shell (bin/hull.sh)', path.join(repo, 'bin', 'hull.sh')]];
for (const [kind, launcher] of launchers) {
  const skip = !fs.existsSync(launcher) ? 'not built (npm run build)' : kind.startsWith('C') && !/ELF/.test(fs.readFileSync(launcher).subarray(0, 4).toString()) ? 'no C compiler at build time: dist/hull-launch is the shell version' : false;
  t.test(`${kind} launcher: the bundle only when it is newer than the tsc output, with no environment`, { skip }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-launcher-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.copyFileSync(launcher, path.join(dir, 'dist', 'hull-launch'));
    fs.chmodSync(path.join(dir, 'dist', 'hull-launch'), 0o755);
    fs.symlinkSync('../dist/hull-launch', path.join(dir, 'bin', 'hull'));
    fs.symlinkSync(process.execPath, path.join(dir, 'dist', 'node'));
    const say = (what: string) => `process.stdout.write(${JSON.stringify(what)} + JSON.stringify(process.argv.slice(2)) + (process.env.NODE_EXTRA_CA_CERTS ?? ''))`;
    fs.writeFileSync(path.join(dir, 'dist', 'entry-boot.js'), say('bundle'));
    fs.writeFileSync(path.join(dir, 'dist', 'hull.js'), say('tsc'));
    const launch = (file: string, env: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync(file, ['state', 'a b', ''], { env, encoding: 'utf8', cwd: os.tmpdir() });
      t.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    const hull = path.join(dir, 'bin', 'hull');
    t.equal(launch(hull), 'tsc["state","a b",""]', 'no bundle: the tsc output');
    const bundle = path.join(dir, 'dist', 'hull.bundle.js');
    fs.writeFileSync(bundle, '');
    const now = Date.now() / 1000;
    fs.utimesSync(path.join(dir, 'dist', 'hull.js'), now - 10, now - 10);
    fs.utimesSync(bundle, now - 5, now - 5);
    t.equal(launch(hull), 'bundle["state","a b",""]', 'fresh bundle: entry-boot');
    t.equal(launch(hull, { NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' }), 'bundle["state","a b",""]', 'NODE_EXTRA_CA_CERTS dropped');
    t.equal(launch(path.join(dir, 'dist', 'hull-launch')), 'bundle["state","a b",""]', 'called directly');
    fs.symlinkSync(hull, path.join(dir, 'link'));
    t.equal(launch(path.join(dir, 'link')), 'bundle["state","a b",""]', 'through two symlinks');
    fs.utimesSync(bundle, now - 10, now - 10 + 0.0001);
    fs.utimesSync(path.join(dir, 'dist', 'hull.js'), now - 10, now - 10 + 0.0002);
    t.equal(launch(hull), 'tsc["state","a b",""]', 'stale bundle (tsc ran after it, same second): the tsc output');
    fs.rmSync(path.join(dir, 'dist', 'node'));
    const r = spawnSync(hull, ['state', 'x'], { env: {}, encoding: 'utf8' });
    t.not(r.status, 0, 'no dist/node: fails');
  });
}

/* ------------------------------------------------------------------ part 3: the real bundle */

const built = fs.existsSync(path.join(repo, 'dist', 'hull.bundle.js')) && fs.existsSync(path.join(repo, 'dist', 'entry-boot.js'));
const isRoot = process.getuid?.() === 0;

t.test('the built bundle runs a real container as the tsc output does', { timeout: 60000, skip: !built ? 'not built (npm run build)' : !isRoot ? 'needs root' : false }, async (t) => {
  const node = path.join(repo, 'dist', 'node');
  const viaBundle = (...a: string[]) => spawnSync(node, [path.join(repo, 'dist', 'entry-boot.js'), ...a], { env: {}, encoding: 'utf8' });
  const viaTsc = (...a: string[]) => spawnSync(node, [path.join(repo, 'dist', 'hull.js'), ...a], { env: {}, encoding: 'utf8' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-fastargs-'));
  const root = path.join(dir, 'root');
  const id = `fastargs-${process.pid}`;
  const cg = `hull-fastargs-${Math.random().toString(16).slice(2, 10)}`;
  const pidFile = path.join(dir, 'pid');
  t.teardown(() => {
    if (viaTsc('--root', root, 'delete', '--force', id).status !== 0) viaBundle('--root', root, 'delete', '--force', id);
    try {
      // if both failed (a broken build mid-test), do not leave the init behind
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      if (pid > 0 && fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(cg)) process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
    const rmTree = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmTree(path.join(d, e.name));
      try { fs.rmdirSync(d); } catch { /* busy: reported by the assertions above */ }
    };
    for (const c of fs.readdirSync('/sys/fs/cgroup')) rmTree(path.join('/sys/fs/cgroup', c, cg));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'sleep', 'true']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  t.equal(viaTsc('spec', '--bundle', dir).status, 0);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  Object.assign(config.process, { terminal: false, args: ['sleep', '100'] });
  config.linux.cgroupsPath = `/${cg}/${id}`;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));

  // create's stdio becomes the container's: a file, not a pipe that would stay open
  const outFile = path.join(dir, 'create.out');
  const fd = fs.openSync(outFile, 'w');
  const c = spawnSync(node, [path.join(repo, 'dist', 'entry-boot.js'), '--root', root, 'create', '--bundle', dir, '--pid-file', pidFile, id], { env: {}, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  t.equal(c.status, 0, fs.readFileSync(outFile, 'utf8'));
  t.equal(fs.readFileSync(outFile, 'utf8'), '', 'create prints nothing');
  t.match(fs.readFileSync(pidFile, 'utf8'), /^[0-9]+$/);
  const s1 = viaBundle('--root', root, 'state', id);
  t.equal(s1.stdout, viaTsc('--root', root, 'state', id).stdout, 'state: same output');
  t.match(JSON.parse(s1.stdout), { id, status: 'created' });
  t.equal(viaBundle('--root', root, 'list').stdout, viaTsc('--root', root, 'list').stdout, 'list: same output');
  t.equal(viaBundle('--root', root, 'start', id).status, 0);
  t.match(JSON.parse(viaBundle('--root', root, 'state', id).stdout), { status: 'running' });
  const ex = viaBundle('--root', root, 'exec', id, 'sh', '-c', 'echo "$0" from-exec', 'x');
  t.equal(ex.status, 0, ex.stderr);
  t.equal(ex.stdout, 'x from-exec\n', 'exec ID CMD ARGS through the fast path');
  const missing = [viaBundle('--root', root, 'state', 'nope'), viaTsc('--root', root, 'state', 'nope')];
  t.same([missing[0].status, missing[0].stderr], [missing[1].status, missing[1].stderr], 'an error: same message and status');
  t.equal(missing[0].status, 1);
  t.equal(viaBundle('--root', root, 'delete', '--force', id).status, 0);
  t.equal(viaBundle('--root', root, 'list', '-q').stdout, '');
});
