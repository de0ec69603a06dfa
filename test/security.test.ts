// Unit tests of lib/security.ts and the seccomp planning: spec fields -> plan records 50-58, and the
// refusals that happen before anything is created.
import t from 'tap';
import { decodePlan, encodePlan, PlanRecord } from '../lib/plan';
import { deviceProgramRecords, linuxSecurityRecords, processSecurityRecords } from '../lib/security';
import { listenerState, seccompRecords } from '../lib/seccomp';
import { HullError } from '../lib/errors';

/** The payload of each record, decoded by type, through the real encoder and decoder. */
function roundTrip(records: PlanRecord[]): { type: number; payload: Buffer }[] {
  return decodePlan(encodePlan(records));
}
const u32s = (b: Buffer, n: number) => Array.from({ length: n }, (_, i) => b.readUInt32LE(i * 4));

t.test('scheduler', async (t) => {
  const [r] = roundTrip(processSecurityRecords({ scheduler: { policy: 'SCHED_DEADLINE', runtime: 10, deadline: 20, period: 30, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'] } }));
  t.equal(r.type, 52, 'record 52');
  t.same(u32s(r.payload, 4), [6, 0, 0, 0x05], 'policy 6, nice 0, priority 0, flags RESET_ON_FORK|DL_OVERRUN');
  t.same([r.payload.readBigUInt64LE(16), r.payload.readBigUInt64LE(24), r.payload.readBigUInt64LE(32)], [10n, 20n, 30n], 'runtime deadline period');
  const [n] = roundTrip(processSecurityRecords({ scheduler: { policy: 'SCHED_OTHER', nice: -5 } }));
  t.equal(n.payload.readInt32LE(4), -5, 'negative nice survives');
  for (const flag of ['SCHED_FLAG_RECLAIM', 'SCHED_FLAG_KEEP_POLICY', 'SCHED_FLAG_KEEP_PARAMS', 'SCHED_FLAG_UTIL_CLAMP_MIN', 'SCHED_FLAG_UTIL_CLAMP_MAX']) {
    t.doesNotThrow(() => processSecurityRecords({ scheduler: { policy: 'SCHED_BATCH', flags: [flag] } }), flag);
  }
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_NOPE' } }), /scheduler.policy: unknown value "SCHED_NOPE"/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_ISO' } }), /SCHED_ISO is not implemented/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_FIFO' } }), /priority must be between 1 and 99/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_OTHER', priority: 3 } }), /priority must be 0/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_OTHER', nice: 20 } }), /nice must be between -20 and 19/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_X'] } }), /unknown value "SCHED_FLAG_X"/);
  t.throws(() => processSecurityRecords({ scheduler: { policy: 'SCHED_OTHER', nice: 20 } }, 'exec'), /^exec: /, 'exec prefixes its errors');
});

t.test('ioPriority, execCPUAffinity', async (t) => {
  const [io] = roundTrip(processSecurityRecords({ ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 4 } }));
  t.same([io.type, ...u32s(io.payload, 2)], [53, 1, 4], 'record 53: class RT, 4');
  t.throws(() => processSecurityRecords({ ioPriority: { class: 'IOPRIO_CLASS_NONE' } }), /ioPriority.class/);
  t.throws(() => processSecurityRecords({ ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 8 } }), /between 0 and 7/);
  const [a] = roundTrip(processSecurityRecords({ execCPUAffinity: { initial: '0-3, 7', final: '1' } }));
  t.equal(a.type, 55, 'record 55');
  t.equal(a.payload.toString(), '0-3,7\u00001\u0000', 'lists, whitespace removed');
  t.same(processSecurityRecords({ execCPUAffinity: {} }), [], 'empty: nothing');
  t.throws(() => processSecurityRecords({ execCPUAffinity: { final: '3-1' } }), /backwards/);
  t.throws(() => processSecurityRecords({ execCPUAffinity: { initial: 'all' } }), /not a list/);
});

t.test('personality, memoryPolicy', async (t) => {
  const [p] = roundTrip(linuxSecurityRecords({ personality: { domain: 'LINUX32' } }));
  t.same([p.type, p.payload.readUInt32LE(0)], [54, 8], 'record 54: PER_LINUX32');
  t.throws(() => linuxSecurityRecords({ personality: { domain: 'LINUX', flags: ['X'] } }), /no flags are supported/);
  t.throws(() => linuxSecurityRecords({ personality: { domain: 'BSD' } }), /personality.domain/);
  const [m] = roundTrip(linuxSecurityRecords({ memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] } }));
  t.same([m.type, ...u32s(m.payload, 2)], [56, 3, 1 << 15], 'record 56: interleave, static');
  t.equal(m.payload.subarray(8).toString(), '0-1\u0000', 'nodes');
  const [l] = roundTrip(linuxSecurityRecords({ memoryPolicy: { mode: 'MPOL_LOCAL' } }));
  t.equal(l.payload.subarray(8).toString(), '\u0000', 'no nodes: empty');
  t.throws(() => linuxSecurityRecords({ memoryPolicy: { mode: 'MPOL_FAST' } }), /memoryPolicy.mode/);
  t.throws(() => linuxSecurityRecords({ memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_X'] } }), /memoryPolicy.flags/);
});

t.test('LSM fields: AppArmor profile refused, labels ignored', async (t) => {
  t.throws(() => processSecurityRecords({ apparmorProfile: 'p' }), HullError);
  t.throws(() => processSecurityRecords({ apparmorProfile: 'p' }), /apparmor profile "p"/);
  t.same(processSecurityRecords({ selinuxLabel: 'system_u:system_r:container_t:s0' }), [], 'selinuxLabel: no record, no error');
  t.same(linuxSecurityRecords({ mountLabel: 'system_u:object_r:container_file_t:s0' }), [], 'mountLabel: no record, no error');
});

t.test('device program records', async (t) => {
  const recs = roundTrip(deviceProgramRecords(2, [
    { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'b', major: 8, minor: -1, access: 'm' },
    { allow: true, type: 'c', major: 5, minor: 0, access: '' }, // no access: dropped
  ]));
  t.same(recs.map((r) => r.type), [57, 58, 58, 58], 'one program, three rules');
  t.equal(recs[0].payload.readUInt32LE(0), 2, 'cgroup index');
  t.same(u32s(recs[1].payload, 5), [0, 0x61, 0xffffffff, 0xffffffff, 7], 'deny a *:* rwm');
  t.same(u32s(recs[2].payload, 5), [1, 0x63, 1, 3, 6], 'allow c 1:3 rw');
  t.same(u32s(recs[3].payload, 5), [1, 0x62, 8, 0xffffffff, 1], 'allow b 8:* m');
});

t.test('seccomp: listener state, cache dir, notify without state', async (t) => {
  const s = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/l.sock', listenerMetadata: 'm "pid":0', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  const st = listenerState(s, { id: 'c1', bundle: '/b', annotations: { pid: '0', k: 'v' } });
  const parsed = JSON.parse(st);
  t.same(parsed.fds, ['seccompFd'], 'fds');
  t.equal(parsed.metadata, 'm "pid":0', 'metadata');
  t.same(parsed.state, { ociVersion: parsed.ociVersion, id: 'c1', status: 'creating', pid: 0, bundle: '/b', annotations: { pid: '0', k: 'v' } }, 'state');
  t.equal(st.match(/"pid":0[,}]/g)?.length, 2, 'exactly the two pid fields match the bootstrap\'s pattern');
  const recs = roundTrip(seccompRecords(s, { state: { id: 'c1', bundle: '/b' }, cacheDir: '/run/hull-cache/seccomp' }));
  t.same(recs.map((r) => r.type), [30, 50, 51, 32], 'SECCOMP, LISTENER_STATE, CACHE, RULE');
  t.equal(recs[2].payload.toString(), '/run/hull-cache/seccomp\u0000', 'cache dir');
  t.throws(() => seccompRecords(s), /needs the container state/, 'notify needs the state');
  t.same(seccompRecords({ defaultAction: 'SCMP_ACT_ALLOW' }).map((r) => r.type), [30], 'no notify, no cache: only SECCOMP');
});

t.test('planner: the device program only on a v2-only host; a bound /dev gets no nodes; the seccomp cache dir', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { buildPlan } = await import('../lib/planner');
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-security-plan-'));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  const spec = (extra: Record<string, unknown> = {}) => ({
    ociVersion: '1.3.0', root: { path: 'rootfs' },
    process: { cwd: '/', args: ['true'] },
    linux: { namespaces: [{ type: 'mount' }], resources: { devices: [{ allow: false, access: 'rwm' }] }, seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } },
    ...extra,
  });
  const plan = (cgroups: any, s = spec()) => buildPlan({
    id: 'c1', spec: s, bundle, fifo: '/run/hull-x/c1/exec.fifo', cgroups, cgroupWrites: [], noPivot: false,
    noNewKeyring: false, preserveFds: 0, debug: false, warn: () => undefined,
  }).records;
  const v2only = { hierarchies: [{ kind: 'v2', controllers: [], mountpoint: '/sys/fs/cgroup', root: '/' }], dirs: ['/sys/fs/cgroup/c1'] };
  const hybrid = {
    hierarchies: [{ kind: 'v1', controllers: ['devices'], mountpoint: '/sys/fs/cgroup/devices', root: '/' },
      { kind: 'v2', controllers: [], mountpoint: '/sys/fs/cgroup/unified', root: '/' }],
    dirs: ['/sys/fs/cgroup/devices/c1', '/sys/fs/cgroup/unified/c1'],
  };
  const r2 = roundTrip(plan(v2only));
  const prog = r2.filter((r) => r.type === 57);
  t.equal(prog.length, 1, 'v2-only: a device program');
  t.equal(prog[0]?.payload.readUInt32LE(0), 0, 'on the only (v2) dir');
  const rules = r2.filter((r) => r.type === 58);
  t.same(u32s(rules[0].payload, 5), [0, 0x61, 0xffffffff, 0xffffffff, 7], 'the config\'s deny-all comes first');
  t.ok(rules.length > 5, 'then the default allow rules');
  t.equal(roundTrip(plan(hybrid)).filter((r) => r.type === 57 || r.type === 58).length, 0, 'hybrid: none (the v1 files enforce)');
  const cache = r2.find((r) => r.type === 51);
  t.equal(cache?.payload.toString(), '/run/hull-cache/seccomp\u0000', 'seccomp cache outside the root (as root)');

  const devs = (s: any) => roundTrip(plan(hybrid, s)).filter((r) => r.type === 14 || r.type === 15).length;
  t.ok(devs(spec()) >= 10, 'default nodes and links');
  t.equal(devs(spec({ mounts: [{ destination: '/dev', type: 'bind', source: bundle, options: ['rbind'] }] })), 0, 'a bound /dev: none');
  t.equal(devs(spec({ mounts: [{ destination: 'dev', source: bundle, options: ['bind'] }] })), 0, 'a bound /dev by a relative destination: none');
});

t.test('sysctl namespaces', async (t) => {
  const { checkSysctlNamespaces, sysctlNamespace } = await import('../lib/security');
  t.equal(sysctlNamespace('net.ipv4.ip_forward'), 'network');
  t.equal(sysctlNamespace('net/ipv4/conf/eth0.100/forwarding'), 'network', 'slashes');
  t.equal(sysctlNamespace('kernel.shm_rmid_forced'), 'ipc');
  t.equal(sysctlNamespace('fs.mqueue.msg_max'), 'ipc');
  t.equal(sysctlNamespace('kernel.domainname'), 'uts');
  t.equal(sysctlNamespace('kernel.pid_max'), undefined);
  t.doesNotThrow(() => checkSysctlNamespaces({ 'net.ipv4.ip_forward': '1' }, { network: '' }), 'a new network ns');
  t.throws(() => checkSysctlNamespaces({ 'net.ipv4.ip_forward': '1' }, { network: '/proc/self/ns/net' }), /host's network namespace/, 'the host\'s, by path');
  t.throws(() => checkSysctlNamespaces({ 'kernel.sem': '1' }, { network: '' }), /needs an ipc namespace/);
  t.throws(() => checkSysctlNamespaces({ 'vm.swappiness': '1' }, { network: '' }), /not namespaced/);
});
