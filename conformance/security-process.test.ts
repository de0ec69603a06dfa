// Process and security settings, checked from inside the container: scheduler (every policy, flags),
// ioPriority, personality, memoryPolicy, execCPUAffinity (exec only), domainname, the session
// keyring, stdio ownership for a non-root user (never a device node), sysctl namespacing,
// capabilities hull cannot grant, AppArmor/SELinux fields on a host without an LSM.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { ctest, Ctx, errText, readText, RUNTIME, runcTodo, sleep, statusField } from './lib/harness'
import { helper, installSysc, NR_X86_64 as NR, syscResults } from '../test/fixtures/security/helpers'

t.setTimeout(240000)

const RUNC_NO = (what: string) => runcTodo(`runc 1.1.5 has no ${what}`)

/** Fields of /proc/<pid>/stat as proc(5) numbers them (1 = pid). */
function statFields(line: string): Record<number, string> {
  const rest = line.slice(line.lastIndexOf(')') + 2).trim().split(/\s+/)
  const out: Record<number, string> = {}
  rest.forEach((v, i) => (out[i + 3] = v))
  return out
}
const POLICY = 41, NICE = 19, RT_PRIORITY = 40

async function insideStat(c: Ctx, mutate: (cf: any) => void, script = 'echo "stat=$(cat /proc/$$/stat)"; echo "child=$(cat /proc/self/stat)"') {
  const b = c.bundle()
  b.sh(script)
  b.mutate(mutate)
  const r = await c.inside(b)
  const self = statFields((/^stat=(.*)$/m.exec(r.out) || ['', ''])[1])
  const child = statFields((/^child=(.*)$/m.exec(r.out) || ['', ''])[1])
  return { r, self, child }
}

const rtGroups = fs.existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us') || fs.existsSync('/sys/fs/cgroup/cpu.rt_runtime_us')

ctest(t, 'scheduler: SCHED_BATCH with nice, SCHED_IDLE, SCHED_OTHER', RUNC_NO('process.scheduler'), async (c, t) => {
  let s = await insideStat(c, cf => (cf.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 }))
  t.equal(s.r.create.code, 0, 'create', { stderr: s.r.create.stderr })
  t.equal(s.self[POLICY], '3', 'policy 3 (SCHED_BATCH)', { out: s.r.out })
  t.equal(s.self[NICE], '5', 'nice 5')
  t.equal(s.child[POLICY], '3', 'inherited by a child (no RESET_ON_FORK)')
  s = await insideStat(c, cf => (cf.process.scheduler = { policy: 'SCHED_IDLE' }))
  t.equal(s.self[POLICY], '5', 'policy 5 (SCHED_IDLE)', { out: s.r.out, err: s.r.err })
  s = await insideStat(c, cf => (cf.process.scheduler = { policy: 'SCHED_OTHER', nice: -3 }))
  t.equal(s.self[POLICY], '0', 'policy 0 (SCHED_OTHER)', { out: s.r.out, err: s.r.err })
  t.equal(s.self[NICE], '-3', 'nice -3 (the init had CAP_SYS_NICE when it was set)')
})

ctest(t, 'scheduler: SCHED_FIFO and SCHED_RR with a realtime budget; RESET_ON_FORK', RUNC_NO('process.scheduler'), async (c, t) => {
  const budget = (cf: any) => (cf.linux.resources = { ...cf.linux.resources, cpu: { realtimePeriod: 1000000, realtimeRuntime: 10000 } })
  let s = await insideStat(c, cf => {
    cf.process.scheduler = { policy: 'SCHED_FIFO', priority: 10, flags: ['SCHED_FLAG_RESET_ON_FORK'] }
    if (rtGroups) budget(cf)
  })
  t.equal(s.r.create.code, 0, 'create', { stderr: s.r.create.stderr })
  t.equal(s.self[POLICY], '1', 'policy 1 (SCHED_FIFO)', { out: s.r.out, err: s.r.err })
  t.equal(s.self[RT_PRIORITY], '10', 'rt_priority 10')
  t.equal(s.child[POLICY], '0', 'RESET_ON_FORK: a child is back to SCHED_OTHER')
  t.equal(s.child[RT_PRIORITY], '0', 'and priority 0')
  s = await insideStat(c, cf => {
    cf.process.scheduler = { policy: 'SCHED_RR', priority: 20 }
    if (rtGroups) budget(cf)
  })
  t.equal(s.self[POLICY], '2', 'policy 2 (SCHED_RR)', { out: s.r.out, err: s.r.err })
  t.equal(s.child[POLICY], '2', 'without RESET_ON_FORK a child keeps it')
  t.equal(s.self[RT_PRIORITY], '20', 'rt_priority 20')
})

ctest(t, 'scheduler: a realtime policy without a realtime budget fails create clearly', { ...RUNC_NO('process.scheduler'), skip: !rtGroups && 'the kernel does not group realtime tasks' }, async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.process.scheduler = { policy: 'SCHED_FIFO', priority: 10 }))
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /sched_setattr SCHED_FIFO.*realtimeRuntime.*not permitted/, 'says what and why', { stderr: cr.stderr })
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'scheduler: SCHED_DEADLINE with runtime, deadline, period and flags', RUNC_NO('process.scheduler'), async (c, t) => {
  const s = await insideStat(c, cf => (cf.process.scheduler = {
    policy: 'SCHED_DEADLINE', runtime: 1000000, deadline: 5000000, period: 10000000,
    // a deadline task may only fork with RESET_ON_FORK
    flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM', 'SCHED_FLAG_DL_OVERRUN'],
  }))
  t.equal(s.r.create.code, 0, 'create', { stderr: s.r.create.stderr })
  t.equal(s.self[POLICY], '6', 'policy 6 (SCHED_DEADLINE)', { out: s.r.out, err: s.r.err })
  t.equal(s.child[POLICY], '0', 'the child was reset')
})

ctest(t, 'scheduler: sched_getattr from inside reads back runtime, deadline, period and flags', { ...RUNC_NO('process.scheduler'), skip: !helper('sysc') && 'no C compiler' }, async (c, t) => {
  const b = c.bundle(['/bin/sysc', 'sched']) // the init itself, no shell in between
  installSysc(b.rootfs)
  b.mutate(cf => (cf.process.scheduler = {
    policy: 'SCHED_DEADLINE', runtime: 2000000, deadline: 8000000, period: 16000000,
    flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM', 'SCHED_FLAG_DL_OVERRUN'],
  }))
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const a = Object.fromEntries(r.out.split('\n').filter(Boolean).map(l => l.split('=')))
  t.equal(a.policy, '6', 'policy SCHED_DEADLINE', { out: r.out })
  t.equal(a.runtime, '2000000', 'runtime')
  t.equal(a.deadline, '8000000', 'deadline')
  t.equal(a.period, '16000000', 'period')
  t.equal(Number(a.flags) & 0x7, 0x7, 'flags RESET_ON_FORK | RECLAIM | DL_OVERRUN')
  const b2 = c.bundle(['/bin/sysc', 'sched'])
  installSysc(b2.rootfs)
  b2.mutate(cf => (cf.process.scheduler = { policy: 'SCHED_BATCH', nice: 7, flags: ['SCHED_FLAG_RESET_ON_FORK'] }))
  const r2 = await c.inside(b2)
  const a2 = Object.fromEntries(r2.out.split('\n').filter(Boolean).map(l => l.split('=')))
  t.equal(a2.policy, '3', 'policy SCHED_BATCH', { out: r2.out, err: r2.err })
  t.equal(a2.nice, '7', 'nice 7')
  t.equal(Number(a2.flags) & 0x1, 0x1, 'flag RESET_ON_FORK')
})

ctest(t, 'ioPriority: each class, read back with ionice', RUNC_NO('process.ioPriority'), async (c, t) => {
  const cases: [any, RegExp][] = [
    [{ class: 'IOPRIO_CLASS_IDLE', priority: 0 }, /^idle/m],
    [{ class: 'IOPRIO_CLASS_BE', priority: 6 }, /^best-effort: prio 6$/m],
    [{ class: 'IOPRIO_CLASS_RT', priority: 3 }, /^realtime: prio 3$/m],
  ]
  for (const [io, want] of cases) {
    const b = c.bundle()
    b.sh('ionice -p $$')
    b.mutate(cf => (cf.process.ioPriority = io))
    const r = await c.inside(b)
    t.equal(r.create.code, 0, `create ${io.class}`, { stderr: r.create.stderr })
    t.match(r.out, want, `${io.class} ${io.priority}`, { out: r.out, err: r.err })
  }
  const b = c.bundle()
  b.sh('ionice -p $$')
  const r = await c.inside(b)
  t.notMatch(r.out, /^(idle|realtime)/m, 'no ioPriority: the default (none / best-effort)', { out: r.out })
})

ctest(t, 'personality: LINUX32 and LINUX', RUNC_NO('linux.personality'), async (c, t) => {
  const b = c.bundle()
  b.sh('echo m=$(uname -m); echo p=$(cat /proc/self/personality)')
  b.mutate(cf => (cf.linux.personality = { domain: 'LINUX32' }))
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  if (process.arch === 'x64') t.match(r.out, /^m=i686$/m, 'uname -m: i686', { out: r.out })
  t.match(r.out, /^p=00000008$/m, '/proc/self/personality: PER_LINUX32')
  const b2 = c.bundle()
  b2.sh('echo p=$(cat /proc/self/personality)')
  b2.mutate(cf => (cf.linux.personality = { domain: 'LINUX' }))
  const r2 = await c.inside(b2)
  t.match(r2.out, /^p=00000000$/m, 'PER_LINUX', { out: r2.out, err: r2.err })
  const b3 = c.bundle()
  b3.mutate(cf => (cf.linux.personality = { domain: 'LINUX64' }))
  const cr = await c.create(b3, c.id())
  t.not(cr.code, 0, 'an unknown domain fails create')
})

ctest(t, 'memoryPolicy: modes and flags, seen in /proc/self/numa_maps', { ...RUNC_NO('linux.memoryPolicy'), skip: !fs.existsSync('/proc/self/numa_maps') && 'no NUMA support' }, async (c, t) => {
  const cases: [any, RegExp][] = [
    [{ mode: 'MPOL_BIND', nodes: '0' }, /^[0-9a-f]+ bind:0 /m],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, /^[0-9a-f]+ interleave=static:0 /m],
    [{ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] }, /^[0-9a-f]+ prefer=relative:0 /m],
    [{ mode: 'MPOL_LOCAL' }, /^[0-9a-f]+ local /m],
    [{ mode: 'MPOL_DEFAULT' }, /^[0-9a-f]+ default /m],
  ]
  for (const [mp, want] of cases) {
    const b = c.bundle()
    b.sh('exec cat /proc/self/numa_maps')
    b.mutate(cf => (cf.linux.memoryPolicy = mp))
    const r = await c.inside(b)
    t.equal(r.create.code, 0, `create ${mp.mode}`, { stderr: r.create.stderr })
    t.match(r.out, want, `${mp.mode} ${(mp.flags ?? []).join(',')}`, { out: r.out.split('\n').slice(0, 3).join('\n'), err: r.err })
  }
})

ctest(t, 'domainname', RUNC_NO('domainname'), async (c, t) => {
  const b = c.bundle()
  b.sh('echo d=$(cat /proc/sys/kernel/domainname)')
  b.mutate(cf => (cf.domainname = 'example.org'))
  const r = await c.inside(b)
  t.match(r.out, /^d=example\.org$/m, 'kernel.domainname', { out: r.out, err: r.err })
  t.not(readText('/proc/sys/kernel/domainname').trim(), 'example.org', 'host untouched')
})

ctest(t, 'session keyring: a new one per container, named after it; --no-new-keyring keeps the caller\'s', { ...runcTodo('runc 1.1.5 joins any searchable keyring named after the id'), skip: (!helper('sysc') && 'no C compiler') || (process.arch !== 'x64' && 'x86_64 numbers') }, async (c, t) => {
  // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) -> the session keyring's serial
  const getSession = `sysc ${NR.keyctl} 0 -3 0`
  const mk = () => {
    const b = c.bundle(['sh', '-c', `${getSession}; grep -i " keyring " /proc/keys; sleep 30`])
    installSysc(b.rootfs)
    b.mutate(cf => (cf.linux.maskedPaths = cf.linux.maskedPaths.filter((p: string) => p !== '/proc/keys')))
    return b
  }
  // two containers with the same id at once (two roots)
  const id = c.id()
  const b1 = mk()
  const c1 = await c.create(b1, id)
  const other = c.file('root2')
  fs.mkdirSync(other)
  const b2 = mk()
  const c2 = await c.create(b2, id, [], { noRoot: true, global: ['--root', other] })
  c.cleanups.push(() => spawnSync(RUNTIME, ['--root', other, 'delete', '--force', id]))
  t.equal(c1.code, 0, 'create 1', { stderr: c1.stderr })
  t.equal(c2.code, 0, 'create 2 (same id, other root)', { stderr: c2.stderr })
  await c.start(id)
  await c.rt(['--root', other, 'start', id], { noRoot: true })
  let o1 = '', o2 = ''
  for (let i = 0; i < 300 && !(/keyring/.test(o1) && /keyring/.test(o2)); i++) {
    await sleep(10)
    o1 = readText(c1.outFile)
    o2 = readText(c2.outFile)
  }
  const s1 = syscResults(o1)[NR.keyctl]?.[0], s2 = syscResults(o2)[NR.keyctl]?.[0]
  t.ok(s1 > 0 && s2 > 0, `both have a session keyring (${s1}, ${s2})`, { o1, o2 })
  t.not(s1, s2, 'not the same keyring: each container got a new one')
  const line = (o: string, s: number) => o.split('\n').find(l => l.startsWith(s.toString(16).padStart(8, '0') + ' ')) ?? ''
  t.match(line(o1, s1), new RegExp(` keyring\\s+${id}: `), 'named after the container', { o1 })
  const host = spawnSync(helper('sysc')!, [String(NR.keyctl), '0', '-3', '0'], { encoding: 'utf8' })
  const hostSerial = syscResults(host.stdout)[NR.keyctl]?.[0]
  t.not(s1, hostSerial, 'not the caller\'s session keyring')
  await c.rt(['--root', other, 'delete', '--force', id], { noRoot: true })
  await c.rt(['delete', '--force', id])

  const b3 = c.bundle(['sh', '-c', getSession])
  installSysc(b3.rootfs)
  const r3 = await c.inside(b3, { extra: ['--no-new-keyring'] })
  t.equal(syscResults(r3.out)[NR.keyctl]?.[0], hostSerial, '--no-new-keyring: the caller\'s session keyring', { out: r3.out, err: r3.err })
})

ctest(t, 'stdio: a non-root user never gets the host\'s /dev/null chowned; a pipe is its own', runcTodo('runc 1.1.5 leaves a fifo stdin to root'), async (c, t) => {
  // stdin is a null device of this test's own (c 1:3, like the host's /dev/null), so that nothing
  // else running on the host (crun 1.8 chowns /dev/null) can touch what is checked
  const nul = c.file('null')
  t.equal(spawnSync('mknod', ['-m', '666', nul, 'c', '1', '3']).status, 0, 'a private null device')
  const nfd = fs.openSync(nul, 'r')
  c.cleanups.push(() => fs.closeSync(nfd))
  const before = fs.statSync(nul)
  const hostBefore = fs.statSync('/dev/null')
  const b = c.bundle()
  b.sh('echo id=$(id -u); echo in=$(stat -L -c %u:%g /proc/self/fd/0); echo reopened >> /dev/stdout && echo out=ok')
  b.mutate(cf => (cf.process.user = { uid: 1000, gid: 1000 }))
  const id = c.id()
  const cr = await c.create(b, id, [], { stdin: nfd })
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  await c.start(id)
  t.equal(await c.waitExit(cr.pid), 0, 'exit 0', { err: readText(cr.errFile) })
  const out = readText(cr.outFile)
  t.match(out, /^id=1000$/m, 'ran as 1000')
  t.match(out, /^in=0:0$/m, 'stdin (a null device) is still root:root inside')
  t.match(out, /^out=ok$/m, 'stdout (a file, not a device) was made reopenable for the user')
  const after = fs.statSync(nul)
  t.same([after.uid, after.gid, after.mode & 0o7777], [0, 0, 0o666], 'the device node is still root:root 0666')
  t.equal(after.ctimeMs, before.ctimeMs, 'its ctime is unchanged: no chown or chmod at all')
  const host = fs.statSync('/dev/null')
  t.same([host.uid, host.gid, host.mode & 0o7777], [hostBefore.uid, hostBefore.gid, hostBefore.mode & 0o7777], 'the host /dev/null keeps its owner and mode')

  // the runtime given the host's /dev/null itself as stdin (the harness default)
  const b1 = c.bundle()
  b1.sh('echo in=$(stat -L -c %u:%g /proc/self/fd/0)')
  b1.mutate(cf => (cf.process.user = { uid: 1000, gid: 1000 }))
  const r1 = await c.inside(b1)
  t.match(r1.out, /^in=0:0$/m, 'host /dev/null as stdin: root:root inside', { out: r1.out, err: r1.err })
  const host2 = fs.statSync('/dev/null')
  t.same([host2.uid, host2.gid, host2.mode & 0o7777], [0, 0, 0o666], 'host /dev/null root:root 0666 afterwards')

  // stdin from a pipe (a fifo opened read-write, so nothing blocks): the user's, as runc does
  const fifo = c.file('stdin.fifo')
  spawnSync('mkfifo', [fifo])
  const fd = fs.openSync(fifo, fs.constants.O_RDWR)
  c.cleanups.push(() => fs.closeSync(fd))
  const b2 = c.bundle()
  b2.sh('echo in=$(stat -L -c %u:%g /proc/self/fd/0)')
  b2.mutate(cf => (cf.process.user = { uid: 1000, gid: 1001 }))
  const id2 = c.id()
  const cr2 = await c.create(b2, id2, [], { stdin: fd })
  t.equal(cr2.code, 0, 'create with a pipe as stdin', { stderr: cr2.stderr })
  await c.start(id2)
  t.equal(await c.waitExit(cr2.pid), 0, 'exit 0')
  t.match(readText(cr2.outFile), /^in=1000:1001$/m, 'the pipe belongs to the user', { out: readText(cr2.outFile) })
})

ctest(t, 'sysctl: namespaced keys apply inside; others, or ones whose namespace is missing, fail create', async (c, t) => {
  const b = c.bundle()
  b.sh('echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); echo shm=$(cat /proc/sys/kernel/shmmni); echo mq=$(cat /proc/sys/fs/mqueue/msg_max)')
  b.mutate(cf => (cf.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1234', 'fs.mqueue.msg_max': '42' }))
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  t.match(r.out, /^fwd=1$/m, 'net.ipv4.ip_forward (network ns)')
  t.match(r.out, /^shm=1234$/m, 'kernel.shmmni (ipc ns)')
  t.match(r.out, /^mq=42$/m, 'fs.mqueue.msg_max (ipc ns)')
  t.equal(readText('/proc/sys/kernel/shmmni').trim() === '1234', false, 'host kernel.shmmni untouched')

  const swappiness = readText('/proc/sys/vm/swappiness')
  const refused: [string, string, (cf: any) => void][] = [
    ['vm.swappiness', '10', () => undefined],
    ['kernel.msgmax', '1000', cf => (cf.linux.namespaces = cf.linux.namespaces.filter((n: any) => n.type !== 'ipc'))],
    ['net.ipv4.ip_forward', '1', cf => (cf.linux.namespaces = cf.linux.namespaces.filter((n: any) => n.type !== 'network'))],
  ]
  for (const [key, value, mut] of refused) {
    const b2 = c.bundle()
    b2.mutate(cf => {
      cf.linux.sysctl = { [key]: value }
      mut(cf)
    })
    const cr = await c.create(b2, c.id())
    t.not(cr.code, 0, `${key} refused`, { stderr: cr.stderr })
    t.match(errText(cr), new RegExp(key.replace(/\./g, '\\.')), 'named in the error')
  }
  t.equal(readText('/proc/sys/vm/swappiness'), swappiness, 'host vm.swappiness untouched')
  await c.assertNothingLeft(t, 'after the refused creates')
})

ctest(t, 'execCPUAffinity: not for the init; exec applies final after joining the cgroup', { ...RUNC_NO('execCPUAffinity'), skip: require('node:os').cpus().length < 2 && 'needs 2 CPUs' }, async (c, t) => {
  const all = statusField('self', 'Cpus_allowed_list')
  const b = c.bundle(['sh', '-c', 'grep Cpus_allowed_list /proc/self/status; sleep 1000'])
  b.mutate(cf => (cf.process.execCPUAffinity = { initial: '0', final: '1' }))
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  t.equal(statusField(cr.pid, 'Cpus_allowed_list'), all, `the init keeps every CPU (${all})`)
  await c.start(id)
  const pj = c.file('process.json')
  const proc = (aff: any) => ({ ...b.config.process, args: ['sh', '-c', 'grep Cpus_allowed_list /proc/self/status'], execCPUAffinity: aff })
  fs.writeFileSync(pj, JSON.stringify(proc({ initial: '0', final: '1' })))
  let r = await c.rt(['exec', '--process', pj, id])
  t.equal(r.code, 0, 'exec', { stderr: r.stderr })
  t.match(r.stdout, /^Cpus_allowed_list:\s+1$/m, 'final: CPU 1 only')
  fs.writeFileSync(pj, JSON.stringify(proc({ final: '0' })))
  r = await c.rt(['exec', '--process', pj, id])
  t.match(r.stdout, /^Cpus_allowed_list:\s+0$/m, 'final alone: CPU 0', { stderr: r.stderr })
  fs.writeFileSync(pj, JSON.stringify(proc({ initial: '1' })))
  r = await c.rt(['exec', '--process', pj, id])
  t.equal(r.code, 0, 'initial alone: exec works', { stderr: r.stderr })
  t.match(r.stdout, /^Cpus_allowed_list:\s+\S+$/m, 'and the process runs where the cgroup puts it', { out: r.stdout })
  fs.writeFileSync(pj, JSON.stringify(proc({ final: '0-x' })))
  r = await c.rt(['exec', '--process', pj, id])
  t.not(r.code, 0, 'a malformed list is refused')
})

ctest(t, 'capabilities: unknown names and ones the host cannot grant are warnings, skipped', runcTodo('runc 1.1.5 fails on a capability outside the bounding set'), async (c, t) => {
  const b = c.bundle()
  b.sh('grep -E "^Cap(Bnd|Eff)" /proc/self/status')
  b.mutate(cf => {
    for (const set of ['bounding', 'effective', 'permitted']) cf.process.capabilities[set].push('CAP_HULL_NOT_A_CAP', 'CAP_SYS_RESOURCE')
  })
  const hostHasResource = (BigInt('0x' + (statusField('self', 'CapBnd') ?? '0')) >> 24n) & 1n
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create succeeds', { stderr: r.create.stderr })
  t.match(r.create.stderr, /CAP_HULL_NOT_A_CAP/, 'warns about the unknown name')
  if (!hostHasResource) t.match(r.create.stderr, /CAP_SYS_RESOURCE/, 'warns about the capability this host lacks')
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
})

ctest(t, 'LSM: an AppArmor profile is an error here; SELinux labels are ignored', runcTodo('runc 1.1.5 fails on SELinux labels when SELinux is off'), async (c, t) => {
  const apparmor = readText('/sys/module/apparmor/parameters/enabled').trim() === 'Y'
  const b = c.bundle()
  b.mutate(cf => (cf.process.apparmorProfile = 'hull-test-profile'))
  const cr = await c.create(b, c.id())
  if (!apparmor) {
    t.not(cr.code, 0, 'create fails')
    t.match(errText(cr), /apparmor/i, 'says AppArmor')
  }
  const b2 = c.bundle()
  b2.sh('echo ran')
  b2.mutate(cf => {
    cf.process.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2'
    cf.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2'
  })
  const r = await c.inside(b2)
  t.equal(r.create.code, 0, 'labels: create succeeds', { stderr: r.create.stderr })
  t.match(r.out, /^ran$/m, 'and the container runs')
})

ctest(t, 'sysctl: refused in the host\'s network namespace joined by path; applied in another joined one', async (c, t) => {
  const hostFwd = readText('/proc/sys/net/ipv4/conf/lo/forwarding')
  const b = c.bundle()
  b.mutate(cf => {
    cf.linux.namespaces = cf.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : n))
    cf.linux.sysctl = { 'net.ipv4.conf.lo.forwarding': hostFwd.trim() === '1' ? '0' : '1' }
  })
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'the host\'s network namespace: create fails')
  t.match(errText(cr), /net\.ipv4\.conf\.lo\.forwarding.*host/, 'says why', { stderr: cr.stderr })
  t.equal(readText('/proc/sys/net/ipv4/conf/lo/forwarding'), hostFwd, 'host value unchanged')
  await c.assertNothingLeft(t, 'after the refused create')

  const ns = c.makeNetns()
  const b2 = c.bundle()
  b2.sh('cat /proc/sys/net/ipv4/conf/lo/forwarding')
  b2.mutate(cf => {
    cf.linux.namespaces = cf.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: ns } : n))
    cf.linux.sysctl = { 'net.ipv4.conf.lo.forwarding': '1' }
  })
  const r = await c.inside(b2)
  t.equal(r.create.code, 0, 'a namespace of its own, joined by path: create', { stderr: r.create.stderr })
  t.match(r.out, /^1$/m, 'applied inside', { out: r.out, err: r.err })
  const seen = spawnSync('nsenter', [`--net=${ns}`, 'cat', '/proc/sys/net/ipv4/conf/lo/forwarding'], { encoding: 'utf8' })
  t.equal(seen.stdout.trim(), '1', 'in that namespace, seen from the host side')
  t.equal(readText('/proc/sys/net/ipv4/conf/lo/forwarding'), hostFwd, 'host value unchanged')
})
