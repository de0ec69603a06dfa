// Drives build/Release/hull-bootstrap directly with the process and security records (50-69): their
// validation, the v2 device eBPF program enforcing alone (the init joins only a v2 dir, so no v1
// devices cgroup is in the way), the seccomp program cache and the listener state's pid.
// Needs root, the built native core, /bin/busybox and a cgroup v2 mount (unified or v2-only).
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePlan, rec, Rec, str, u32, u64, PlanRecord } from '../lib/plan';
import { helper } from './fixtures/security/helpers';
import {
  CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, killInit, makeRootfs as makeBusyboxRootfs, MS_NODEV, MS_NOEXEC,
  MS_NOSUID, native, rand, releaseFifo, type Report, runBootstrap,
} from './lib/bootstrap';

const makeRootfs = () => makeBusyboxRootfs('hull-security-test-');

const dev = (major: number, minor: number, p: string) =>
  rec(Rec.DEVICE, u32(0x63), u32(major), u32(minor), u32(0o666), u32(0), u32(0), u32(0), str(p));

function basePlan(rootfs: string, dir: string, script: string, extra: PlanRecord[] = []): PlanRecord[] {
  return [
    rec(Rec.ROOTFS, str(rootfs)),
    rec(Rec.NAMESPACE, u32(CLONE_NEWNS), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWPID), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWIPC), str('')),
    rec(Rec.NAMESPACE, u32(CLONE_NEWUTS), str('')),
    rec(Rec.MOUNT, u32(MS_NOSUID | MS_NOEXEC | MS_NODEV), u32(0), u32(0), str('proc'), str('proc'), str('/proc'), str('')),
    rec(Rec.MOUNT, u32(MS_NOSUID), u32(0), u32(0), str('tmpfs'), str('tmpfs'), str('/dev'), str('mode=755')),
    dev(1, 3, '/dev/null'), dev(1, 5, '/dev/zero'), dev(1, 7, '/dev/full'), dev(1, 9, '/dev/urandom'),
    ...extra,
    rec(Rec.ARG, str('/bin/sh')), rec(Rec.ARG, str('-c')), rec(Rec.ARG, str(script)),
    rec(Rec.ENV, str('PATH=/bin')),
    rec(Rec.EXEC_FIFO, str(path.join(dir, 'exec.fifo'))),
    rec(Rec.CONTAINER_ID, str('hull-sec-' + rand())),
  ];
}

native.setChildSubreaper();

/** Run a plan to completion: create, start, wait; returns the report and what the container printed. */
async function runToEnd(t: any, dir: string, plan: Buffer): Promise<{ r: Report; out: string; status: unknown }> {
  const out = path.join(dir, 'out');
  const outFd = fs.openSync(out, 'w');
  const r = await runBootstrap(plan, outFd);
  fs.closeSync(outFd);
  let status: unknown = null;
  if (r.ok) {
    t.teardown(() => killInit(r.ok));
    releaseFifo(path.join(dir, 'exec.fifo'));
    status = await native.waitpid(r.ok);
  }
  return { r, out: fs.readFileSync(out, 'utf8'), status };
}

function v2Mount(): string | null {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ')) return pre.split(' ')[4];
  }
  return null;
}

t.test('plan validation of records 50-58', async (t) => {
  const { dir, rootfs } = makeRootfs();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sched = (policy: number, nice: number, prio: number, flags: number) =>
    rec(Rec.SCHEDULER, u32(policy), u32(nice >>> 0), u32(prio), u32(flags), u64(0), u64(0), u64(0));
  const seccomp = rec(Rec.SECCOMP, u32(5), u32(1), u32(0), str(''), str(''));
  const cases: [string, PlanRecord[], RegExp][] = [
    ['scheduler policy 4', [sched(4, 0, 0, 0)], /unknown scheduler policy 4/],
    ['scheduler policy 7', [sched(7, 0, 0, 0)], /unknown scheduler policy 7/],
    ['scheduler flags', [sched(0, 0, 0, 0x80)], /unknown scheduler flags 0x80/],
    ['nice 20', [sched(0, 20, 0, 0)], /nice 20 out of range/],
    ['priority 100', [sched(1, 0, 100, 0)], /priority 100 out of range/],
    ['scheduler twice', [sched(0, 0, 0, 0), sched(0, 0, 0, 0)], /record type 52 appears 2 times/],
    ['ioprio class 0', [rec(Rec.IO_PRIORITY, u32(0), u32(0))], /unknown I\/O priority class 0/],
    ['ioprio level 8', [rec(Rec.IO_PRIORITY, u32(2), u32(8))], /I\/O priority 8 out of range/],
    ['personality', [rec(Rec.PERSONALITY, u32(3))], /unknown personality 0x3/],
    ['cpu list', [rec(Rec.CPU_AFFINITY, str('0-a'), str(''))], /bad cpu list/],
    ['mempolicy mode', [rec(Rec.MEMORY_POLICY, u32(7), u32(0), str('0'))], /unknown memory policy mode 7/],
    ['mempolicy flags', [rec(Rec.MEMORY_POLICY, u32(2), u32(1), str('0'))], /unknown memory policy flags 0x1/],
    ['mempolicy nodes', [rec(Rec.MEMORY_POLICY, u32(2), u32(0), str('zero'))], /bad memory node list/],
    ['device rule type', [rec(Rec.CGROUP, str('/sys/fs/cgroup/unified/x')), rec(Rec.DEVCG_PROG, u32(0)),
      rec(Rec.DEVCG_RULE, u32(1), u32(0x78), u32(1), u32(3), u32(7))], /bad device rule/],
    ['device rule access 0', [rec(Rec.CGROUP, str('/sys/fs/cgroup/unified/x')), rec(Rec.DEVCG_PROG, u32(0)),
      rec(Rec.DEVCG_RULE, u32(1), u32(0x63), u32(1), u32(3), u32(0))], /bad device rule/],
    ['device rule without program', [rec(Rec.DEVCG_RULE, u32(1), u32(0x63), u32(1), u32(3), u32(7))], /DEVCG_RULE without DEVCG_PROG/],
    ['device program index', [rec(Rec.DEVCG_PROG, u32(0))], /device program cgroup index 0 but 0 cgroups/],
    ['listener state not JSON', [seccomp, rec(Rec.SECCOMP_LISTENER_STATE, str('pid'))], /listener state is not a JSON object/],
    ['listener state without seccomp', [rec(Rec.SECCOMP_LISTENER_STATE, str('{}'))], /without SECCOMP/],
    ['relative cache dir', [seccomp, rec(Rec.SECCOMP_CACHE, str('cache'))], /seccomp cache dir cache is not absolute/],
    ['unknown type in the range', [{ type: 59 as Rec, fields: [] }], /unknown record type 59/],
  ];
  for (const [name, extra, re] of cases) {
    const r = await runBootstrap(encodePlan(basePlan(rootfs, dir, 'true', extra)));
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.error ?? r.lines.join('|'), re, name);
  }
});

t.test('device eBPF program on a v2 dir enforces the rules by itself', { skip: !v2Mount() && 'no cgroup v2 mount' }, async (t) => {
  const { dir, rootfs } = makeRootfs();
  const cg = path.join(v2Mount()!, 'hull-secbpf-' + rand());
  t.teardown(() => {
    try { fs.rmdirSync(cg); } catch { /* never made or already gone */ }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const R = (allow: number, type: string, major: number, minor: number, access: string) => {
    let a = 0;
    for (const ch of access) a |= ({ m: 1, r: 2, w: 4 } as Record<string, number>)[ch];
    return rec(Rec.DEVCG_RULE, u32(allow), u32(type.charCodeAt(0)), u32(major >>> 0), u32(minor >>> 0), u32(a));
  };
  const script = [
    'cat /dev/null && echo null.r=ok', 'echo x > /dev/null && echo null.w=ok',
    'head -c1 /dev/zero >/dev/null && echo zero.r=ok', '(echo x > /dev/zero) 2>&1 | sed "s/^/zero.w=/"',
    'head -c1 /dev/urandom >/dev/null && echo urandom.r=ok', '(echo x > /dev/urandom) 2>&1 | sed "s/^/urandom.w=/"',
    '(head -c1 /dev/full) 2>&1 | sed "s/^/full.r=/"', '(echo x > /dev/full) 2>&1 | sed "s/^/full.w=/"',
    'mknod /dev/c1 c 1 3 && echo mknod.c=ok', '(mknod /dev/b1 b 7 0) 2>&1 | sed "s/^/mknod.b=/"',
  ].join('; ');
  const plan = encodePlan(basePlan(rootfs, dir, script, [
    rec(Rec.CGROUP, str(cg)),
    rec(Rec.DEVCG_PROG, u32(0)),
    R(0, 'a', -1, -1, 'rwm'),     // deny everything, then
    R(1, 'c', -1, -1, 'm'),       // mknod of any char device
    R(1, 'c', 1, 3, 'rwm'),       // /dev/null
    R(1, 'c', 1, 5, 'r'),         // /dev/zero read-only
    R(1, 'c', 1, 9, 'rw'),        // /dev/urandom read-write ...
    R(0, 'c', 1, 9, 'w'),         // ... but a later deny of writes wins
    R(1, 'c', 1, 7, 'w'),         // /dev/full write-only
    rec(Rec.DEBUG),
  ]));
  const { r, out, status } = await runToEnd(t, dir, plan);
  t.equal(r.code, 0, 'bootstrap ok', { lines: r.lines });
  t.ok(r.lines.some((l) => /device cgroup program \(7 rules, \d+ instructions\) attached to/.test(l)), 'program attached (debug line)');
  t.same(status, { code: 0, signal: null }, 'exit 0');
  const s = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  t.equal(s['null.r'], 'ok', '/dev/null read');
  t.equal(s['null.w'], 'ok', '/dev/null write');
  t.equal(s['zero.r'], 'ok', '/dev/zero read (r allowed)');
  t.match(s['zero.w'], /not permitted/, '/dev/zero write denied (r only)', { out });
  t.equal(s['urandom.r'], 'ok', '/dev/urandom read');
  t.match(s['urandom.w'], /not permitted/, '/dev/urandom write denied by the later deny');
  t.match(s['full.r'], /not permitted/, '/dev/full read denied (w only)');
  t.match(s['full.w'], /No space left/, '/dev/full write reaches the device (ENOSPC)');
  t.equal(s['mknod.c'], 'ok', 'mknod of a char device allowed');
  t.match(s['mknod.b'], /not permitted/, 'mknod of a block device denied');
});

t.test('seccomp: compiled once, then read from the cache; a bad cache entry is recompiled', async (t) => {
  const { dir, rootfs } = makeRootfs();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cacheDir = path.join(dir, 'cache');
  const rules = [rec(Rec.SECCOMP, u32(3), u32(1), u32(0), str(''), str('')),
    ...['read', 'write', 'exit_group', 'execve', 'brk', 'mmap', 'arch_prctl', 'rt_sigaction', 'rt_sigprocmask', 'getpid']
      .map((n) => rec(Rec.SECCOMP_RULE, u32(5), u32(0), u32(0), str(n))),
    rec(Rec.SECCOMP_CACHE, str(cacheDir)), rec(Rec.DEBUG)];
  const once = async () => {
    fs.rmSync(path.join(dir, 'exec.fifo'), { force: true });
    execFileSync('mkfifo', [path.join(dir, 'exec.fifo')]);
    const r = await runBootstrap(encodePlan(basePlan(rootfs, dir, 'true', rules)));
    await killInit(r.ok);
    return r.lines.find((l) => /seccomp: .* (compiled|from cache)/.test(l)) ?? r.lines.join(' | ');
  };
  t.match(await once(), /compiled to \d+ instructions/, 'first: compiled');
  const files = fs.readdirSync(cacheDir);
  t.equal(files.length, 1, 'one cache entry');
  t.equal(fs.statSync(path.join(cacheDir, files[0])).mode & 0o777, 0o600, 'private to root');
  t.match(await once(), /from cache/, 'second: from the cache');
  const f = path.join(cacheDir, files[0]);
  const data = fs.readFileSync(f);
  fs.writeFileSync(f, data.subarray(0, data.length - 3));
  t.match(await once(), /compiled/, 'a truncated entry is not trusted');
  fs.chmodSync(f, 0o666);
  t.match(await once(), /compiled/, 'a writable-by-others entry is not trusted');
  t.equal(fs.statSync(f).mode & 0o777, 0o600, 'and is replaced');
});

t.test('seccomp: the listener state gets the init pid where the planner put "pid":0', { skip: !helper('listener') && 'no C compiler' }, async (t) => {
  const { dir, rootfs } = makeRootfs();
  const sock = path.join(dir, 'l.sock'), log = path.join(dir, 'l.out');
  const agent = spawn(helper('listener')!, [sock, log, '1'], { stdio: 'ignore' });
  t.teardown(() => { agent.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); });
  const read = () => { try { return fs.readFileSync(log, 'utf8'); } catch { return ''; } };
  for (let i = 0; i < 200 && !read().includes('listening'); i++) await new Promise((res) => setTimeout(res, 10));
  const state = '{"ociVersion":"1.3.0","fds":["seccompFd"],"pid":0,"metadata":"\\"pid\\":0","state":{"id":"x","pid":0,"annotations":{"pid":"0"}}}';
  const plan = encodePlan(basePlan(rootfs, dir, 'true', [
    rec(Rec.SECCOMP, u32(5), u32(1), u32(0), str(sock), str('')),
    rec(Rec.SECCOMP_LISTENER_STATE, str(state)),
    rec(Rec.SECCOMP_RULE, u32(7), u32(0), u32(0), str('mkdir')),
  ]));
  const r = await runBootstrap(plan);
  t.teardown(() => killInit(r.ok));
  t.equal(r.code, 0, 'bootstrap ok', { lines: r.lines });
  for (let i = 0; i < 200 && !/^fds /m.test(read()); i++) await new Promise((res) => setTimeout(res, 10));
  t.match(read(), /^fds 1$/m, 'one fd arrived');
  const got = (/^state (.*)$/m.exec(read()) ?? ['', ''])[1];
  t.equal(got, state.replace(/"pid":0([,}])/g, `"pid":${r.ok}$1`), 'both pid fields filled in; the escaped one in metadata and the annotation are not');
  t.match(got, /"metadata":"\\"pid\\":0"/, 'metadata untouched');
});
