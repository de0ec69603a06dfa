// linux.seccomp from inside real containers: the -ENOSYS stub for syscalls newer than the profile,
// every action (NOTIFY through a listener on listenerPath), every argument operator, flags,
// architectures, unknown syscall names, the podman default profile (and hull's compiled-filter cache).
// Syscalls busybox never makes are made by a static helper (test/fixtures/security/sysc.c).
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Bundle, ctest, Ctx, errText, IS_RUNC, kv, readText, runcTodo, sleep } from './lib/harness'
import { helper, installSysc, NR_X86_64 as NR, podmanProfile, profileNames, syscResults } from '../test/fixtures/security/helpers'

t.setTimeout(240000)

const X86_64 = process.arch === 'x64'
const ENOSYS = 38, EPERM = 1
const noSysc = !helper('sysc') && 'no C compiler for the sysc helper'
const notX64 = !X86_64 && 'syscall numbers are x86_64 ones'

function withSysc(c: Ctx, args: string[] = ['true']): Bundle {
  const b = c.bundle(args)
  installSysc(b.rootfs)
  return b
}

/** Unlisted in the profile and below its newest syscall: a number the default action must answer. */
function unlistedOld(profile: any): [string, number] {
  const names = profileNames(profile)
  for (const n of ['add_key', 'request_key', 'io_uring_setup', 'quotactl_fd', 'open_by_handle_at', 'lookup_dcookie']) {
    if (!names.has(n)) return [n, NR[n]]
  }
  throw new Error('every candidate syscall is in the profile')
}

ctest(t, 'seccomp: syscalls newer than the profile get ENOSYS, unlisted older ones the default errno', { skip: noSysc || notX64 || (!podmanProfile() && 'no containers-common profile') }, async (c, t) => {
  const profile = podmanProfile()
  delete profile.defaultErrnoRet // containerd's and Docker's default: plain SCMP_ACT_ERRNO, i.e. EPERM
  const [oldName, oldNr] = unlistedOld(profile)
  const newNrs = [1000, ...(profileNames(profile).has('cachestat') ? [] : [NR.cachestat])]
  const b = withSysc(c)
  b.sh(`sysc ${oldNr}; ${newNrs.map(n => `sysc ${n}`).join('; ')}; sysc 39`)
  b.mutate(cf => (cf.linux.seccomp = profile))
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const res = syscResults(r.out)
  t.equal(res[oldNr]?.[1], EPERM, `${oldName} (${oldNr}, unlisted, older than the profile) gets EPERM`, { out: r.out })
  for (const n of newNrs) t.equal(res[n]?.[1], ENOSYS, `syscall ${n} (newer than the profile) gets ENOSYS`, { out: r.out })
  t.ok(res[39] && res[39][0] > 0, 'getpid allowed')
})

ctest(t, 'seccomp: defaultErrnoRet is the answer for unlisted syscalls (podman profile: ENOSYS)', { skip: noSysc || notX64 || (!podmanProfile() && 'no containers-common profile') }, async (c, t) => {
  const profile = podmanProfile()
  profile.defaultErrnoRet = 95 // EOPNOTSUPP: neither EPERM nor ENOSYS
  const [oldName, oldNr] = unlistedOld(profile)
  const b = withSysc(c)
  b.sh(`sysc ${oldNr}; sysc 1000`)
  b.mutate(cf => (cf.linux.seccomp = profile))
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const res = syscResults(r.out)
  t.equal(res[oldNr]?.[1], 95, `${oldName} gets defaultErrnoRet 95`, { out: r.out })
  t.equal(res[1000]?.[1], ENOSYS, 'a syscall newer than the profile still gets ENOSYS')
})

ctest(t, 'seccomp: default KILL_PROCESS: a newer syscall gets ENOSYS, an unlisted older one kills', { skip: noSysc || notX64 || (!podmanProfile() && 'no containers-common profile') }, async (c, t) => {
  const profile = podmanProfile()
  profile.defaultAction = 'SCMP_ACT_KILL_PROCESS'
  delete profile.defaultErrnoRet
  const [, oldNr] = unlistedOld(profile)
  const b1 = withSysc(c, ['/bin/sysc', '1000'])
  b1.mutate(cf => (cf.linux.seccomp = profile))
  const r1 = await c.inside(b1)
  t.equal(r1.exit, 0, 'not killed', { err: r1.err })
  t.equal(syscResults(r1.out)[1000]?.[1], ENOSYS, 'ENOSYS', { out: r1.out })
  const b2 = withSysc(c, ['/bin/sysc', String(oldNr)])
  b2.mutate(cf => (cf.linux.seccomp = profile))
  const r2 = await c.inside(b2)
  t.equal(r2.exit, 128 + 31, 'killed by SIGSYS', { out: r2.out, err: r2.err })
})

ctest(t, 'seccomp: every action', async (c, t) => {
  const b = c.bundle()
  b.sh([
    'mkdir /tmp/a; echo mkdir=$?',
    'rmdir /tmp; echo rmdir=$?',
    'ln -s x /tmp/l; echo ln=$?',
    'chmod 700 /tmp; echo chmod=$?',
    'touch /tmp; echo touch=$?',
    'sync; echo sync=$?',
    'echo alive',
  ].join('; '))
  b.mutate(cf => (cf.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL' },
      { names: ['rmdir'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['symlink', 'symlinkat'], action: 'SCMP_ACT_TRAP' },
      { names: ['chmod', 'fchmodat', 'fchmodat2'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 },
      { names: ['utimensat', 'utimes', 'utime'], action: 'SCMP_ACT_TRACE', errnoRet: 1 },
      { names: ['sync'], action: 'SCMP_ACT_LOG' },
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
    ],
  }))
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  t.equal(r.exit, 0, 'the shell survives', { err: r.err })
  const s = kv(r.out)
  t.equal(s.mkdir, String(128 + 31), 'KILL (thread): SIGSYS')
  t.equal(s.rmdir, String(128 + 31), 'KILL_PROCESS: SIGSYS')
  t.equal(s.ln, String(128 + 31), 'TRAP: SIGSYS')
  t.equal(s.chmod, '1', 'ERRNO: the call fails')
  t.match(r.err, /chmod.*(I\/O|Input\/output) error/, 'with errnoRet 5 (EIO)')
  t.equal(s.touch, '1', 'TRACE without a tracer: the call fails')
  t.match(r.err, /touch.*(not implemented|Function not implemented)/i, 'with ENOSYS (no tracer attached)')
  t.equal(s.sync, '0', 'LOG: allowed')
  t.match(r.out, /^alive$/m, 'ALLOW')
})

ctest(t, 'seccomp: every argument operator, AND across arguments, OR on one argument', { skip: noSysc || notX64 }, async (c, t) => {
  const rule = (name: string, errnoRet: number, args: any[]) => ({ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet, args })
  const a0 = (op: string, value: number, valueTwo?: number) => ({ index: 0, op, value, ...(valueTwo !== undefined ? { valueTwo } : {}) })
  const b = withSysc(c)
  const calls: [string, number[], number | null][] = [
    // syscall, args, errno expected from the rule (null: not the rule's)
    ['getpgid', [7], 101], ['getpgid', [8], null],
    ['getsid', [6], 102], ['getsid', [5], null],
    ['sched_get_priority_max', [2], 103], ['sched_get_priority_max', [3], null],
    ['sched_get_priority_min', [3], 104], ['sched_get_priority_min', [4], null],
    ['alarm', [10], 105], ['alarm', [9], null],
    ['getpriority', [11], 106], ['getpriority', [10], null],
    ['umask', [0o777], 107], ['umask', [0o077], null],
    ['sched_getscheduler', [11], 108], ['sched_getscheduler', [12], 108], ['sched_getscheduler', [13], null],
    ['sched_rr_get_interval', [0, 0], 109], ['sched_rr_get_interval', [0, 1], null], ['sched_rr_get_interval', [1, 0], null],
  ]
  const nr: Record<string, number> = { ...NR, sched_getscheduler: 145, sched_rr_get_interval: 148 }
  b.sh(calls.map(([n, args]) => `echo "${n}(${args.join(',')})"; sysc ${nr[n]} ${args.join(' ')}`).join('; '))
  b.mutate(cf => (cf.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      rule('getpgid', 101, [a0('SCMP_CMP_EQ', 7)]),
      rule('getsid', 102, [a0('SCMP_CMP_NE', 5)]),
      rule('sched_get_priority_max', 103, [a0('SCMP_CMP_LT', 3)]),
      rule('sched_get_priority_min', 104, [a0('SCMP_CMP_LE', 3)]),
      rule('alarm', 105, [a0('SCMP_CMP_GE', 10)]),
      rule('getpriority', 106, [a0('SCMP_CMP_GT', 10)]),
      rule('umask', 107, [a0('SCMP_CMP_MASKED_EQ', 0o700, 0o700)]),
      rule('sched_getscheduler', 108, [a0('SCMP_CMP_EQ', 11), a0('SCMP_CMP_EQ', 12)]),
      rule('sched_rr_get_interval', 109, [a0('SCMP_CMP_EQ', 0), { index: 1, op: 'SCMP_CMP_EQ', value: 0 }]),
    ],
  }))
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const lines = r.out.split('\n')
  calls.forEach(([n, args, want], i) => {
    const label = `${n}(${args.join(',')})`
    const at = lines.indexOf(label)
    const m = at >= 0 ? /^\d+=(-?\d+)\/(\d+)$/.exec(lines[at + 1] ?? '') : null
    if (!m) return t.fail(`${label}: no result`, { out: r.out })
    if (want === null) t.not(Number(m[2]), calls.find(x => x[0] === n && x[2] !== null)![2], `${label}: the rule does not match`)
    else t.equal(Number(m[2]), want, `${label}: the rule matches (errno ${want})`)
  })
})

ctest(t, 'seccomp: notify: the listener gets the fd and the container process state, and answers', { skip: !helper('listener') && 'no C compiler' }, async (c, t) => {
  const sock = c.file('listener.sock')
  const out = c.file('listener.out')
  const agent = spawn(helper('listener')!, [sock, out, '18'], { stdio: 'ignore' })
  c.cleanups.push(() => agent.kill('SIGKILL'))
  for (let i = 0; i < 200 && !readText(out).includes('listening'); i++) await sleep(10)
  const b = c.bundle()
  b.sh('mkdir /tmp/n; echo mkdir=$?; echo x > /tmp/f && echo write=ok')
  b.mutate(cf => {
    cf.annotations = { 'org.example.key': 'value "quoted"', pid: '0' }
    cf.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: sock,
      listenerMetadata: 'meta "data" pid:0',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    }
  })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  for (let i = 0; i < 200 && !/^state /m.test(readText(out)); i++) await sleep(10)
  const log = readText(out)
  const m = /^state (.*)$/m.exec(log)
  let st: any = null
  try {
    st = JSON.parse(m?.[1] ?? '')
  } catch {
    /* reported below */
  }
  t.ok(st, 'the payload is JSON', { log })
  t.match(log, /^fds 1$/m, 'exactly one fd in SCM_RIGHTS')
  if (st) {
    t.same(st.fds, ['seccompFd'], 'fds: ["seccompFd"]')
    t.equal(st.pid, cr.pid, 'pid: the init (host pid)')
    t.equal(st.metadata, 'meta "data" pid:0', 'metadata: listenerMetadata, unchanged')
    t.match(st.ociVersion, /^1\./, 'ociVersion')
    t.equal(st.state?.id, id, 'state.id')
    t.equal(st.state?.pid, cr.pid, 'state.pid')
    t.equal(st.state?.status, 'creating', 'state.status: creating')
    t.equal(st.state?.bundle, b.dir, 'state.bundle')
    t.same(st.state?.annotations, { 'org.example.key': 'value "quoted"', pid: '0' }, 'state.annotations')
  }
  const s = await c.start(id)
  t.equal(s.code, 0, 'start')
  const exit = await c.waitExit(cr.pid)
  t.equal(exit, 0, 'exit 0')
  const o = readText(cr.outFile)
  t.match(o, /^mkdir=1$/m, 'mkdir failed')
  t.match(readText(cr.errFile), /cross-device/i, 'with the listener\'s answer (EXDEV)')
  t.match(o, /^write=ok$/m, 'other syscalls untouched')
  t.match(readText(out), new RegExp(`^notif ${NR.mkdir}$`, 'm'), 'the listener saw mkdir')
  t.notOk(fs.existsSync(path.join(b.rootfs, 'tmp/n')), 'no dir made')
})

ctest(t, 'seccomp: notify with an unreachable listenerPath fails create cleanly', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: c.file('nobody-listens.sock'),
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  }))
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /nobody-listens\.sock|listener|connect/i, 'names the listener socket', { stderr: cr.stderr })
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'seccomp: flags TSYNC, SPEC_ALLOW and LOG load; LOG makes the kernel log an ERRNO action', runcTodo('runc 1.1.5: "seccomp flags are not yet supported by runc"'), async (c, t) => {
  const run = async (flags: string[]) => {
    const b = c.bundle()
    b.sh('exec mkdir /tmp/logged')
    b.mutate(cf => (cf.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW', flags,
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
    }))
    return c.inside(b)
  }
  const logged = (pid: number) => {
    const r = spawnSync('dmesg', [], { encoding: 'utf8' })
    return new RegExp(`type=1326 .* pid=${pid} comm="mkdir".* syscall=${NR.mkdir} `).test(r.stdout || '')
  }
  const r1 = await run(['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG'])
  t.equal(r1.create.code, 0, 'create with the three flags', { stderr: r1.create.stderr })
  t.equal(r1.exit, 1, 'mkdir refused')
  const r2 = await run([])
  t.equal(r2.exit, 1, 'mkdir refused without flags too')
  if (X86_64) {
    await sleep(200)
    t.ok(logged(r1.create.pid), 'LOG: an audit line for the init\'s mkdir')
    t.notOk(logged(r2.create.pid), 'no LOG flag: ERRNO actions are not logged')
  }
})

ctest(t, 'seccomp: WAIT_KILLABLE_RECV needs libseccomp 2.6: a clear error', runcTodo('runc 1.1.5 refuses every seccomp flag, without naming it'), async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
  }))
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /WAIT_KILLABLE_RECV.*libseccomp/, 'names the flag and libseccomp', { stderr: cr.stderr })
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'seccomp: architectures; unknown syscall names are skipped', async (c, t) => {
  const b = c.bundle()
  b.sh('(mkdir /tmp/x) 2>&1 | sed "s/^/mkdir=/"; grep ^Seccomp: /proc/self/status')
  b.mutate(cf => (cf.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls: [{ names: ['hull_no_such_syscall', 'mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
  }))
  const id = c.id()
  const cr = await c.create(b, id, [], { global: IS_RUNC ? [] : ['--debug'] })
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  if (!IS_RUNC) t.match(readText(cr.errFile), /hull_no_such_syscall is unknown to libseccomp, skipped/, 'a debug line names the skipped syscall')
  await c.start(id)
  t.equal(await c.waitExit(cr.pid), 0, 'exit 0')
  t.match(readText(cr.outFile), /^mkdir=.*not permitted/m, 'the known name of the same rule applies')
})

ctest(t, 'seccomp: the podman default profile runs a shell; hull caches the compiled filter', { skip: !podmanProfile() && 'no containers-common profile' }, async (c, t) => {
  const profile = podmanProfile()
  const b = c.bundle()
  b.sh('echo ok; ls / >/dev/null && echo ls=ok; grep ^Seccomp: /proc/self/status')
  b.mutate(cf => (cf.linux.seccomp = profile))
  const times: string[] = []
  for (let i = 0; i < 2; i++) {
    const id = c.id()
    const cr = await c.create(b, id, [], { global: IS_RUNC ? [] : ['--debug'] })
    t.equal(cr.code, 0, `create ${i + 1}`, { stderr: cr.stderr })
    times.push((/seccomp: .*(compiled|from cache).*/.exec(readText(cr.errFile)) || [''])[0])
    await c.start(id)
    t.equal(await c.waitExit(cr.pid), 0, 'exit 0')
    const o = readText(cr.outFile)
    t.match(o, /^ok$/m, 'the shell ran')
    t.match(o, /^ls=ok$/m, 'ls ran')
    t.match(o, /^Seccomp:\s+2$/m, 'in filter mode')
    await c.rt(['delete', '--force', id])
  }
  if (!IS_RUNC) {
    t.comment(times.join('\n'))
    t.match(times[1], /from cache/, 'the second create reuses the compiled program')
  }
})
