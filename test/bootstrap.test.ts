// Drives build/Release/hull-bootstrap directly with plans from lib/plan.ts, and tests the addon.
// Needs root, the built native core (`npm run build:native`), /bin/busybox and cgroup v1 controllers.
import t from 'tap';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodePlan, rec, Rec, str, u32, u64, i32, PlanRecord } from '../lib/plan';
import {
  BOOTSTRAP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, killInit, makeRootfs as makeBusyboxRootfs,
  MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, native, rand, releaseFifo, runBootstrap,
} from './lib/bootstrap';

const RLIMIT_NOFILE = 7;

const makeRootfs = () => makeBusyboxRootfs('hull-bootstrap-test-', 'root:x:0:0:root:/root:/bin/sh\n');

function header(magic: number, version: number, total: number, count: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(magic, 0); h.writeUInt16LE(version, 4); h.writeUInt32LE(total, 8); h.writeUInt32LE(count, 12);
  return h;
}

/** A record with a raw payload (for malformed plans the encoder would refuse to build). */
function rawRecord(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(type, 0); h.writeUInt32LE(payload.length, 4);
  return Buffer.concat([h, payload]);
}
function rawPlan(records: Buffer[]): Buffer {
  const body = Buffer.concat(records);
  return Buffer.concat([header(0x504c5548, 1, 16 + body.length, records.length), body]);
}

function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

function hostMountsMention(s: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(s);
}

/** Records every container plan here shares; `args` is the shell script the container runs. */
function basePlan(rootfs: string, dir: string, script: string, extra: PlanRecord[] = []): PlanRecord[] {
  return [
    rec(Rec.ROOTFS, str(rootfs)),
    rec(Rec.NAMESPACE, u32(CLONE_NEWNS), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWPID), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWUTS), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWIPC), str('')),
    rec(Rec.MOUNT, u32(MS_NOSUID | MS_NOEXEC | MS_NODEV), u32(0), u32(0), str('proc'), str('proc'), str('/proc'), str('')),
    rec(Rec.MOUNT, u32(MS_NOSUID), u32(0), u32(0), str('tmpfs'), str('tmpfs'), str('/dev'), str('mode=755,size=65536k')),
    rec(Rec.MOUNT, u32(MS_NOSUID | MS_NOEXEC), u32(0), u32(0), str('devpts'), str('devpts'), str('/dev/pts'),
      str('newinstance,ptmxmode=0666,mode=0620')),
    rec(Rec.DEVICE, u32(0x63), u32(1), u32(3), u32(0o666), u32(0), u32(0), u32(0), str('/dev/null')),
    rec(Rec.DEVICE, u32(0x63), u32(1), u32(5), u32(0o666), u32(0), u32(0), u32(0), str('/dev/zero')),
    rec(Rec.SYMLINK, str('pts/ptmx'), str('/dev/ptmx')),
    rec(Rec.SYMLINK, str('/proc/self/fd'), str('/dev/fd')),
    ...extra,
    rec(Rec.ARG, str('/bin/sh')), rec(Rec.ARG, str('-c')), rec(Rec.ARG, str(script)),
    rec(Rec.ENV, str('PATH=/usr/sbin:/usr/bin:/sbin:/bin')),
    rec(Rec.EXEC_FIFO, str(path.join(dir, 'exec.fifo'))),
    rec(Rec.CONTAINER_ID, str('hull-test-' + rand())),
  ];
}

native.setChildSubreaper(); // containers' inits are re-parented to this test process

t.test('plan validation', async (t) => {
  const valid = encodePlan([rec(Rec.ROOTFS, str('/nonexistent')), rec(Rec.ARG, str('true'))]);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /^plan: shorter than its header/],
    ['bad magic', Buffer.concat([header(0x12345678, 1, 16, 0)]), /^plan: bad magic/],
    ['bad version', header(0x504c5548, 2, 16, 0), /^plan: unsupported version 2/],
    ['truncated', valid.subarray(0, valid.length - 3), /^plan: total length/],
    ['total length lies', Buffer.concat([header(0x504c5548, 1, 17, 0), Buffer.alloc(1)]), /^plan: .*trailing bytes/],
    ['record past the end', rawPlan([rawRecord(1, Buffer.from('/\0'))]).subarray(0, 16 + 8 + 1), /^plan: total length/],
    ['oversized', Buffer.concat([header(0x504c5548, 1, (4 << 20) + 16, 1), Buffer.alloc(4 << 20)]), /^plan: total length \d+ exceeds/],
    ['too many records', header(0x504c5548, 1, 16, 65537), /^plan: 65537 records/],
    ['unterminated string', rawPlan([rawRecord(1, Buffer.from('/rootfs'))]), /^plan: unterminated string \(rootfs\) \(record 0\)/],
    ['trailing bytes in record', rawPlan([rawRecord(1, Buffer.from('/r\0x\0'))]), /^plan: 2 trailing bytes in record \(record 0\)/],
    ['unknown record type', rawPlan([rawRecord(99, Buffer.alloc(0))]), /^plan: unknown record type 99 \(record 0\)/],
    ['truncated u32', rawPlan([rawRecord(1, Buffer.from('/\0')), rawRecord(22, Buffer.alloc(2))]), /^plan: truncated u32 \(record 1\)/],
    ['relative rootfs', encodePlan([rec(Rec.ROOTFS, str('rootfs')), rec(Rec.ARG, str('x'))]), /^plan: rootfs rootfs is not absolute/],
    ['no args', encodePlan([rec(Rec.ROOTFS, str('/r'))]), /^plan: no ARG record/],
    ['uid_map over 4096 bytes', encodePlan([rec(Rec.ROOTFS, str('/r')), rec(Rec.UID_MAP, str('0 0 1\n'.repeat(700))), rec(Rec.ARG, str('x'))]),
      /^plan: uid_map is 4200 bytes \(max 4096\) \(record 1\)/],
    ['path over PATH_MAX', encodePlan([rec(Rec.ROOTFS, str('/' + 'a'.repeat(5000))), rec(Rec.ARG, str('x'))]), /^plan: rootfs is 5001 bytes/],
    ['1025 args', encodePlan([rec(Rec.ROOTFS, str('/r')), ...Array.from({ length: 1025 }, () => rec(Rec.ARG, str('x')))]), /^plan: 1025 args \(max 1024\)/],
    ['cgroup write index', encodePlan([rec(Rec.ROOTFS, str('/r')), rec(Rec.CGROUP_WRITE, u32(0), str('pids.max'), str('1')), rec(Rec.ARG, str('x'))]),
      /^plan: cgroup write index 0 but 0 cgroups/],
    ['cgroup file with a slash', encodePlan([rec(Rec.ROOTFS, str('/r')), rec(Rec.CGROUP, str('/sys/fs/cgroup/pids/x')),
      rec(Rec.CGROUP_WRITE, u32(0), str('../pids.max'), str('1')), rec(Rec.ARG, str('x'))]), /^plan: bad cgroup file name/],
  ];
  for (const [name, plan, re] of cases) {
    const r = await runBootstrap(plan);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.equal(r.lines.length, 1, `${name}: one report line`);
    t.match(r.error ?? r.lines.join('|'), re, name);
  }
});

t.test('busybox container: namespaces, cgroups, mounts, fifo barrier', async (t) => {
  const { dir, rootfs } = makeRootfs();
  const name = 'hull-bootstrap-test-' + rand();
  const cgMem = `/sys/fs/cgroup/memory/${name}`, cgPids = `/sys/fs/cgroup/pids/${name}`;
  const out = path.join(dir, 'out');
  const outFd = fs.openSync(out, 'w');
  let pid: number | undefined;
  t.teardown(async () => {
    await killInit(pid);
    for (const d of [cgMem, cgPids]) try { fs.rmdirSync(d); } catch { /* already gone */ }
    rmrf(dir);
  });
  const capsKept = (1n << 0n) | (1n << 1n) | (1n << 5n) | (1n << 21n); // chown, dac_override, kill, sys_admin
  const script = [
    'echo pid=$$', 'echo host=$(hostname)', 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)" /proc/self/status',
    'echo nofile=$(ulimit -n)', 'cat /proc/self/cgroup', 'echo mounts:', 'cat /proc/self/mountinfo',
    'echo ro=$(touch /proc/sys/kernel/hostname 2>/dev/null; echo $?)', 'echo keys=$(wc -c < /proc/keys)',
    'echo acpi=$(ls /proc/acpi | wc -l)', 'echo fds=$(ls /proc/self/fd | tr "\\n" " ")', 'echo cwd=$(pwd)',
    'echo umask=$(umask)', 'ls -l /dev/null',
  ].join('; ');
  const plan = encodePlan(basePlan(rootfs, dir, script, [
    rec(Rec.CGROUP, str(cgMem)), rec(Rec.CGROUP, str(cgPids)),
    rec(Rec.CGROUP_WRITE, u32(0), str('memory.limit_in_bytes'), str(String(64 << 20))),
    rec(Rec.CGROUP_WRITE, u32(1), str('pids.max'), str('50')),
    rec(Rec.MASKED_PATH, str('/proc/keys')), rec(Rec.MASKED_PATH, str('/proc/acpi')),
    rec(Rec.MASKED_PATH, str('/proc/does-not-exist')),
    rec(Rec.READONLY_PATH, str('/proc/sys')),
    rec(Rec.HOSTNAME, str('hulltest')),
    rec(Rec.CAPS, u64(capsKept), u64(capsKept), u64(capsKept), u64(0), u64(0)),
    rec(Rec.RLIMIT, u32(RLIMIT_NOFILE), u64(512), u64(512)),
    rec(Rec.OOM_SCORE_ADJ, i32(500)),
    rec(Rec.USER, u32(0), u32(0), u32(0o027), u32(0)),
    rec(Rec.CWD, str('/tmp/work')),
    rec(Rec.NO_NEW_PRIVS),
    rec(Rec.DEBUG),
  ]));
  const r = await runBootstrap(plan, outFd);
  fs.closeSync(outFd);
  t.equal(r.code, 0, 'bootstrap exits 0');
  t.ok(r.ok && r.ok > 0, `report ends with ok <pid>: ${r.lines.join(' | ')}`);
  t.match(r.lines[r.lines.length - 1], /^ok \d+$/, 'ok is the last line');
  t.ok(r.lines.some((l) => l.startsWith('debug ')), 'DEBUG gives debug lines');
  pid = r.ok;
  if (!pid) return;

  // Created, not started: the init waits on the fifo.
  t.equal(native.waitpidNoHang(pid), null, 'init is alive');
  await new Promise((res) => setTimeout(res, 100));
  t.equal(fs.readFileSync(out, 'utf8'), '', 'nothing ran before start');
  t.equal(fs.readFileSync(`${cgPids}/tasks`, 'utf8').trim(), String(pid), 'init is in the pids cgroup');
  t.equal(fs.readFileSync(`${cgMem}/memory.limit_in_bytes`, 'utf8').trim(), String(64 << 20), 'memory limit written');
  t.equal(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '500', 'oom_score_adj');
  t.equal(fs.statSync(`/proc/${pid}/status`).uid, 0, 'init is non-dumpable (root-owned /proc entries)');
  t.not(fs.readlinkSync(`/proc/${pid}/exe`), BOOTSTRAP, 'init does not run from the host binary');
  t.match(fs.readlinkSync(`/proc/${pid}/exe`), /memfd:hull-bootstrap/, 'init runs from the sealed memfd');

  releaseFifo(path.join(dir, 'exec.fifo'));
  const st = await native.waitpid(pid);
  pid = undefined;
  const text = fs.readFileSync(out, 'utf8');
  t.same(st, { code: 0, signal: null }, `container exited 0: ${text}`);
  t.match(text, /^pid=1$/m, 'pid 1 in a new pid namespace');
  t.match(text, /^host=hulltest$/m, 'hostname');
  t.match(text, /^CapInh:\s+0000000000000000$/m, 'no inheritable caps');
  t.match(text, /^CapBnd:\s+0000000000200023$/m, 'bounding set as given');
  t.match(text, /^CapEff:\s+0000000000200023$/m, 'effective set as given');
  t.match(text, /^NoNewPrivs:\s+1$/m, 'no_new_privs');
  t.match(text, /^nofile=512$/m, 'rlimit');
  t.match(text, new RegExp(`^\\d+:memory:/${name}$`, 'm'), 'memory cgroup joined');
  t.match(text, new RegExp(`^\\d+:pids:/${name}$`, 'm'), 'pids cgroup joined');
  t.match(text, / \/ rw,/, 'root is mounted');
  t.match(text, / \/proc rw,nosuid,nodev,noexec/, 'proc mounted');
  t.match(text, / \/dev\/pts rw,nosuid,noexec/, 'devpts mounted');
  t.match(text, /^ro=1$/m, '/proc/sys is read-only');
  t.match(text, /^keys=0$/m, '/proc/keys masked by /dev/null');
  t.match(text, /^acpi=0$/m, '/proc/acpi masked by an empty tmpfs');
  t.match(text, /^fds=0 1 2 3$/m, 'only stdio (+ the fd ls opens) reach the process');
  t.match(text, /^cwd=\/tmp\/work$/m, 'cwd created and entered');
  t.match(text, /^umask=0027$/m, 'umask');
  t.match(text, /^crw-rw-rw-\s+1 root\s+0\s+1,\s+3 .* \/dev\/null$/m, '/dev/null made by mknod');
  t.notOk(hostMountsMention(rootfs), 'no mount left on the host');
});

t.test('a mount through a symlink pointing outside the rootfs stays inside', async (t) => {
  const { dir, rootfs } = makeRootfs();
  const escape = path.join(os.tmpdir(), 'hull-escape-' + rand());
  const out = path.join(dir, 'out');
  const outFd = fs.openSync(out, 'w');
  let pid: number | undefined;
  t.teardown(async () => { await killInit(pid); rmrf(escape); rmrf(dir); });
  fs.symlinkSync(escape, path.join(rootfs, 'abs'));                   // absolute, outside
  fs.symlinkSync('../../../../../../..' + escape, path.join(rootfs, 'rel')); // relative, climbing out
  const plan = encodePlan(basePlan(rootfs, dir, `grep -E " (${escape}/a|${escape}/b/c) " /proc/self/mountinfo | wc -l; ls -d ${escape}/b/c`, [
    rec(Rec.MOUNT, u32(0), u32(0), u32(0), str('tmpfs'), str('tmpfs'), str('/abs/a'), str('')),
    rec(Rec.MOUNT, u32(0), u32(0), u32(0), str('tmpfs'), str('tmpfs'), str('/rel/b/c'), str('')),
  ]));
  const r = await runBootstrap(plan, outFd);
  fs.closeSync(outFd);
  t.equal(r.code, 0, `created: ${r.lines.join(' | ')}`);
  pid = r.ok;
  t.notOk(fs.existsSync(escape), 'nothing was created on the host');
  t.ok(fs.existsSync(path.join(rootfs, escape, 'a')), 'mount point created inside the rootfs');
  t.notOk(hostMountsMention(escape), 'no host mount at the escape path');
  if (!pid) return;
  releaseFifo(path.join(dir, 'exec.fifo'));
  const st = await native.waitpid(pid);
  pid = undefined;
  t.same(st, { code: 0, signal: null }, 'container ran');
  t.match(fs.readFileSync(out, 'utf8'), new RegExp(`^2\\n${escape}/b/c\\n$`), 'both mounts landed in-root');
});

t.test('failures are reported after a full rollback', async (t) => {
  const { dir, rootfs } = makeRootfs();
  const name = 'hull-bootstrap-test-' + rand();
  const existing = `/sys/fs/cgroup/pids/${name}`;
  const created = `${existing}/a/b`;
  const cgMem = `/sys/fs/cgroup/memory/${name}`;
  fs.mkdirSync(existing); // pre-existing: must survive the rollback
  t.teardown(() => {
    for (const d of [created, `${existing}/a`, existing, cgMem]) try { fs.rmdirSync(d); } catch { /* gone */ }
    rmrf(dir);
  });
  const run = (extra: PlanRecord[], args?: string[]) => {
    const recs = basePlan(rootfs, dir, 'true', [rec(Rec.CGROUP, str(created)), rec(Rec.CGROUP, str(cgMem)), ...extra]);
    const plan = args ? recs.filter((r) => r.type !== Rec.ARG).concat(args.map((a) => rec(Rec.ARG, str(a)))) : recs;
    return runBootstrap(encodePlan(plan)).then(async (r) => { await killInit(r.ok); return r; }); // unexpected success
  };
  const checkClean = (what: string) => {
    t.notOk(fs.existsSync(`${existing}/a`), `${what}: created cgroup dirs removed`);
    t.notOk(fs.existsSync(cgMem), `${what}: created memory cgroup removed`);
    t.ok(fs.existsSync(existing), `${what}: pre-existing cgroup dir kept`);
    t.notOk(hostMountsMention(rootfs), `${what}: no mount left`);
  };
  const hard = Number(execFileSync('/bin/sh', ['-c', 'ulimit -Hn']).toString().trim());
  let r = await run([rec(Rec.RLIMIT, u32(RLIMIT_NOFILE), u64(hard + 1), u64(hard + 1))]);
  t.equal(r.code, 1, 'exit 1');
  t.equal(r.error, 'setrlimit RLIMIT_NOFILE: operation not permitted', 'rlimit raise failure names the resource');
  checkClean('rlimit');

  r = await run([], ['/no/such/binary']);
  t.equal(r.error, 'exec: "/no/such/binary": stat /no/such/binary: no such file or directory', 'missing absolute args[0]');
  checkClean('missing binary');
  r = await run([], ['foo']);
  t.equal(r.error, 'exec: "foo": executable file not found in $PATH', 'args[0] not in PATH');
  r = await run([], ['/etc/passwd']);
  t.equal(r.error, 'exec: "/etc/passwd": permission denied', 'args[0] not executable');
  r = await run([rec(Rec.CGROUP_WRITE, u32(0), str('pids.max'), str('lots'))]);
  t.match(r.error, new RegExp(`^write ${created}/pids.max: invalid argument$`), 'cgroup write failure');
  checkClean('cgroup write');
  r = await run([rec(Rec.MOUNT, u32(0), u32(0), u32(0), str('tmpfs'), str('tmpfs'), str('/proc'), str(''))]);
  t.match(r.error, /^mount tmpfs to \/proc: \/proc cannot be mounted because it is not of type proc$/, 'non-proc fs over /proc refused');
  checkClean('mount');

  // /proc as a symlink out of the rootfs (CVE-2019-19921 class)
  fs.rmdirSync(path.join(rootfs, 'proc'));
  fs.symlinkSync('/tmp', path.join(rootfs, 'proc'));
  r = await run([]);
  t.match(r.error, /^mount proc to \/proc: \/proc is a symlink$/, '/proc symlink refused');
  checkClean('proc symlink');
});

t.test('masking refuses a /dev/null that is not 1:3', async (t) => {
  const { dir, rootfs } = makeRootfs();
  t.teardown(() => rmrf(dir));
  const plan = basePlan(rootfs, dir, 'true', [rec(Rec.MASKED_PATH, str('/proc/keys'))])
    .filter((r) => !(r.type === Rec.DEVICE && 'str' in r.fields[7] && r.fields[7].str === '/dev/null'))
    .concat([rec(Rec.SYMLINK, str('/proc/sys/kernel/core_pattern'), str('/dev/null'))]);
  const r = await runBootstrap(encodePlan(plan));
  await killInit(r.ok); // only on an unexpected success
  t.equal(r.code, 1);
  t.match(r.error, /^mask \/proc\/keys: \/dev\/null is not the null device \(char 1:3\)$/);
  t.notOk(hostMountsMention(rootfs), 'no mount left');
});

t.test('addon: flock', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-flock-'));
  t.teardown(() => rmrf(dir));
  const f = path.join(dir, 'lock');
  const a = fs.openSync(f, 'w'), b = fs.openSync(f, 'r');
  t.equal(native.flock(a, 'ex', true), true, 'first exclusive lock');
  t.equal(native.flock(b, 'ex', true), false, 'second open file description is excluded');
  t.equal(native.flock(b, 'sh', true), false, 'shared excluded too');
  native.flock(a, 'un', false);
  t.equal(native.flock(b, 'sh', true), true, 'free after unlock');
  t.equal(native.flock(a, 'sh', true), true, 'shared + shared');
  t.throws(() => native.flock(9999, 'ex', true), { code: 'EBADF' }, 'errno name as .code');
  fs.closeSync(a); fs.closeSync(b);
});

t.test('addon: pidfd and waitpid', async (t) => {
  const child = spawn('/bin/busybox', ['sleep', '0.3'], { stdio: 'ignore' });
  const pfd = native.pidfdOpen(child.pid!);
  t.equal(native.pidfdWait(pfd, 20), false, 'still running');
  t.equal(native.pidfdWait(pfd, 5000), true, 'exit seen through the pidfd');
  fs.closeSync(pfd);
  t.throws(() => native.pidfdOpen(0x3ffffff), { code: 'ESRCH' }, 'ESRCH for no such pid');

  // A child that is not libuv's: spawned through a shell that execs into a sleep we reap ourselves.
  const r = spawnSync('/bin/sh', ['-c', '/bin/busybox sleep 30 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
  const orphan = Number(r.stdout.trim()); // re-parented to us: we are a subreaper
  t.ok(orphan > 0, 'orphan started');
  t.equal(native.waitpidNoHang(orphan), null, 'waitpidNoHang: running');
  const pfd2 = native.pidfdOpen(orphan);
  native.pidfdSendSignal(pfd2, 15);
  const st = await native.waitpid(orphan);
  t.same(st, { code: null, signal: 15 }, 'waitpid reports the signal');
  t.throws(() => native.pidfdSendSignal(pfd2, 15), { code: 'ESRCH' }, 'signal after exit: ESRCH');
  fs.closeSync(pfd2);
  await t.rejects(native.waitpid(orphan), { code: 'ECHILD' }, 'waitpid rejects with .code');

  const quick = spawnSync('/bin/sh', ['-c', '(sleep 0.2; exit 7) & echo $!'], { encoding: 'utf8' });
  const qpid = Number(quick.stdout.trim());
  t.same(await native.waitpid(qpid), { code: 7, signal: null }, 'exit code');
});

t.test('user namespace: maps, bind devices, user switch, caps, sysctl, seccomp', async (t) => {
  const { dir, rootfs } = makeRootfs();
  fs.chmodSync(dir, 0o755); // the container's root is host uid 200000: it must reach the rootfs
  const out = path.join(dir, 'out');
  const outFd = fs.openSync(out, 'w');
  let pid: number | undefined;
  t.teardown(async () => { await killInit(pid); rmrf(dir); });
  const bind = 1;
  const CAP_KILL = 5n, CAP_NET_BIND_SERVICE = 10n;
  const bnd = (1n << CAP_KILL) | (1n << CAP_NET_BIND_SERVICE), amb = 1n << CAP_NET_BIND_SERVICE;
  const SC_ERRNO = 3, SC_ALLOW = 5, OP_EQ = 4;
  const script = 'cat /proc/self/uid_map /proc/self/gid_map; id; grep -E "^Cap" /proc/self/status; ' +
    'cat /proc/sys/kernel/msgmax; mkdir /tmp/x 2>&1; kill -0 $$ 2>&1; kill -CONT $$ && echo cont-ok; ls -l /dev/null';
  const plan = basePlan(rootfs, dir, script, [
    rec(Rec.NAMESPACE, u32(0x10000000), str('')),
    rec(Rec.UID_MAP, str('0 200000 65536\n')), rec(Rec.GID_MAP, str('0 200000 65536\n')),
    rec(Rec.SYSCTL, str('kernel.msgmax'), str('4242')),
    rec(Rec.READONLY_PATH, str('/proc/sys')),
    rec(Rec.USER, u32(1000), u32(1000), u32(0xffffffff), u32(2), u32(10), u32(20)),
    rec(Rec.CAPS, u64(bnd), u64(bnd), u64(bnd), u64(amb), u64(amb)),
    rec(Rec.SECCOMP, u32(SC_ALLOW), u32(0), u32(0), str(''), str('')),
    rec(Rec.SECCOMP_ARCH, str('x86_64')), rec(Rec.SECCOMP_ARCH, str('x86')), rec(Rec.SECCOMP_ARCH, str('x32')),
    rec(Rec.SECCOMP_RULE, u32(SC_ERRNO), u32(13), u32(0), str('mkdir')),
    rec(Rec.SECCOMP_RULE, u32(SC_ERRNO), u32(13), u32(0), str('mkdirat')),
    rec(Rec.SECCOMP_RULE, u32(SC_ERRNO), u32(1), u32(1), u32(1), u32(OP_EQ), u64(0), u64(0), str('kill')),
    rec(Rec.SECCOMP_RULE, u32(SC_ERRNO), u32(1), u32(0), str('no_such_syscall_hull')),
    rec(Rec.DEBUG),
  ]).map((r) => r.type === Rec.DEVICE ? rec(Rec.DEVICE, ...r.fields.slice(0, 6), u32(bind), r.fields[7]) : r);
  const r = await runBootstrap(encodePlan(plan), outFd);
  fs.closeSync(outFd);
  t.equal(r.code, 0, `created: ${r.lines.filter((l) => !l.startsWith('debug')).join(' | ')}`);
  t.ok(r.lines.includes('debug seccomp: syscall no_such_syscall_hull is unknown to libseccomp, skipped'), 'unknown syscall skipped with a debug line');
  pid = r.ok;
  if (!pid) return;
  t.equal(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), '0 200000 65536', 'uid_map written by P');
  releaseFifo(path.join(dir, 'exec.fifo'));
  const st = await native.waitpid(pid);
  pid = undefined;
  const text = fs.readFileSync(out, 'utf8');
  t.same(st, { code: 0, signal: null }, `container exited 0: ${text}`);
  t.match(text, /^\s+0\s+200000\s+65536$/m, 'maps visible inside');
  t.match(text, /^uid=1000 gid=1000 groups=10,20$/m, 'user and additional gids');
  t.match(text, /^CapInh:\s+0000000000000400$/m, 'inheritable exactly as given');
  t.match(text, /^CapEff:\s+0000000000000400$/m, 'effective from ambient after exec as non-root');
  t.match(text, /^CapBnd:\s+0000000000000420$/m, 'bounding');
  t.match(text, /^CapAmb:\s+0000000000000400$/m, 'ambient raised');
  t.match(text, /^4242$/m, 'sysctl written through the private procfs despite a read-only /proc/sys');
  t.match(text, /mkdir: can't create directory '\/tmp\/x': Permission denied/, 'seccomp errno rule');
  t.match(text, /kill.*Operation not permitted/, 'seccomp arg comparison matches kill(pid, 0)');
  t.match(text, /^cont-ok$/m, 'seccomp arg comparison does not match other signals');
  t.match(text, /^crw-rw-rw-\s+1 nobody\s+nobody\s+1,\s+3 .* \/dev\/null$|^crw-rw-rw-\s+1 65534\s+65534\s+1,\s+3 .* \/dev\/null$/m,
    'host /dev/null bind-mounted, not chowned');
  t.equal(fs.statSync('/dev/null').uid, 0, 'host /dev/null still owned by root');
});

t.test('terminal: pty master sent over the console socket', { skip: !fs.existsSync('/usr/bin/python3') && 'no python3' }, async (t) => {
  const { dir, rootfs } = makeRootfs();
  const sock = path.join(dir, 'console.sock');
  let pid: number | undefined;
  // The receiver: exactly one message, exactly one fd, a non-empty payload; then it reads the pty.
  const py = `
import socket, sys, os, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, flags, _ = socket.recv_fds(c, 1024, 4)
extra = c.recv(1024)
data = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b: break
    data += b
print(json.dumps({"payload": msg.decode(), "nfds": len(fds), "extra": extra.decode(), "data": data.decode()}), flush=True)
`;
  const recv = spawn('/usr/bin/python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let pyOut = '';
  recv.stdout!.setEncoding('utf8');
  const listening = new Promise<void>((res) => recv.stdout!.on('data', (d: string) => { pyOut += d; if (pyOut.includes('listening')) res(); }));
  const pyDone = new Promise<void>((res) => recv.on('close', () => res()));
  t.teardown(async () => { await killInit(pid); recv.kill(); rmrf(dir); });
  await listening;
  const plan = basePlan(rootfs, dir, 'tty; stty size; echo $TERM', [
    rec(Rec.TERMINAL), rec(Rec.CONSOLE_SOCKET, str(sock)), rec(Rec.CONSOLE_SIZE, u32(33), u32(77)),
    rec(Rec.ENV, str('TERM=xterm')),
  ]);
  const r = await runBootstrap(encodePlan(plan));
  t.equal(r.code, 0, `created: ${r.lines.join(' | ')}`);
  pid = r.ok;
  if (!pid) return;
  releaseFifo(path.join(dir, 'exec.fifo'));
  t.same(await native.waitpid(pid), { code: 0, signal: null }, 'container exited 0');
  pid = undefined;
  await pyDone;
  const res = JSON.parse(pyOut.slice(pyOut.indexOf('{'))) as { payload: string; nfds: number; extra: string; data: string };
  t.equal(res.nfds, 1, 'exactly one fd');
  t.ok(res.payload.length > 0, `non-empty payload (${res.payload})`);
  t.equal(res.extra, '', 'nothing else sent');
  t.match(res.data, /^\/dev\/pts\/\d+\r?$/m, 'stdin is the pty');
  t.match(res.data, /^33 77\r?$/m, 'console size applied');
  t.match(res.data, /^xterm\r?$/m, 'env');
});

t.test('no pivot, read-only root, read-only binds, preserved fds', async (t) => {
  const { dir, rootfs } = makeRootfs();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'hello'), 'hello from the host\n');
  fs.writeFileSync(path.join(dir, 'single'), 'one file\n');
  const out = path.join(dir, 'out');
  const outFd = fs.openSync(out, 'w');
  const extra = fs.openSync(path.join(dir, 'extra'), 'w');
  let pid: number | undefined;
  t.teardown(async () => { await killInit(pid); rmrf(dir); });
  const script = 'cat /data/hello /etc/single; touch /data/y 2>&1; touch /newfile 2>&1; echo via-fd3 >&3; ' +
    'echo fds=$(ls /proc/self/fd | tr "\\n" " ")';
  const plan = basePlan(rootfs, dir, script, [
    rec(Rec.MOUNT, u32(MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID), u32(0), u32(1), str('bind'), str(data), str('/data'), str('')),
    rec(Rec.MOUNT, u32(MS_BIND), u32(0), u32(1), str('bind'), str(path.join(dir, 'single')), str('/etc/single'), str('')),
    rec(Rec.NO_PIVOT), rec(Rec.ROOTFS_READONLY), rec(Rec.PRESERVE_FDS, u32(1)),
  ]);
  const r = await runBootstrap(encodePlan(plan), outFd, [extra]);
  fs.closeSync(outFd);
  fs.closeSync(extra);
  t.equal(r.code, 0, `created: ${r.lines.join(' | ')}`);
  pid = r.ok;
  if (!pid) return;
  releaseFifo(path.join(dir, 'exec.fifo'));
  const st = await native.waitpid(pid);
  pid = undefined;
  const text = fs.readFileSync(out, 'utf8');
  t.same(st, { code: 0, signal: null }, `container exited 0: ${text}`);
  t.match(text, /^hello from the host$/m, 'bind of a dir');
  t.match(text, /^one file$/m, 'bind of a file onto a created file');
  t.match(text, /touch: \/data\/y: Read-only file system/, 'ro bind');
  t.match(text, /touch: \/newfile: Read-only file system/, 'read-only root');
  t.match(text, /^fds=0 1 2 3 4$/m, 'fd 3 preserved, nothing else leaked');
  t.equal(fs.readFileSync(path.join(dir, 'extra'), 'utf8'), 'via-fd3\n', 'preserved fd reaches the process');
  t.notOk(fs.existsSync(path.join(data, 'y')), 'nothing written to the host dir');
});

t.test('exec mode: joining a running container\'s namespaces', async (t) => {
  const { dir, rootfs } = makeRootfs();
  let pid: number | undefined, execPid: number | undefined;
  t.teardown(async () => { await killInit(execPid); await killInit(pid); rmrf(dir); });
  const r = await runBootstrap(encodePlan(basePlan(rootfs, dir, 'exec sleep 60', [rec(Rec.HOSTNAME, str('joined'))])));
  t.equal(r.code, 0, `container created: ${r.lines.join(' | ')}`);
  pid = r.ok;
  if (!pid) return;
  releaseFifo(path.join(dir, 'exec.fifo'));
  const out = path.join(dir, 'exec-out');
  const outFd = fs.openSync(out, 'w');
  const ns = (name: string, flag: number) => rec(Rec.NAMESPACE, u32(flag), str(`/proc/${pid}/ns/${name}`));
  const plan = encodePlan([
    rec(Rec.ROOTFS, str(rootfs)),
    ns('ipc', CLONE_NEWIPC), ns('uts', CLONE_NEWUTS), ns('pid', CLONE_NEWPID), ns('mnt', CLONE_NEWNS),
    rec(Rec.CWD, str('/tmp')),
    rec(Rec.ARG, str('sh')), rec(Rec.ARG, str('-c')), rec(Rec.ARG, str('hostname; pwd; cat /proc/1/comm; echo $$')),
    rec(Rec.ENV, str('PATH=/bin')),
  ]);
  const e = await runBootstrap(plan, outFd);
  fs.closeSync(outFd);
  t.equal(e.code, 0, `exec created: ${e.lines.join(' | ')}`);
  execPid = e.ok;
  if (!execPid) return;
  t.same(await native.waitpid(execPid), { code: 0, signal: null }, 'exec process exited 0');
  execPid = undefined;
  const lines = fs.readFileSync(out, 'utf8').split('\n');
  t.equal(lines[0], 'joined', 'uts namespace joined');
  t.equal(lines[1], '/tmp', 'cwd inside the container');
  t.equal(lines[2], 'sleep', 'sees the container\'s pid 1');
  t.not(lines[3], '1', 'not pid 1 itself');
});
