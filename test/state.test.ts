import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { deriveStatus, initAlive, procStat, publicState, Store, StoredState, STATE_FORMAT } from '../lib/state';

function tmpRoot(t: any): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-state-test-'));
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return path.join(d, 'root');
}

function sample(id: string, pid: number, start: string): StoredState {
  return {
    ociVersion: '1.3.0', id, pid, status: 'created', bundle: '/b', rootfs: '/b/rootfs', created: new Date().toISOString(),
    owner: 'root', annotations: { a: 'b' },
    hull: { format: STATE_FORMAT, initStartTime: start, cgroup: { hierarchies: [], dirs: [] }, namespaces: {}, pidNamespace: 'new', systemd: false, rootless: false },
  };
}

t.test('store: create, save atomically, load, list, remove', async (t) => {
  const store = new Store(tmpRoot(t));
  t.same(store.ids(), [], 'a missing root lists nothing');
  store.createDir('c1');
  t.equal(fs.statSync(store.root).mode & 0o777, 0o700, 'root is 0700');
  t.equal(fs.statSync(store.dir('c1')).mode & 0o777, 0o711, 'container dir is 0711');
  t.throws(() => store.createDir('c1'), /container with id exists: c1/);
  t.throws(() => store.load('c1'), /does not exist/, 'no state.json yet');
  store.save(sample('c1', 1, '1'));
  t.same(fs.readdirSync(store.dir('c1')), ['state.json'], 'no temp file left behind');
  t.equal(store.load('c1').annotations!.a, 'b');
  store.createDir('c0');
  t.same(store.ids(), ['c0', 'c1'], 'sorted ids');
  store.remove('c1');
  t.notOk(store.exists('c1'));
  t.throws(() => store.dir('../x'), /invalid container id/);
});

t.test('store: unknown future format is refused, corrupt file is reported', async (t) => {
  const store = new Store(tmpRoot(t));
  store.createDir('c');
  const st = sample('c', 1, '1');
  st.hull.format = STATE_FORMAT + 1;
  store.save(st);
  t.throws(() => store.load('c'), /unsupported format/);
  fs.writeFileSync(store.stateFile('c'), '{');
  t.throws(() => store.load('c'), /corrupt/);
});

t.test('status is derived from the live process, its start time and the fifo', async (t) => {
  const store = new Store(tmpRoot(t));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => { child.kill('SIGKILL'); });
  const ps = procStat(child.pid!)!;
  t.ok(ps, 'stat of a live child');
  t.equal(ps.state.length, 1);
  store.createDir('c');
  const st = sample('c', child.pid!, ps.startTime);
  fs.writeFileSync(store.fifo('c'), '');
  t.equal(deriveStatus(st, store, () => false), 'created', 'fifo present: created');
  fs.unlinkSync(store.fifo('c'));
  t.equal(deriveStatus(st, store, () => false), 'running');
  t.equal(deriveStatus(st, store, () => true), 'paused');
  const reused = { ...st, hull: { ...st.hull, initStartTime: String(Number(ps.startTime) + 1) } };
  t.notOk(initAlive(reused), 'same pid, other start time: a reused pid');
  t.equal(deriveStatus(reused, store, () => false), 'stopped');
  child.kill('SIGKILL');
  // Not reaped yet: a zombie is stopped too.
  await new Promise((r) => setTimeout(r, 100));
  const z = procStat(child.pid!);
  if (z) t.equal(z.state, 'Z', 'unreaped child is a zombie');
  t.equal(deriveStatus(st, store, () => false), 'stopped', 'zombie or gone: stopped');
  t.equal(publicState(st, 'stopped').pid, 0, 'stopped prints pid 0');
  t.same(Object.keys(publicState(st, 'running')), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner', 'annotations']);
});

t.test('procStat copes with spaces and parentheses in comm', async (t) => {
  t.equal(procStat(999999999), null, 'missing pid');
  const self = procStat(process.pid)!;
  t.match(self.startTime, /^\d+$/);
});
