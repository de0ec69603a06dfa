// The process: user, env, cwd, umask, rlimits, capabilities, noNewPrivileges,
// hostname, oomScoreAdj, seccomp, and cgroup resources.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupDir, ctest, errText, kv, readText, sleep, statusField } from './lib/harness'

t.setTimeout(120000)

const STATUS = 'grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status'

const CAP: Record<string, number> = { CAP_CHOWN: 0, CAP_KILL: 5, CAP_NET_BIND_SERVICE: 10, CAP_SYS_ADMIN: 21, CAP_AUDIT_WRITE: 29 }
function mask(...caps: string[]): string {
  let m = 0n
  for (const c of caps) m |= 1n << BigInt(CAP[c])
  return m.toString(16).padStart(16, '0')
}

ctest(t, 'process: user uid/gid/additionalGids', async (c, t) => {
  const b = c.bundle()
  b.sh(STATUS + '; echo id=$(id -u):$(id -g)')
  b.mutate(cf => (cf.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20] }))
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const s = kv(r.out)
  t.match(s.Uid, /^1000\s+1000\s+1000\s+1000$/, 'Uid: real effective saved fs = 1000')
  t.match(s.Gid, /^1001\s+1001\s+1001\s+1001$/, 'Gid = 1001')
  t.same(s.Groups?.split(/\s+/).filter(Boolean).sort(), ['10', '20'], 'Groups = additionalGids only (no root group left)')
  t.equal(s.id, '1000:1001', 'id -u / -g')
})

ctest(t, 'process: root user has no supplementary groups beyond the config', async (c, t) => {
  const b = c.bundle()
  b.sh(STATUS)
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0')
  const g = kv(r.out).Groups?.split(/\s+/).filter(Boolean) ?? []
  t.ok(g.every(x => x === '0'), `no inherited host groups (${g.join(' ')})`)
})

ctest(t, 'process: env, cwd (created if missing), umask', async (c, t) => {
  const b = c.bundle()
  b.sh('env; echo cwd=$(pwd); echo umask=$(umask)')
  b.mutate(cf => {
    cf.process.env = ['PATH=/bin:/usr/bin', 'FOO=bar', 'WITH_EQ=a=b=c', 'EMPTY=', 'SPACES=x y  z']
    cf.process.cwd = '/work/dir'
    cf.process.user.umask = 0o027
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const lines = r.out.split('\n')
  for (const e of ['PATH=/bin:/usr/bin', 'FOO=bar', 'WITH_EQ=a=b=c', 'EMPTY=', 'SPACES=x y  z']) t.ok(lines.includes(e), `env ${e}`)
  t.notOk(lines.some(l => l.startsWith('RUNTIME=') || l.startsWith('TAP') || l.startsWith('_OCI') || l.startsWith('NODE_')), 'no caller environment leaks in')
  t.ok(lines.includes('cwd=/work/dir'), 'cwd')
  t.ok(fs.statSync(path.join(b.rootfs, 'work/dir')).isDirectory(), 'missing cwd created inside the rootfs')
  t.ok(lines.includes('umask=0027'), 'umask 0027')
})

ctest(t, 'process: default umask is 0022', async (c, t) => {
  const b = c.bundle()
  b.sh('umask')
  const r = await c.inside(b)
  t.equal(r.out.trim(), '0022', 'umask 0022')
})

ctest(t, 'process: rlimits lowered are visible in /proc/self/limits', async (c, t) => {
  const b = c.bundle()
  b.sh('grep -E "^Max (open files|processes|core file size)" /proc/self/limits')
  b.mutate(cf => {
    cf.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 256, hard: 512 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    ]
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^Max open files\s+256\s+512\s+files/m, 'NOFILE 256/512')
  t.match(r.out, /^Max core file size\s+0\s+0\s+bytes/m, 'CORE 0/0')
})

ctest(t, 'process: raising a hard rlimit above the host fails create clearly', async (c, t) => {
  const host = Number(readText('/proc/self/limits').match(/^Max open files\s+\d+\s+(\d+)/m)?.[1])
  t.ok(host > 0, `host hard NOFILE = ${host}`)
  const b = c.bundle()
  b.mutate(cf => (cf.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: host * 2 }]))
  const cr = await c.create(b, c.id())
  // root here lacks CAP_SYS_RESOURCE, so the kernel refuses; a runtime must report it, not skip it
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /rlimit|RLIMIT_NOFILE|operation not permitted/i, 'names the rlimit / EPERM', { stderr: cr.stderr })
  t.ok(cr.stderr.trim().split('\n').length <= 2, 'a short message', { stderr: cr.stderr })
  await c.assertNothingLeft(t, 'after failed create')
})

ctest(t, 'process: capabilities sets and CVE-2022-29162 (no inheritable by default)', async (c, t) => {
  const b = c.bundle()
  b.sh(STATUS)
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0')
  const s = kv(r.out)
  const def = mask('CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE')
  t.equal(s.CapBnd, def, 'CapBnd = the 3 default caps')
  t.equal(s.CapEff, def, 'CapEff')
  t.equal(s.CapPrm, def, 'CapPrm')
  t.equal(s.CapInh, '0000000000000000', 'CapInh empty')
  t.equal(s.CapAmb, '0000000000000000', 'CapAmb empty: ambient needs inheritable too')
  t.equal(s.NoNewPrivs, '1', 'NoNewPrivs: 1')

  const sets = {
    bounding: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
    effective: ['CAP_KILL'],
    permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    inheritable: ['CAP_NET_BIND_SERVICE'],
    ambient: ['CAP_NET_BIND_SERVICE'],
  }
  const bnd = mask('CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN')
  // uid 0: execve gives root every cap of the bounding set (no file caps needed)
  const b2 = c.bundle()
  b2.sh(STATUS + '; (mount -t tmpfs none /mnt) 2>&1 | sed "s/^/mount=/"')
  b2.mutate(cf => {
    cf.process.capabilities = sets
    cf.process.noNewPrivileges = false
  })
  const r2 = await c.inside(b2)
  t.equal(r2.exit, 0, 'exit 0', { err: r2.err })
  const s2 = kv(r2.out)
  t.equal(s2.CapBnd, bnd, 'root: CapBnd')
  t.equal(s2.CapPrm, bnd, 'root: CapPrm = bounding after exec')
  t.equal(s2.CapEff, bnd, 'root: CapEff = bounding after exec')
  t.equal(s2.CapInh, mask('CAP_NET_BIND_SERVICE'), 'root: CapInh')
  t.equal(s2.CapAmb, mask('CAP_NET_BIND_SERVICE'), 'root: CapAmb')
  t.equal(s2.NoNewPrivs, '0', 'NoNewPrivs: 0 when false')
  t.match(r2.out, /^mount=.*(denied|not permitted)/im, 'mount without CAP_SYS_ADMIN in the bounding set fails')

  // non-root: after execve only the ambient set survives in permitted/effective
  const b3 = c.bundle()
  b3.sh(STATUS)
  b3.mutate(cf => {
    cf.process.capabilities = sets
    cf.process.user = { uid: 1000, gid: 1000 }
  })
  const r3 = await c.inside(b3)
  t.equal(r3.exit, 0, 'exit 0', { err: r3.err })
  const s3 = kv(r3.out)
  const amb = mask('CAP_NET_BIND_SERVICE')
  t.equal(s3.CapBnd, bnd, 'uid 1000: CapBnd')
  t.equal(s3.CapAmb, amb, 'uid 1000: CapAmb')
  t.equal(s3.CapPrm, amb, 'uid 1000: CapPrm = ambient')
  t.equal(s3.CapEff, amb, 'uid 1000: CapEff = ambient')
  t.equal(s3.CapInh, amb, 'uid 1000: CapInh')
})

ctest(t, 'process: hostname, oomScoreAdj', async (c, t) => {
  const b = c.bundle()
  b.sh('echo host=$(hostname); echo oom=$(cat /proc/self/oom_score_adj)')
  b.mutate(cf => {
    cf.hostname = 'my-host.example'
    cf.process.oomScoreAdj = 123
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^host=my-host.example$/m, 'hostname')
  t.match(r.out, /^oom=123$/m, 'oom_score_adj 123')
  t.equal(readText('/proc/self/oom_score_adj').trim(), '0', 'host (this test process) untouched')
})

ctest(t, 'process: seccomp ERRNO rule for mkdir with defaultAction ALLOW', async (c, t) => {
  const b = c.bundle()
  b.sh('(mkdir /tmp/blocked) 2>&1 | sed "s/^/mkdir=/"; test -d /tmp/blocked && echo made=yes || echo made=no; echo x > /tmp/file && echo write=ok; ' + STATUS)
  b.mutate(cf => {
    cf.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    }
  })
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^mkdir=.*Operation not permitted/m, 'mkdir fails with EPERM')
  t.match(r.out, /^made=no$/m, 'no dir made')
  t.notOk(fs.existsSync(path.join(b.rootfs, 'tmp/blocked')), 'not on disk either')
  t.match(r.out, /^write=ok$/m, 'other syscalls allowed')
  t.equal(kv(r.out).Seccomp, '2', 'Seccomp: 2 (filter mode)')
})

ctest(t, 'process: seccomp errnoRet is honoured', async (c, t) => {
  const b = c.bundle()
  b.sh('echo hi; (mkdir /tmp/x) 2>&1 | sed "s/^/mkdir=/"')
  b.mutate(cf => {
    cf.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    }
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^hi$/m, 'ran')
  t.match(r.out, /^mkdir=.*not implemented/im, 'mkdir gets ENOSYS (errnoRet 38)')
})

ctest(t, 'cgroups: memory, pids and cpu limits written under <ctrl>/<cgroupsPath>', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => {
    cf.linux.resources = {
      ...cf.linux.resources,
      memory: { limit: 64 * 1024 * 1024 },
      pids: { limit: 50 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
    }
  })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  const cg = b.cgroupsPath
  const f = (ctrl: string, file: string) => readText(path.join(cgroupDir(ctrl, cg) || '/nonexistent', file)).trim()
  t.equal(f('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024), 'memory.limit_in_bytes')
  t.equal(f('pids', 'pids.max'), '50', 'pids.max')
  t.equal(f('cpu', 'cpu.shares'), '512', 'cpu.shares')
  t.equal(f('cpu', 'cpu.cfs_quota_us'), '50000', 'cpu.cfs_quota_us')
  t.equal(f('cpu', 'cpu.cfs_period_us'), '100000', 'cpu.cfs_period_us')
  for (const ctrl of ['memory', 'pids', 'cpu', 'freezer', 'devices']) {
    t.ok(f(ctrl, 'cgroup.procs').split('\n').includes(String(cr.pid)), `init is in ${ctrl}:${cg}`)
  }
  const own = readText(`/proc/${cr.pid}/cgroup`)
  t.match(own, new RegExp(`:memory:${cg}$`, 'm'), '/proc/<init>/cgroup names the cgroupsPath')
  await c.start(id)
  await c.rt(['delete', '--force', id])
  await c.assertNothingLeft(t, 'after delete --force')
})

ctest(t, 'cgroups: pids limit is enforced', async (c, t) => {
  const b = c.bundle()
  b.sh('(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done) 2>/dev/null; sleep 30')
  b.mutate(cf => (cf.linux.resources = { ...cf.linux.resources, pids: { limit: 5 } }))
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  await c.start(id)
  await sleep(500)
  const dir = cgroupDir('pids', b.cgroupsPath) || '/nonexistent'
  const n = readText(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean).length
  t.ok(n > 1 && n <= 5, `at most 5 processes in the cgroup (${n})`)
  t.match(readText(path.join(dir, 'pids.events')), /^max [1-9]/m, 'pids.events counts refused forks')
})

ctest(t, 'cgroups: devices cgroup denies mknod-ed devices not allowed', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => {
    cf.process.capabilities.bounding.push('CAP_MKNOD')
    cf.process.capabilities.effective.push('CAP_MKNOD')
    cf.process.capabilities.permitted.push('CAP_MKNOD')
    cf.process.args = ['sh', '-c', 'mknod /dev/sda b 8 0 && (head -c1 /dev/sda) 2>&1 | sed "s/^/sda=/"; true']
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^sda=.*(not permitted|denied)/im, 'opening a device outside the allow list fails')
})

ctest(t, 'process: state pid is the process; init has the configured cgroup before start', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create')
  t.equal(statusField(cr.pid, 'NoNewPrivs') !== undefined, true, 'init readable from the host')
  t.match(readText(`/proc/${cr.pid}/cgroup`), new RegExp(`:pids:${b.cgroupsPath}$`, 'm'), 'init joined the cgroup at create')
})

// runc sets HOME from the container's /etc/passwd when process.env has none (and "/" otherwise).
ctest(t, 'process: HOME defaults to the user\'s home in the container /etc/passwd, an explicit HOME wins', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => {
    cf.process.env = cf.process.env.filter((e: string) => !e.startsWith('HOME='))
  })
  b.sh('echo home=$HOME')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^home=\/root$/m, 'uid 0 gets /root from the image\'s /etc/passwd')
  const b2 = c.bundle()
  b2.mutate(cf => {
    cf.process.env = [...cf.process.env.filter((e: string) => !e.startsWith('HOME=')), 'HOME=/elsewhere']
    cf.process.user = { uid: 4242, gid: 4242 }
  })
  b2.sh('echo home=$HOME')
  const r2 = await c.inside(b2)
  t.match(r2.out, /^home=\/elsewhere$/m, 'a given HOME is kept')
  const b3 = c.bundle()
  b3.mutate(cf => {
    cf.process.env = cf.process.env.filter((e: string) => !e.startsWith('HOME='))
    cf.process.user = { uid: 4242, gid: 4242 }
  })
  b3.sh('echo home=$HOME')
  const r3 = await c.inside(b3)
  t.match(r3.out, /^home=\/$/m, 'a uid without a passwd entry gets /')
})
