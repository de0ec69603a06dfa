// Real cgroups on this host: v1 controllers (hybrid layout) and the cgroup2 `unified` mount.
// Creates only /sys/fs/cgroup/<hierarchy>/hull-cgtest-<rand>[/c] and removes it, pass or fail.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import {
  detectLayout, containerDirs, resourceWrites, prepareParents, applyWrites, applyUpdate, readPids,
  freeze, thaw, isFrozen, killAll, removeDirs, stats, type CgroupDirs,
} from '../lib/cgroups';

const layout = detectLayout();
const usable = process.getuid?.() === 0 && layout.hierarchies.some((h) => h.controllers.includes('memory'));
const rand = (): string => Math.random().toString(36).slice(2, 10);
const read = (file: string): string => fs.readFileSync(file, 'utf8').trim();
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function waitFor(what: string, cond: () => boolean, ms = 5000): void {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(sleeper, 0, 0, 5);
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Remove test dirs whatever state they are in (own code, so cleanup does not trust the library). */
function cleanup(dirs: string[], pids: Set<number>): void {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const d of dirs) {
    try { fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED'); } catch { /* not a freezer dir */ }
    try { fs.writeFileSync(path.join(d, 'cgroup.freeze'), '0'); } catch { /* not v2 */ }
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || Date.now() > deadline) break;
        Atomics.wait(sleeper, 0, 0, 10);
      }
    }
  }
}

/** A shell that joins every cgroup itself, then forks a sleep and becomes one: 2 processes. */
function spawnJoined(dirs: CgroupDirs, pids: Set<number>): ChildProcess {
  const procs = dirs.dirs.map((d) => path.join(d, 'cgroup.procs'));
  const child = spawn('sh', ['-c', 'for f in "$@"; do echo $$ > "$f" || exit 7; done; sleep 1000 & exec sleep 1000', 'sh', ...procs], { stdio: 'ignore' });
  pids.add(child.pid!);
  waitFor('2 processes in the cgroup', () => readPids(dirs).length === 2);
  for (const p of readPids(dirs)) pids.add(p);
  return child;
}

t.test('v1 (hybrid host): limits, pids, freeze, update, kill, remove', { skip: usable ? false : 'needs root and v1 memory' }, async (t) => {
  const name = `hull-cgtest-${rand()}`;
  const dirs = containerDirs(layout, `/${name}/c`, 'c', { systemd: false });
  const parents = dirs.dirs.map((d) => path.dirname(d));
  const pids = new Set<number>();
  t.teardown(() => cleanup([...dirs.dirs, ...parents], pids));

  const created = prepareParents(dirs);
  t.same(created, parents, 'every hierarchy got the parent');
  const cpusetIdx = dirs.hierarchies.findIndex((h) => h.controllers.includes('cpuset'));
  const hostCpus = read(path.join(dirs.hierarchies[cpusetIdx]!.mountpoint, 'cpuset.cpus'));
  t.equal(read(path.join(parents[cpusetIdx]!, 'cpuset.cpus')), hostCpus, 'new cpuset parent populated');

  const writes = resourceWrites(dirs, {
    memory: { limit: 64 << 20, swap: 128 << 20 }, cpu: { shares: 512, quota: 20000, period: 100000 },
    pids: { limit: 20 }, devices: [{ allow: false, access: 'rwm' }],
  });
  for (const d of dirs.dirs) fs.mkdirSync(d); // the bootstrap's part
  applyWrites(dirs, writes);
  const at = (c: string, f: string): string => read(path.join(dirs.dirs[dirs.hierarchies.findIndex((h) => h.controllers.includes(c))]!, f));
  t.equal(at('memory', 'memory.limit_in_bytes'), String(64 << 20));
  t.equal(at('memory', 'memory.memsw.limit_in_bytes'), String(128 << 20));
  t.equal(at('cpu', 'cpu.shares'), '512');
  t.equal(at('cpu', 'cpu.cfs_quota_us'), '20000');
  t.equal(at('pids', 'pids.max'), '20');
  t.equal(at('cpuset', 'cpuset.cpus'), hostCpus);
  const devs = at('devices', 'devices.list').split('\n');
  t.ok(devs.includes('c 1:3 rwm') && devs.includes('c *:* m') && !devs.includes('a *:* rwm'), 'deny all, then the defaults');

  const child = spawnJoined(dirs, pids);
  const inCgroup = readPids(dirs);
  t.ok(inCgroup.includes(child.pid!), 'readPids sees the shell-turned-sleep');
  t.match(fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(`memory:/${name}/c\\n`));

  const s = stats(dirs) as { pids: { current: number; limit: number }; memory: { usage: { limit: number; usage: number } }; cpu: { usage: { user: number } } };
  t.same(s.pids, { current: 2, limit: 20 });
  t.equal(s.memory.usage.limit, 64 << 20);
  t.ok(s.memory.usage.usage > 0, 'memory charged');

  freeze(dirs);
  t.equal(at('freezer', 'freezer.state'), 'FROZEN');
  t.ok(isFrozen(dirs));
  thaw(dirs);
  t.equal(at('freezer', 'freezer.state'), 'THAWED');
  t.notOk(isFrozen(dirs));

  // The kernel refuses limit > memsw: raising needs memsw first, lowering limit first.
  applyUpdate(dirs, { memory: { limit: 256 << 20, swap: 512 << 20 } });
  t.equal(at('memory', 'memory.limit_in_bytes'), String(256 << 20));
  t.equal(at('memory', 'memory.memsw.limit_in_bytes'), String(512 << 20));
  applyUpdate(dirs, { memory: { limit: 32 << 20, swap: 48 << 20 }, pids: { limit: 30 } });
  t.equal(at('memory', 'memory.limit_in_bytes'), String(32 << 20));
  t.equal(at('memory', 'memory.memsw.limit_in_bytes'), String(48 << 20));
  t.equal(at('pids', 'pids.max'), '30');

  // A limit below usage fails in the kernel: cpuset (written first) is rolled back.
  let msg = '';
  try {
    applyUpdate(dirs, { cpu: { cpus: '0' }, memory: { limit: 4096 } });
  } catch (e) {
    msg = (e as Error).message;
  }
  t.match(msg, /^unable to set memory limit to 4096 \(current usage: \d+, peak usage: \d+\): write .*memory\.limit_in_bytes: device or resource busy$/);
  t.equal(at('cpuset', 'cpuset.cpus'), hostCpus, 'cpuset.cpus restored');
  t.equal(at('memory', 'memory.limit_in_bytes'), String(32 << 20));

  killAll(dirs, 15);
  waitFor('SIGTERM to empty the cgroup', () => readPids(dirs).length === 0);
  t.notOk(isFrozen(dirs), 'not left frozen');

  // Frozen tasks die too: SIGKILL to a paused container thaws it afterwards.
  spawnJoined(dirs, pids);
  freeze(dirs);
  killAll(dirs, 9);
  waitFor('SIGKILL to empty the frozen cgroup', () => readPids(dirs).length === 0);
  t.equal(at('freezer', 'freezer.state'), 'THAWED');
  for (const p of pids) waitFor(`pid ${p} to die`, () => !alive(p));

  removeDirs(dirs, 5000);
  t.notOk(dirs.dirs.some((d) => fs.existsSync(d)), 'all container dirs removed');
  t.ok(parents.every((d) => fs.existsSync(d)), 'parents outside /hull are left alone');
});

t.test('killAll with another signal keeps a paused container paused', { skip: usable ? false : 'needs root' }, async (t) => {
  const dirs = containerDirs(layout, `/hull-cgtest-${rand()}`, 'c', { systemd: false });
  const pids = new Set<number>();
  t.teardown(() => cleanup(dirs.dirs, pids));
  prepareParents(dirs);
  for (const d of dirs.dirs) fs.mkdirSync(d);
  applyWrites(dirs, resourceWrites(dirs, {}));
  spawnJoined(dirs, pids);
  freeze(dirs);
  killAll(dirs, 10); // SIGUSR1 is fatal to sleep, once it runs again
  t.ok(isFrozen(dirs), 'still frozen');
  t.equal(readPids(dirs).length, 2, 'nothing ran while frozen');
  thaw(dirs);
  waitFor('SIGUSR1 delivered after thaw', () => readPids(dirs).length === 0);
  removeDirs(dirs, 5000);
  t.notOk(dirs.dirs.some((d) => fs.existsSync(d)));
});

const v2 = layout.hierarchies.find((h) => h.kind === 'v2');

t.test('cgroup2: cgroup.procs, cgroup.freeze, cgroup.kill', { skip: usable && v2 ? false : 'needs a cgroup2 mount' }, async (t) => {
  const dir = path.join(v2!.mountpoint, `hull-cgtest-${rand()}`);
  const dirs: CgroupDirs = { hierarchies: [v2!], dirs: [dir] };
  const pids = new Set<number>();
  t.teardown(() => cleanup([dir], pids));
  fs.mkdirSync(dir);
  spawnJoined(dirs, pids);
  t.same(readPids(dirs).sort(), read(path.join(dir, 'cgroup.procs')).split('\n').map(Number).sort());

  freeze(dirs);
  t.match(read(path.join(dir, 'cgroup.events')), /^frozen 1$/m);
  t.ok(isFrozen(dirs));
  thaw(dirs);
  t.match(read(path.join(dir, 'cgroup.events')), /^frozen 0$/m);
  t.notOk(isFrozen(dirs));

  killAll(dirs, 15); // freeze, signal, thaw
  waitFor('SIGTERM to empty the cgroup', () => readPids(dirs).length === 0);
  t.equal(read(path.join(dir, 'cgroup.freeze')), '0');

  spawnJoined(dirs, pids);
  freeze(dirs);
  killAll(dirs, 9); // cgroup.kill, frozen tasks included
  waitFor('cgroup.kill to empty the cgroup', () => readPids(dirs).length === 0);
  waitFor('populated 0', () => /^populated 0$/m.test(read(path.join(dir, 'cgroup.events'))));
  thaw(dirs); // a frozen empty cgroup can still be thawed
  removeDirs(dirs, 5000);
  t.notOk(fs.existsSync(dir));
});
