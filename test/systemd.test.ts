// The systemd cgroup driver (--systemd-cgroup, lib/cgroups/systemd.ts) against a FAKE systemd: a
// private dbus-daemon, and in this process an org.freedesktop.systemd1.Manager (dbus-next's service
// API) that records StartTransientUnit / StopUnit, moves nothing, and answers with a job whose
// JobRemoved result the test chooses. bin/hull runs in a private mount namespace where a tmpfs on
// /run/systemd holds `system` (systemd's "I am running" mark), with DBUS_SYSTEM_BUS_ADDRESS set.
// Real containers: the init runs in the cgroupfs dirs hull made; everything is removed pass or fail.
import t from 'tap';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dbus from 'dbus-next';

const REPO = path.join(__dirname, '..');
const HULL = path.join(REPO, 'bin', 'hull');
const BUSYBOX = '/bin/busybox';
const CGROOT = '/sys/fs/cgroup';

t.setTimeout(120000);

const rand = () => crypto.randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-systemd-'));
fs.chmodSync(tmp, 0o755);
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/* ------------------------------------------------------------ the private bus */

async function startBus(): Promise<{ daemon: ChildProcess; address: string }> {
  const conf = path.join(tmp, 'bus.conf');
  fs.writeFileSync(conf, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=${path.join(tmp, 'bus.sock')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`);
  const daemon = spawn('/usr/bin/dbus-daemon', [`--config-file=${conf}`, '--print-address', '--nofork', '--nopidfile'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('dbus-daemon printed no address')), 10000);
    daemon.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(buf.slice(0, nl).trim()); }
    });
    daemon.once('exit', (c) => { clearTimeout(timer); reject(new Error(`dbus-daemon exited ${c}`)); });
  });
  return { daemon, address };
}

/* ------------------------------------------------------------ the fake manager */

interface Call { method: string; args: any[] }
type Mode = 'done' | 'failed' | 'nosuchunit' | 'nojob';

const calls: Call[] = [];
let mode: { start: Mode; stop: Mode } = { start: 'done', stop: 'done' };
let jobSeq = 0;

class FakeManager extends dbus.interface.Interface {
  constructor() { super('org.freedesktop.systemd1.Manager'); }
  private job(unit: string, result: string): string {
    const id = ++jobSeq;
    const job = `/org/freedesktop/systemd1/job/${id}`;
    // After the reply, as systemd does; 'nojob': a job that never ends.
    if (result !== 'nojob') setTimeout(() => this.JobRemoved(id, job, unit, result), 20);
    return job;
  }
  StartTransientUnit(name: string, m: string, props: any[], aux: any[]): string {
    calls.push({ method: 'StartTransientUnit', args: [name, m, props, aux] });
    return this.job(name, mode.start);
  }
  StopUnit(name: string, m: string): string {
    calls.push({ method: 'StopUnit', args: [name, m] });
    if (mode.stop === 'nosuchunit') throw new dbus.DBusError('org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);
    return this.job(name, mode.stop);
  }
  JobRemoved(id: number, job: string, unit: string, result: string): any {
    return [id, job, unit, result];
  }
}
FakeManager.configureMembers({
  methods: {
    StartTransientUnit: { inSignature: 'ssa(sv)a(sa(sv))', outSignature: 'o' },
    StopUnit: { inSignature: 'ss', outSignature: 'o' },
  },
  signals: { JobRemoved: { signature: 'uoss' } },
});

/** props a(sv) -> { name: value } */
function propMap(props: any[]): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of props) out[k] = { sig: v.signature, value: v.value };
  return out;
}

/* ------------------------------------------------------------ running hull */

interface Res { code: number | null; stdout: string; stderr: string }

/** Async: the fake manager answers from this process's event loop while hull runs. */
function hull(root: string, args: string[], env: NodeJS.ProcessEnv, withSystemd = true): Promise<Res> {
  const argv = ['--root', root, '--systemd-cgroup', ...args];
  // stdout/stderr to files: a container init inheriting a pipe would keep it open.
  const n = rand();
  const outFile = path.join(tmp, `out-${n}`);
  const errFile = path.join(tmp, `err-${n}`);
  const out = fs.openSync(outFile, 'w+');
  const err = fs.openSync(errFile, 'w+');
  const child = withSystemd
    ? spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      'mount -t tmpfs none /run/systemd && mkdir /run/systemd/system && exec "$@"', 'sh', HULL, ...argv],
      { env, stdio: ['ignore', out, err] })
    : spawn(HULL, argv, { env, stdio: ['ignore', out, err] });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fs.closeSync(out);
      fs.closeSync(err);
      resolve({ code, stdout: fs.readFileSync(outFile, 'utf8'), stderr: fs.readFileSync(errFile, 'utf8') });
    });
  });
}

function bundle(dir: string, cgroupsPath: string, args: string[]): void {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  for (const a of ['sh', 'sleep', 'cat', 'true']) fs.symlinkSync('/bin/busybox', path.join(rootfs, 'bin', a));
  const r = spawnSync(HULL, ['spec', '--bundle', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hull spec: ${r.stderr}`);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  cfg.process.args = args;
  cfg.process.terminal = false;
  cfg.linux.cgroupsPath = cgroupsPath;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
}

/** Every hierarchy's dir for a cgroup path (v1 controllers and the unified one). */
function cgroupDirs(rel: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(CGROOT)) {
    const d = path.join(CGROOT, e);
    try {
      if (fs.lstatSync(d).isSymbolicLink()) continue;
    } catch { continue; }
    out.push(path.join(d, rel));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(st);
  } catch {
    return false;
  }
}

/** Remove what a test may have left: the container (by force), its leaf and its slice dirs. */
async function cleanup(root: string, env: NodeJS.ProcessEnv, id: string, leaf: string, slice: string): Promise<void> {
  mode = { start: 'done', stop: 'nosuchunit' };
  if (fs.existsSync(path.join(root, id))) await hull(root, ['delete', '--force', id], env);
  for (const rel of [leaf, slice]) {
    for (const d of cgroupDirs(rel).reverse()) {
      for (let i = 0; i < 50 && fs.existsSync(d); i++) {
        try { fs.rmdirSync(d); } catch { spawnSync('sleep', ['0.05']); }
      }
    }
  }
}

/* ------------------------------------------------------------ tests */

/** One container's names and bundle for a subtest, with the fake's answers set and cleanup registered. */
function scenario(t: any, env: NodeJS.ProcessEnv, start: Mode, stop: Mode, asSlice = false) {
  const r = rand();
  const slice = `hullsystemd${r}.slice`;
  const unit = asSlice ? `hullsystemd${r}-c.slice` : `hull-sd${r}.scope`;
  const leaf = `/${slice}/${unit}`;
  const root = path.join(tmp, `root-${r}`);
  const dir = path.join(tmp, `b-${r}`);
  const id = `hull-systemd-${r}`;
  bundle(dir, asSlice ? `${slice}::${unit}` : `${slice}:hull:sd${r}`, ['sleep', '1000']);
  mode = { start, stop };
  calls.length = 0;
  t.teardown(() => cleanup(root, env, id, leaf, `/${slice}`));
  return { r, slice, unit, leaf, root, dir, id };
}

t.test('systemd cgroup driver against a fake systemd1 Manager', async (t) => {
  const { daemon, address } = await startBus();
  const service = dbus.sessionBus({ busAddress: address });
  t.teardown(() => { service.disconnect(); daemon.kill('SIGTERM'); });
  await service.requestName('org.freedesktop.systemd1', 0);
  service.export('/org/freedesktop/systemd1', new FakeManager());
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address };

  t.test('create: StartTransientUnit with unit, slice, Delegate, init pid; delete: StopUnit', async (t) => {
    const { r, slice, unit, leaf, root, dir, id } = scenario(t, env, 'done', 'done');

    const pidFile = path.join(tmp, `pid-${r}`);
    const cr = await hull(root, ['create', '--bundle', dir, '--pid-file', pidFile, id], env);
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr });
    t.equal(cr.stderr, '', 'no warning any more');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    t.ok(alive(pid), 'the init runs');
    const starts = calls.filter((c) => c.method === 'StartTransientUnit');
    t.equal(starts.length, 1, 'one StartTransientUnit');
    const [uname, m, props, aux] = starts[0]!.args;
    t.equal(uname, unit, 'unit <prefix>-<name>.scope');
    t.equal(m, 'replace', 'mode replace');
    t.same(aux, [], 'no aux units');
    const p = propMap(props);
    t.same(p.Slice, { sig: 's', value: slice }, 'Slice');
    t.same(p.Delegate, { sig: 'b', value: true }, 'Delegate=true');
    t.same(p.PIDs, { sig: 'au', value: [pid] }, 'PIDs = [init pid]');
    t.same(p.DefaultDependencies, { sig: 'b', value: false }, 'DefaultDependencies=false');
    t.match(p.Description?.value, id, 'Description names the container');
    t.equal(calls.filter((c) => c.method === 'StopUnit').length, 0, 'nothing stopped');
    for (const ctrl of ['memory', 'pids', 'freezer']) {
      const procs = fs.readFileSync(path.join(CGROOT, ctrl, leaf, 'cgroup.procs'), 'utf8').split('\n');
      t.ok(procs.includes(String(pid)), `init is in the ${ctrl} cgroupfs dir at the unit's path`);
    }
    const state = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
    t.equal(state.hull.systemdUnit, unit, 'state.json keeps the unit for delete');
    t.equal(state.hull.systemd, true, 'hull.systemd stays a boolean');

    const sr = await hull(root, ['start', id], env);
    t.equal(sr.code, 0, 'start', { stderr: sr.stderr });
    const dr = await hull(root, ['delete', '--force', id], env);
    t.equal(dr.code, 0, 'delete --force', { stderr: dr.stderr });
    t.equal(dr.stderr, '', 'delete is quiet');
    const stops = calls.filter((c) => c.method === 'StopUnit');
    t.same(stops.map((c) => c.args), [[unit, 'replace']], 'StopUnit(unit, "replace") once');
    t.notOk(alive(pid), 'the init is gone');
    t.notOk(fs.existsSync(path.join(root, id)), 'state removed');
    for (const d of cgroupDirs(leaf)) t.notOk(fs.existsSync(d), `${d} removed`);
  });

  t.test('a unit already gone at delete (NoSuchUnit) is fine', async (t) => {
    const { leaf, root, dir, id } = scenario(t, env, 'done', 'nosuchunit');
    const cr = await hull(root, ['create', '--bundle', dir, id], env);
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr });
    const dr = await hull(root, ['delete', '--force', id], env);
    t.equal(dr.code, 0, 'delete', { stderr: dr.stderr });
    t.equal(dr.stderr, '', 'no warning for a unit that is already gone');
    t.equal(calls.filter((c) => c.method === 'StopUnit').length, 1, 'StopUnit was asked');
    t.notOk(fs.existsSync(path.join(root, id)), 'state removed');
    for (const d of cgroupDirs(leaf)) t.notOk(fs.existsSync(d), `${d} removed`);
  });

  t.test('a "failed" start job fails create and leaves nothing', async (t) => {
    const { unit, leaf, root, dir, id } = scenario(t, env, 'failed', 'done');
    const cr = await hull(root, ['create', '--bundle', dir, id], env);
    t.not(cr.code, 0, 'create fails');
    t.match(cr.stderr, unit, 'the error names the unit');
    t.match(cr.stderr, /"failed"/, 'and the job result');
    const starts = calls.filter((c) => c.method === 'StartTransientUnit');
    t.equal(starts.length, 1, 'StartTransientUnit was asked');
    const pid = propMap(starts[0]?.args[2] ?? []).PIDs?.value?.[0];
    t.ok(pid > 0, 'with a pid');
    t.notOk(alive(pid), 'that init is gone');
    t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
    for (const d of cgroupDirs(leaf)) t.notOk(fs.existsSync(d), `${d} removed`);
  });

  t.test('a start job that never ends: create fails after the timeout and leaves nothing', async (t) => {
    const { unit, leaf, root, dir, id } = scenario(t, env, 'nojob', 'done');
    const t0 = Date.now();
    const cr = await hull(root, ['create', '--bundle', dir, id], env);
    t.not(cr.code, 0, 'create fails');
    t.ok(Date.now() - t0 >= 4000, 'after waiting a few seconds for the job');
    t.match(cr.stderr, new RegExp(`${unit}.*did not finish`), 'the error names the unit and the timeout');
    const pid = propMap(calls.find((c) => c.method === 'StartTransientUnit')?.args[2] ?? []).PIDs?.value?.[0];
    t.ok(pid > 0 && !alive(pid), 'the init is gone');
    t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
    for (const d of cgroupDirs(leaf)) t.notOk(fs.existsSync(d), `${d} removed`);
  });

  t.test('a slice name: the unit is that slice, no PIDs, no Delegate', async (t) => {
    const { slice, unit, root, dir, id } = scenario(t, env, 'done', 'done', true);
    const cr = await hull(root, ['create', '--bundle', dir, id], env);
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr });
    const starts = calls.filter((c) => c.method === 'StartTransientUnit');
    t.equal(starts[0]?.args[0], unit, 'unit is the slice name');
    const p = propMap(starts[0]?.args[2] ?? []);
    t.notOk('PIDs' in p, 'no PIDs');
    t.notOk('Delegate' in p, 'no Delegate (a slice cannot delegate)');
    t.same(p.Wants, { sig: 'as', value: [slice] }, 'Wants= its parent slice');
    const dr = await hull(root, ['delete', '--force', id], env);
    t.equal(dr.code, 0, 'delete', { stderr: dr.stderr });
    t.same(calls.filter((c) => c.method === 'StopUnit').map((c) => c.args[0]), [unit], 'StopUnit of the slice');
  });

  t.test('features: cgroup.systemd is true where systemd runs', async (t) => {
    const r = await hull(path.join(tmp, 'root-features'), ['features'], env);
    t.equal(r.code, 0, 'features', { stderr: r.stderr });
    t.equal(JSON.parse(r.stdout).linux.cgroup.systemd, true, 'systemd: true');
  });

  t.test('systemd running but the bus unreachable: a clear error naming the address', async (t) => {
    const r = rand();
    const root = path.join(tmp, `root-${r}`);
    const dir = path.join(tmp, `b-${r}`);
    const id = `hull-systemd-${r}`;
    const slice = `hullsystemd${r}.slice`;
    bundle(dir, `${slice}:hull:sd${r}`, ['true']);
    const bad = `unix:path=${path.join(tmp, 'no-such-bus')}`;
    t.teardown(() => cleanup(root, env, id, `/${slice}/hull-sd${r}.scope`, `/${slice}`));
    const cr = await hull(root, ['create', '--bundle', dir, id], { ...env, DBUS_SYSTEM_BUS_ADDRESS: bad });
    t.not(cr.code, 0, 'create fails');
    t.match(cr.stderr, bad, 'names the bus address');
    t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
    for (const d of cgroupDirs(`/${slice}`)) t.notOk(fs.existsSync(d), `${d} never made`);
  });
});

t.test('no systemd (no /run/systemd/system): the clear error', { skip: fs.existsSync('/run/systemd/system') && 'systemd runs here' }, async (t) => {
  const r = rand();
  const root = path.join(tmp, `root-${r}`);
  const dir = path.join(tmp, `b-${r}`);
  const id = `hull-systemd-${r}`;
  bundle(dir, `hullsystemd${r}.slice:hull:sd${r}`, ['true']);
  const cr = await hull(root, ['create', '--bundle', dir, id], process.env, false);
  t.not(cr.code, 0, 'create fails');
  t.match(cr.stderr, /systemd is not running \(no \/run\/systemd\/system\)/, 'says why');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
});
