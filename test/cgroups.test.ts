// Unit tests of the cgroup library: parsing, paths, resource mapping (v1 and v2 on scratch
// trees laid out like cgroupfs), update ordering and rollback. Host cgroups: cgroups-host.test.ts.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  detectLayout, containerDirs, expandSlice, resourceWrites, prepareParents, applyWrites, applyUpdate,
  sharesToWeight, blkioToIOWeight, removeDirs, readPids, DEFAULT_DEVICE_RULES,
  type CgroupDirs, type Hierarchy, type Layout, type Write,
} from '../lib/cgroups';
import { restoreValue } from '../lib/cgroups/ops';

const fixture = (name: string): string => fs.readFileSync(path.join(__dirname, 'fixtures/cgroups', name), 'utf8');

t.test('detectLayout: hybrid host (this machine\'s layout)', async (t) => {
  const l = detectLayout(fixture('hybrid.mountinfo'));
  t.equal(l.mode, 'hybrid');
  t.same(l.hierarchies.map((h) => [h.kind, h.controllers.join(','), h.mountpoint, h.root]), [
    ['v1', 'cpu', '/sys/fs/cgroup/cpu', '/'],
    ['v1', 'cpuacct', '/sys/fs/cgroup/cpuacct', '/'],
    ['v1', 'cpuset', '/sys/fs/cgroup/cpuset', '/'],
    ['v1', 'memory', '/sys/fs/cgroup/memory', '/'],
    ['v1', 'devices', '/sys/fs/cgroup/devices', '/'],
    ['v1', 'freezer', '/sys/fs/cgroup/freezer', '/'],
    ['v1', 'blkio', '/sys/fs/cgroup/blkio', '/'],
    ['v1', 'pids', '/sys/fs/cgroup/pids', '/'],
    ['v1', 'name=systemd', '/sys/fs/cgroup/systemd', '/'],
    ['v2', '', '/sys/fs/cgroup/unified', '/'],
  ]);
});

t.test('detectLayout: v1 with co-mounted controllers, options and a duplicate bind', async (t) => {
  const l = detectLayout(fixture('v1.mountinfo'));
  t.equal(l.mode, 'v1');
  const byMp = Object.fromEntries(l.hierarchies.map((h) => [h.mountpoint, h.controllers]));
  t.same(byMp['/sys/fs/cgroup/systemd'], ['name=systemd'], 'xattr and release_agent= are options');
  t.same(byMp['/sys/fs/cgroup/cpu,cpuacct'], ['cpu', 'cpuacct']);
  t.same(byMp['/sys/fs/cgroup/net_cls,net_prio'], ['net_cls', 'net_prio']);
  t.same(byMp['/sys/fs/cgroup/cpuset'], ['cpuset'], 'clone_children is an option');
  t.equal(byMp['/var/lib/bind/pids'], undefined, 'a second mount of pids is ignored');
  t.equal(l.hierarchies.length, 11);
  t.notOk(l.hierarchies.some((h) => h.kind === 'v2'));
});

t.test('detectLayout: pure v2, nested views, and nothing else counts', async (t) => {
  const v2 = detectLayout(fixture('v2.mountinfo'));
  t.same(v2, { mode: 'v2', hierarchies: [{ kind: 'v2', controllers: [], mountpoint: '/sys/fs/cgroup', root: '/' }] });
  const nested = detectLayout(fixture('nested.mountinfo'));
  t.equal(nested.mode, 'hybrid');
  t.same(nested.hierarchies[0], { kind: 'v1', controllers: ['cpu', 'cpuacct'], mountpoint: '/sys/fs/cgroup/cpu and acct', root: '/docker/abc' });
  // podman mkdirs hugetlb/net_cls as plain dirs in /sys/fs/cgroup: only mountinfo counts.
  t.notOk(detectLayout(fixture('hybrid.mountinfo')).hierarchies.some((h) => h.controllers.includes('hugetlb')));
  t.same(detectLayout('1 0 8:1 / / rw - ext4 /dev/sda rw\n'), { mode: 'v2', hierarchies: [] });
  // The real host: one read of /proc/self/mountinfo.
  const host = detectLayout();
  t.ok(host.hierarchies.length > 0, 'host has cgroups');
});

const hybrid = detectLayout(fixture('hybrid.mountinfo'));
const rel = (d: CgroupDirs): string[] => d.dirs.map((x, i) => path.relative(d.hierarchies[i]!.mountpoint, x));

t.test('containerDirs: default, absolute, relative', async (t) => {
  const def = containerDirs(hybrid, undefined, 'c1', { systemd: false });
  t.same(def.dirs.slice(0, 2), ['/sys/fs/cgroup/cpu/hull/c1', '/sys/fs/cgroup/cpuacct/hull/c1']);
  t.equal(def.dirs.at(-1), '/sys/fs/cgroup/unified/hull/c1');
  t.equal(def.hierarchies, hybrid.hierarchies);
  t.same(rel(containerDirs(hybrid, '', 'c1', { systemd: false })), rel(def));
  t.ok(rel(containerDirs(hybrid, '/a//b/./c/', 'x', { systemd: false })).every((p) => p === 'a/b/c'));
  const own = '9:name=systemd:/user.slice\n4:memory:/process_api/abc\n3:cpuset:/\n8:pids:/p\n0::/u/v\n';
  const layout: Layout = {
    mode: 'hybrid', hierarchies: hybrid.hierarchies.filter((h) => ['memory', 'cpuset', 'pids', 'name=systemd'].includes(h.controllers[0]!) || h.kind === 'v2'),
  };
  const r = containerDirs(layout, 'sub/c', 'x', { systemd: false, ownCgroup: own });
  t.same(r.dirs, [
    '/sys/fs/cgroup/cpuset/sub/c', '/sys/fs/cgroup/memory/process_api/abc/sub/c', '/sys/fs/cgroup/pids/p/sub/c',
    '/sys/fs/cgroup/systemd/user.slice/sub/c', '/sys/fs/cgroup/unified/u/v/sub/c',
  ]);
  // A mount showing /docker/abc at its mountpoint: the own path's prefix is stripped.
  const nested = detectLayout(fixture('nested.mountinfo'));
  const n = containerDirs(nested, 'c', 'x', { systemd: false, ownCgroup: '2:cpu,cpuacct:/docker/abc/in\n3:memory:/docker/abc\n0::/\n' });
  t.same(n.dirs, ['/sys/fs/cgroup/cpu and acct/in/c', '/sys/fs/cgroup/memory/c', '/sys/fs/cgroup/unified/c']);
  t.throws(() => containerDirs(layout, 'c', 'x', { systemd: false, ownCgroup: '0::/\n' }), /own cgroup/);
});

t.test('containerDirs: ".." and bad ids are rejected', async (t) => {
  for (const bad of ['/a/../b', '../x', 'a/..', '/..', '/', '//./']) {
    t.throws(() => containerDirs(hybrid, bad, 'c', { systemd: false, ownCgroup: '0::/\n' }), Error, bad);
  }
  for (const id of ['', '.', '..', 'a/b']) t.throws(() => containerDirs(hybrid, undefined, id, { systemd: false }), /container id/);
});

t.test('containerDirs: systemd slice:prefix:name', async (t) => {
  const one = (p: string | undefined, id = 'c1'): string => rel(containerDirs(hybrid, p, id, { systemd: true }))[0]!;
  t.equal(one('system.slice:docker:abc'), 'system.slice/docker-abc.scope');
  t.equal(one('machine-libpod_pod.slice:libpod:x'), 'machine.slice/machine-libpod_pod.slice/libpod-x.scope');
  t.equal(one(':libpod:x'), 'system.slice/libpod-x.scope', 'empty slice: system.slice');
  t.equal(one('-.slice:p:n'), 'p-n.scope', 'root slice');
  t.equal(one('system.slice::n'), 'system.slice/n.scope', 'no prefix');
  t.equal(one(undefined), 'system.slice/hull-c1.scope');
  t.equal(one('user.slice::user-1000.slice'), 'user.slice/user-1000.slice', 'a slice as the unit');
  t.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  for (const bad of ['a:b', 'a:b:c:d', '/abs/path', 'foo:p:n', 'a--b.slice:p:n', '-a.slice:p:n', 'a-.slice:p:n',
    'system.slice:p:', 'system.slice:p:a/b', 'a/b.slice:p:n', '.slice:p:n', 'user.slice::other.slice']) {
    t.throws(() => containerDirs(hybrid, bad, 'c1', { systemd: true }), Error, bad);
  }
});

// ---- scratch trees laid out like cgroupfs ----

const V1_MOUNTS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'rdma'];

function scratch(t: Tap.Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-cgunit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function put(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** v1 hierarchy roots with the files the planner probes; the container dir is /hull/c1. */
function scratchV1(t: Tap.Test, mounts = V1_MOUNTS): { root: string; dirs: CgroupDirs; idx: (c: string) => number } {
  const root = scratch(t);
  const hierarchies: Hierarchy[] = mounts.map((c) => ({ kind: 'v1', controllers: [c], mountpoint: path.join(root, c), root: '/' }));
  for (const h of hierarchies) fs.mkdirSync(h.mountpoint);
  if (mounts.includes('cpuset')) {
    put(path.join(root, 'cpuset/cpuset.cpus'), '0-3\n');
    put(path.join(root, 'cpuset/cpuset.mems'), '0\n');
  }
  if (mounts.includes('memory')) put(path.join(root, 'memory/memory.memsw.limit_in_bytes'), '9223372036854771712\n');
  if (mounts.includes('hugetlb')) put(path.join(root, 'hugetlb/hugetlb.2MB.rsvd.limit_in_bytes'), '0\n');
  if (mounts.includes('blkio')) put(path.join(root, 'blkio/blkio.bfq.weight'), '100\n');
  const dirs = containerDirs({ mode: 'v1', hierarchies }, undefined, 'c1', { systemd: false });
  return { root, dirs, idx: (c) => mounts.indexOf(c) };
}

function named(dirs: CgroupDirs, ws: Write[]): [string, string, string][] {
  return ws.map((w) => [dirs.hierarchies[w.index]!.kind === 'v2' ? 'v2' : dirs.hierarchies[w.index]!.controllers.join(','), w.file, w.value]);
}

const defaultDeviceWrites = DEFAULT_DEVICE_RULES.map((r): [string, string, string] => [
  'devices', 'devices.allow', `${r.type} ${r.major < 0 ? '*' : r.major}:${r.minor < 0 ? '*' : r.minor} ${r.access}`,
]);

const FULL = {
  memory: { limit: 104857600, reservation: 52428800, swap: 209715200, kernel: 0, kernelTCP: 1048576, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
  cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, realtimeRuntime: 1000, realtimePeriod: 10000, cpus: '0-1', mems: '0', idle: 0 },
  pids: { limit: 0 },
  blockIO: {
    weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
  network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] },
  rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
  devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: false, type: 'b', major: 8 }],
};

t.test('v1 mapping: every field, exact files, values and order', async (t) => {
  const { dirs } = scratchV1(t);
  const ws = resourceWrites(dirs, FULL, { linuxDevices: [{ type: 'c', major: 10, minor: 229, path: '/dev/fuse' }, { type: 'p', path: '/dev/fifo' }] });
  t.same(named(dirs, ws), [
    ['cpuset', 'cpuset.cpus', '0-1'],
    ['cpuset', 'cpuset.mems', '0'],
    ['memory', 'memory.limit_in_bytes', '104857600'],
    ['memory', 'memory.memsw.limit_in_bytes', '209715200'],
    ['memory', 'memory.soft_limit_in_bytes', '52428800'],
    ['memory', 'memory.kmem.tcp.limit_in_bytes', '1048576'],
    ['memory', 'memory.swappiness', '10'],
    ['memory', 'memory.oom_control', '1'],
    ['memory', 'memory.use_hierarchy', '1'],
    ['cpu', 'cpu.shares', '512'],
    ['cpu', 'cpu.cfs_period_us', '100000'],
    ['cpu', 'cpu.cfs_quota_us', '50000'],
    ['cpu', 'cpu.cfs_burst_us', '10000'],
    ['cpu', 'cpu.rt_period_us', '10000'],
    ['cpu', 'cpu.rt_runtime_us', '1000'],
    ['cpu', 'cpu.idle', '0'],
    ['pids', 'pids.max', '0'],
    ['blkio', 'blkio.bfq.weight', '500'],
    ['blkio', 'blkio.bfq.weight_device', '8:0 300'],
    ['blkio', 'blkio.throttle.read_bps_device', '8:0 1048576'],
    ['blkio', 'blkio.throttle.write_iops_device', '8:16 100'],
    ['hugetlb', 'hugetlb.2MB.limit_in_bytes', '4194304'],
    ['hugetlb', 'hugetlb.2MB.rsvd.limit_in_bytes', '4194304'],
    ['net_cls', 'net_cls.classid', '1048577'],
    ['net_prio', 'net_prio.ifpriomap', 'eth0 5'],
    ['rdma', 'rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'],
    ['devices', 'devices.deny', 'a'],
    ['devices', 'devices.deny', 'a *:* rwm'],
    ['devices', 'devices.allow', 'c 1:3 rw'],
    ['devices', 'devices.deny', 'b 8:* rwm'],
    ['devices', 'devices.allow', 'c 10:229 rwm'],
    ...defaultDeviceWrites,
  ]);
});

t.test('v1 mapping: defaults, cpuset inheritance, unlimited values', async (t) => {
  const { root, dirs } = scratchV1(t);
  // Nothing configured: cpuset copied from the nearest populated ancestor, then device rules.
  t.same(named(dirs, resourceWrites(dirs, undefined)), [
    ['cpuset', 'cpuset.cpus', '0-3'], ['cpuset', 'cpuset.mems', '0'], ['devices', 'devices.deny', 'a'], ...defaultDeviceWrites,
  ]);
  put(path.join(root, 'cpuset/hull/cpuset.mems'), '1\n'); // an existing, populated parent wins
  t.same(named(dirs, resourceWrites(dirs, { cpu: { cpus: '2' } }, { create: false })), [
    ['cpuset', 'cpuset.cpus', '2'], ['cpuset', 'cpuset.mems', '1'],
  ]);
  // Unlimited: memory -1 implies memsw -1, written first; pids negative is max; quota -1.
  t.same(named(dirs, resourceWrites(dirs, { memory: { limit: -1 }, pids: { limit: -5 }, cpu: { quota: -1 } }, { create: false })), [
    ['cpuset', 'cpuset.cpus', '0-3'], ['cpuset', 'cpuset.mems', '1'],
    ['memory', 'memory.memsw.limit_in_bytes', '-1'], ['memory', 'memory.limit_in_bytes', '-1'],
    ['cpu', 'cpu.cfs_quota_us', '-1'], ['pids', 'pids.max', 'max'],
  ]);
  // runc: 0 means unset for memory; swappiness -1 / 2^64-1 is unset.
  t.same(named(dirs, resourceWrites(dirs, { memory: { limit: 0, swap: 0, swappiness: -1 } }, { create: false })).filter((w) => w[0] === 'memory'), []);
  t.same(named(dirs, resourceWrites(dirs, { memory: { swappiness: 18446744073709551615 } }, { create: false })).filter((w) => w[0] === 'memory'), []);
});

t.test('v1 mapping: errors', async (t) => {
  const { dirs } = scratchV1(t);
  t.throws(() => resourceWrites(dirs, { memory: { limit: 200, swap: 100 } }), /should be >= memory limit/);
  t.throws(() => resourceWrites(dirs, { memory: { swappiness: 101 } }), /swappiness/);
  t.throws(() => resourceWrites(dirs, { unified: { 'memory.high': '1' } }), /unified/);
  t.throws(() => resourceWrites(dirs, { memory: 'x' }), /linux.resources.memory must be an object/);
  t.throws(() => resourceWrites(dirs, { cpu: { shares: 1.5 } }), /cpu.shares must be an integer/);
  t.throws(() => resourceWrites(dirs, { cpu: { cpus: '0;1' } }), /cpus/);
  t.throws(() => resourceWrites(dirs, { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }), /pageSize/);
  t.throws(() => resourceWrites(dirs, { devices: [{ allow: true, type: 'x' }] }), /type/);
  t.throws(() => resourceWrites(dirs, { blockIO: { leafWeight: 10 } }), /leaf_weight/);
  // This host's hybrid layout has no hugetlb, net_cls, net_prio or rdma in v1.
  const host = containerDirs(hybrid, undefined, 'c1', { systemd: false });
  t.throws(() => resourceWrites(host, { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, { create: false }), /"hugetlb" is not mounted/);
  t.throws(() => resourceWrites(host, { network: { classID: 1 } }, { create: false }), /"net_cls" is not mounted/);
  t.throws(() => resourceWrites(host, { rdma: { mlx4_0: { hcaHandles: 1 } } }, { create: false }), /"rdma" is not mounted/);
  // Defaults are fine without the controller.
  const few = scratchV1(t, ['cpu', 'devices']);
  t.same(resourceWrites(few.dirs, { pids: { limit: -1 }, memory: { limit: -1 }, cpu: { quota: -1 } }, { create: false }).map((w) => w.file), ['cpu.cfs_quota_us']);
  t.same(resourceWrites(few.dirs, { pids: { limit: -1 }, memory: { limit: -1, swap: -1 } }, { create: false }), []);
  const noPids = scratchV1(t, ['memory', 'cpu']);
  t.throws(() => resourceWrites(noPids.dirs, { pids: { limit: 10 } }, { create: false }), /"pids" is not mounted/);
  t.throws(() => resourceWrites(noPids.dirs, {}), /"devices" is not mounted/, 'create always needs the device cgroup on v1');
  // Swap accounting off: only unlimited swap is acceptable.
  fs.rmSync(path.join(path.dirname(path.dirname(noPids.dirs.dirs[0]!)), 'memory.memsw.limit_in_bytes'), { force: true });
  t.same(resourceWrites(noPids.dirs, { memory: { limit: 100, swap: -1 } }, { create: false }).map((w) => w.file), ['memory.limit_in_bytes']);
  t.throws(() => resourceWrites(noPids.dirs, { memory: { limit: 100, swap: 200 } }, { create: false }), /swap accounting/);
});

/** Populate a v1 container dir with current values, as a live cgroup would have. */
function liveV1(root: string, files: Record<string, string>): void {
  for (const [f, v] of Object.entries(files)) put(path.join(root, f.split('.')[0] === 'cpu' ? 'cpu' : f.split('.')[0]!, 'hull/c1', f), v + '\n');
}

t.test('update ordering: memory limit <= memsw at every step, burst <= quota', async (t) => {
  const { root, dirs } = scratchV1(t, ['memory', 'cpu']);
  liveV1(root, { 'memory.limit_in_bytes': '100000000', 'memory.memsw.limit_in_bytes': '200000000', 'cpu.cfs_burst_us': '20000' });
  const files = (r: unknown): string[] => resourceWrites(dirs, r, { create: false }).map((w) => `${w.file}=${w.value}`);
  t.same(files({ memory: { limit: 300000000, swap: 400000000 } }), ['memory.memsw.limit_in_bytes=400000000', 'memory.limit_in_bytes=300000000'], 'raising: memsw first');
  t.same(files({ memory: { limit: 50000000, swap: 60000000 } }), ['memory.limit_in_bytes=50000000', 'memory.memsw.limit_in_bytes=60000000'], 'lowering: limit first');
  t.same(files({ memory: { limit: 150000000, swap: 180000000 } }), ['memory.memsw.limit_in_bytes=180000000', 'memory.limit_in_bytes=150000000']);
  t.same(files({ memory: { limit: 50000000, swap: -1 } }), ['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=50000000']);
  t.same(files({ cpu: { quota: 10000, burst: 5000 } }), ['cpu.cfs_burst_us=5000', 'cpu.cfs_quota_us=10000'], 'burst shrinks first');
  t.same(files({ cpu: { quota: 50000, burst: 30000 } }), ['cpu.cfs_quota_us=50000', 'cpu.cfs_burst_us=30000']);
  // Fresh (create): limit then memsw, since both start unlimited.
  fs.rmSync(path.join(root, 'memory/hull'), { recursive: true });
  t.same(files({ memory: { limit: 300000000, swap: 400000000 } }), ['memory.limit_in_bytes=300000000', 'memory.memsw.limit_in_bytes=400000000']);
});

t.test('applyUpdate: writes live, rolls back on failure, names file and value', async (t) => {
  const { root, dirs } = scratchV1(t, ['cpuset', 'memory', 'cpu', 'pids', 'blkio']);
  const leaf = (c: string, f: string): string => path.join(root, c, 'hull/c1', f);
  const initial = {
    'memory.limit_in_bytes': '100000000', 'memory.memsw.limit_in_bytes': '200000000', 'memory.usage_in_bytes': '5000',
    'memory.max_usage_in_bytes': '7000', 'cpu.shares': '1024', 'cpuset.cpus': '0-3', 'cpuset.mems': '0', 'pids.max': 'max',
    'blkio.throttle.read_bps_device': '8:0 100',
  };
  const reset = (): void => liveV1(root, initial);
  reset();
  applyUpdate(dirs, { memory: { limit: 300000000, swap: 400000000 }, cpu: { shares: 256 }, pids: { limit: 50 } });
  t.equal(fs.readFileSync(leaf('memory', 'memory.limit_in_bytes'), 'utf8'), '300000000');
  t.equal(fs.readFileSync(leaf('memory', 'memory.memsw.limit_in_bytes'), 'utf8'), '400000000');
  t.equal(fs.readFileSync(leaf('cpu', 'cpu.shares'), 'utf8'), '256');
  t.equal(fs.readFileSync(leaf('pids', 'pids.max'), 'utf8'), '50');
  t.notOk(fs.existsSync(leaf('devices', 'devices.deny')), 'no device rules on update');

  // pids.max fails (a directory cannot be written): everything before it is restored.
  reset();
  fs.rmSync(leaf('pids', 'pids.max'));
  fs.mkdirSync(leaf('pids', 'pids.max'));
  const message = (f: () => void): string => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  t.match(message(() => applyUpdate(dirs, {
    memory: { limit: 300000000, swap: 400000000 }, cpu: { shares: 256, cpus: '1' },
    pids: { limit: 50 }, blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 5 }, { major: 8, minor: 16, rate: 7 }] },
  })), /^failed to write "50" to .*\/pids\/hull\/c1\/pids\.max: is a directory$/);
  t.equal(fs.readFileSync(leaf('memory', 'memory.limit_in_bytes'), 'utf8'), '100000000', 'limit restored');
  t.equal(fs.readFileSync(leaf('memory', 'memory.memsw.limit_in_bytes'), 'utf8'), '200000000', 'memsw restored');
  t.equal(fs.readFileSync(leaf('cpu', 'cpu.shares'), 'utf8'), '1024', 'shares restored');
  t.equal(fs.readFileSync(leaf('cpuset', 'cpuset.cpus'), 'utf8'), '0-3', 'cpus restored');
  t.equal(fs.readFileSync(leaf('blkio', 'blkio.throttle.read_bps_device'), 'utf8'), '8:0 100\n', 'blkio not reached, untouched');
  fs.rmdirSync(leaf('pids', 'pids.max'));

  // Keyed files: the device's old line comes back, a new device's rule is removed.
  t.equal(restoreValue('blkio.throttle.read_bps_device', '8:0 100\n8:32 9', '8:0 5'), '8:0 100');
  t.equal(restoreValue('blkio.throttle.read_bps_device', '8:0 100', '8:16 7'), '8:16 0');
  t.equal(restoreValue('io.max', '8:0 rbps=1 wbps=max riops=max wiops=max', '8:0 rbps=5'), '8:0 rbps=1 wbps=max riops=max wiops=max');
  t.equal(restoreValue('io.max', '', '8:16 wiops=5'), '8:16 rbps=max wbps=max riops=max wiops=max');
  t.equal(restoreValue('io.weight', 'default 100\n8:0 300', 'default 50'), 'default 100');
  t.equal(restoreValue('net_prio.ifpriomap', 'lo 0\neth0 3', 'eth1 5'), 'eth1 0');
  t.equal(restoreValue('rdma.max', 'mlx4_0 hca_handle=2 hca_object=max', 'mlx4_0 hca_handle=5'), 'mlx4_0 hca_handle=2 hca_object=max');
  t.equal(restoreValue('memory.oom_control', 'oom_kill_disable 0\nunder_oom 0', '1'), '0');
  t.equal(restoreValue('devices.allow', '', 'a'), undefined, 'device rules cannot be read back');
  t.equal(restoreValue('cpu.max', 'max 100000', '5000 100000'), 'max 100000');

  // A failing memory limit gets runc's message with the usage.
  reset();
  fs.rmSync(leaf('memory', 'memory.limit_in_bytes'));
  fs.mkdirSync(leaf('memory', 'memory.limit_in_bytes'));
  t.match(message(() => applyUpdate(dirs, { memory: { limit: 4096 } })),
    /^unable to set memory limit to 4096 \(current usage: 5000, peak usage: 7000\): write .*memory\.limit_in_bytes: is a directory$/);
  fs.rmdirSync(leaf('memory', 'memory.limit_in_bytes'));

  // checkBeforeUpdate refuses before writing anything.
  reset();
  t.throws(() => applyUpdate(dirs, { cpu: { shares: 2 }, memory: { limit: 4096, checkBeforeUpdate: true } }), /rejecting memory limit 4096 below current usage 5000/);
  t.equal(fs.readFileSync(leaf('cpu', 'cpu.shares'), 'utf8'), '1024\n', 'nothing written');
});

t.test('applyWrites: needs existing files, one write per value', async (t) => {
  const { root, dirs } = scratchV1(t, ['pids']);
  fs.mkdirSync(path.join(root, 'pids/hull/c1'), { recursive: true });
  t.throws(() => applyWrites(dirs, [{ index: 0, file: 'pids.max', value: '5' }]), /failed to write "5" to .*pids\.max: no such file or directory/);
  put(path.join(root, 'pids/hull/c1/pids.max'), 'max-long-old-value');
  applyWrites(dirs, [{ index: 0, file: 'pids.max', value: '5' }]);
  t.equal(fs.readFileSync(path.join(root, 'pids/hull/c1/pids.max'), 'utf8'), '5');
  t.throws(() => applyWrites(dirs, [{ index: 0, file: '../x', value: '5' }]), /invalid cgroup file name/);
  t.throws(() => applyWrites(dirs, [{ index: 3, file: 'x', value: '5' }]), /index 3/);
});

function scratchV2(t: Tap.Test): { root: string; dirs: CgroupDirs } {
  const root = scratch(t);
  const h: Hierarchy = { kind: 'v2', controllers: [], mountpoint: root, root: '/' };
  put(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma\n');
  put(path.join(root, 'cgroup.subtree_control'), '');
  return { root, dirs: containerDirs({ mode: 'v2', hierarchies: [h] }, '/pod/c1', 'c1', { systemd: false }) };
}

t.test('v2 mapping: every field, exact files and values', async (t) => {
  const { root, dirs } = scratchV2(t);
  const r = {
    ...FULL,
    memory: { limit: 104857600, reservation: 52428800, swap: 209715200, kernel: 1, kernelTCP: 2, useHierarchy: true },
    cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, cpus: '0-1', mems: '0', idle: 0 },
    network: undefined,
    unified: { 'memory.high': '90000000', 'cgroup.max.depth': '3' },
  };
  const expected: [string, string, string][] = [
    ['v2', 'memory.swap.max', '104857600'],
    ['v2', 'memory.max', '104857600'],
    ['v2', 'memory.low', '52428800'],
    ['v2', 'cpu.idle', '0'],
    ['v2', 'cpu.weight', '59'],
    ['v2', 'cpu.max', '50000 100000'],
    ['v2', 'cpu.max.burst', '10000'],
    ['v2', 'cpuset.cpus', '0-1'],
    ['v2', 'cpuset.mems', '0'],
    ['v2', 'pids.max', '0'],
    ['v2', 'io.weight', 'default 4950'],
    ['v2', 'io.weight', '8:0 2930'],
    ['v2', 'io.max', '8:0 rbps=1048576'],
    ['v2', 'io.max', '8:16 wiops=100'],
    ['v2', 'hugetlb.2MB.max', '4194304'],
    ['v2', 'hugetlb.2MB.rsvd.max', '4194304'],
    ['v2', 'rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'],
    ['v2', 'memory.high', '90000000'],
    ['v2', 'cgroup.max.depth', '3'],
  ];
  t.same(named(dirs, resourceWrites(dirs, r)), expected, 'no device writes on v2 (eBPF is separate)');
  // BFQ present in the (non-root) parent: io.bfq.weight with blkio's own range.
  put(path.join(root, 'pod/io.bfq.weight'), 'default 100\n');
  const bfq = named(dirs, resourceWrites(dirs, { blockIO: FULL.blockIO }));
  t.same(bfq.slice(0, 2), [['v2', 'io.bfq.weight', '500'], ['v2', 'io.bfq.weight', '8:0 300']]);
  t.same(named(dirs, resourceWrites(dirs, { blockIO: { throttleReadBpsDevice: [{ major: 1, minor: 2, rate: 0 }] } })), [['v2', 'io.max', '1:2 rbps=max']]);
  t.same(named(dirs, resourceWrites(dirs, { cpu: { quota: -1, period: 20000, shares: 1024, idle: 1 } })), [
    ['v2', 'cpu.idle', '1'], ['v2', 'cpu.max', 'max 20000'],
  ], 'idle cgroups get no weight');
  t.same(named(dirs, resourceWrites(dirs, { cpu: { quota: 30000, shares: 1024 } })), [['v2', 'cpu.weight', '100'], ['v2', 'cpu.max', '30000']]);
  t.same(named(dirs, resourceWrites(dirs, { memory: { limit: -1 }, pids: { limit: -1 } })), [
    ['v2', 'memory.swap.max', 'max'], ['v2', 'memory.max', 'max'], ['v2', 'pids.max', 'max'],
  ]);
  t.same(named(dirs, resourceWrites(dirs, { memory: { limit: 1000, swap: -1 } })), [['v2', 'memory.swap.max', 'max'], ['v2', 'memory.max', '1000']]);
});

t.test('v2 mapping: conversions and errors', async (t) => {
  t.same([2, 3, 512, 1024, 2048, 262144, 300000].map(sharesToWeight), [1, 2, 59, 100, 174, 10000, 10000]);
  t.same([10, 500, 1000].map(blkioToIOWeight), [1, 4950, 10000]);
  const { dirs } = scratchV2(t);
  t.throws(() => resourceWrites(dirs, { cpu: { realtimeRuntime: 100 } }), /realtime.* not supported on cgroup v2/);
  t.throws(() => resourceWrites(dirs, { memory: { swappiness: 60 } }), /swappiness is not supported on cgroup v2/);
  t.throws(() => resourceWrites(dirs, { memory: { disableOOMKiller: true } }), /disableOOMKiller/);
  t.throws(() => resourceWrites(dirs, { memory: { useHierarchy: false } }), /useHierarchy/);
  t.throws(() => resourceWrites(dirs, { memory: { swap: 100 } }), /without memory.limit/);
  t.throws(() => resourceWrites(dirs, { memory: { limit: 200, swap: 100 } }), /should be >= memory limit/);
  t.throws(() => resourceWrites(dirs, { network: { classID: 1 } }), /not supported on cgroup v2/);
  t.throws(() => resourceWrites(dirs, { blockIO: { leafWeight: 10 } }), /leafWeight/);
  for (const k of ['cgroup.procs', '../memory.max', 'memory.max/x', 'cgroup.kill', 'nodot']) {
    t.throws(() => resourceWrites(dirs, { unified: { [k]: '1' } }), /unified: invalid key/, k);
  }
  t.same(resourceWrites(dirs, { devices: [{ allow: false, access: 'rwm' }] }), [], 'devices: no v2 writes');
});

t.test('prepareParents: cpuset v1 ancestors populated, v2 controllers enabled', async (t) => {
  const v1 = scratchV1(t, ['cpuset', 'pids']);
  const cpusetDirs: CgroupDirs = { hierarchies: v1.dirs.hierarchies, dirs: v1.dirs.dirs.map((d) => d.replace('/hull/c1', '/a/b/c1')) };
  const created = prepareParents(cpusetDirs);
  t.same(created.map((d) => path.relative(v1.root, d)), ['cpuset/a', 'cpuset/a/b', 'pids/a', 'pids/a/b']);
  t.equal(fs.readFileSync(path.join(v1.root, 'cpuset/a/b/cpuset.cpus'), 'utf8'), '0-3');
  t.equal(fs.readFileSync(path.join(v1.root, 'cpuset/a/b/cpuset.mems'), 'utf8'), '0');
  t.notOk(fs.existsSync(path.join(v1.root, 'cpuset/a/b/c1')), 'the container dir is the bootstrap\'s');
  t.same(prepareParents(cpusetDirs), [], 'idempotent');
  const v2 = scratchV2(t);
  prepareParents(v2.dirs);
  t.equal(fs.readFileSync(path.join(v2.root, 'cgroup.subtree_control'), 'utf8'), '+cpuset +cpu +io +memory +hugetlb +pids +rdma');
  t.ok(fs.existsSync(path.join(v2.root, 'pod')));
  t.notOk(fs.existsSync(path.join(v2.root, 'pod/c1')));
});

t.test('removeDirs and readPids on a scratch tree', async (t) => {
  const { root, dirs } = scratchV1(t, ['pids', 'memory']);
  for (const d of dirs.dirs) fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
  put(path.join(dirs.dirs[0]!, 'cgroup.procs'), '12\n7\n');
  put(path.join(dirs.dirs[0]!, 'sub/cgroup.procs'), '7\n30\n');
  put(path.join(dirs.dirs[1]!, 'cgroup.procs'), '12\n');
  t.same(readPids(dirs), [7, 12, 30], 'sub-cgroups included, deduplicated, sorted');
  for (const d of dirs.dirs) fs.rmSync(path.join(d, 'cgroup.procs'), { force: true });
  fs.rmSync(path.join(dirs.dirs[0]!, 'sub/cgroup.procs'));
  fs.mkdirSync(path.join(root, 'memory/hull/other'));
  removeDirs(dirs, 1000);
  t.notOk(fs.existsSync(dirs.dirs[0]!));
  t.notOk(fs.existsSync(path.join(root, 'pids/hull')), 'empty default parent removed');
  t.ok(fs.existsSync(path.join(root, 'memory/hull/other')), 'a parent still in use stays');
  removeDirs(dirs, 1000); // already gone: fine
  t.same(readPids(dirs), []);
});
