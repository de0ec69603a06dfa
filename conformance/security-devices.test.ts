// /dev: the default nodes and links, linux.devices, a /dev bound from elsewhere, and the rootfs entries
// /proc, /sys, /dev that are symlinks (refused, nothing created on the host: CVE-2019-19921,
// CVE-2025-54867, CVE-2026-41579 classes, here without any mount over them); the v2 device controller
// (an eBPF program on the container's cgroup v2 dir).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupMounts, ctest, dirTree, errText, mountinfo, mountsUnder, runcTodo } from './lib/harness'
import { helper } from '../test/fixtures/security/helpers'

t.setTimeout(180000)

const listTree = dirTree
const hostMountsUnder = mountsUnder

ctest(t, 'devices: the default nodes and /dev links', async (c, t) => {
  const b = c.bundle()
  b.sh('for d in null zero full tty urandom random; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done; for l in fd stdin stdout stderr ptmx; do echo "/dev/$l -> $(readlink /dev/$l)"; done')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const want: [string, string][] = [['null', '1:3'], ['zero', '1:5'], ['full', '1:7'], ['tty', '5:0'], ['urandom', '1:9'], ['random', '1:8']]
  for (const [n, mm] of want) {
    const [maj, min] = mm.split(':').map(Number)
    t.match(r.out, new RegExp(`^/dev/${n} character special file ${maj.toString(16)}:${min.toString(16)} 666 0:0$`, 'm'), `/dev/${n} c ${mm} 0666 root`)
  }
  t.match(r.out, /^\/dev\/fd -> \/proc\/self\/fd$/m, '/dev/fd')
  t.match(r.out, /^\/dev\/stdin -> \/proc\/self\/fd\/0$/m, '/dev/stdin')
  t.match(r.out, /^\/dev\/stdout -> \/proc\/self\/fd\/1$/m, '/dev/stdout')
  t.match(r.out, /^\/dev\/stderr -> \/proc\/self\/fd\/2$/m, '/dev/stderr')
  t.match(r.out, /^\/dev\/ptmx -> pts\/ptmx$/m, '/dev/ptmx')
})

ctest(t, 'devices: linux.devices with mode and owner, usable by that owner', async (c, t) => {
  const b = c.bundle()
  b.sh('stat -c "%n %F %t:%T %a %u:%g" /dev/mynull; echo hi > /dev/mynull && echo write=ok')
  b.mutate(cf => {
    cf.linux.devices = [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 1000, gid: 1000 }]
    cf.process.user = { uid: 1000, gid: 1000 }
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^\/dev\/mynull character special file 1:3 600 1000:1000$/m, 'node, mode and owner')
  t.match(r.out, /^write=ok$/m, 'the device cgroup allows it')
})

ctest(t, 'devices: a /dev bound from a host dir gets no nodes or links', runcTodo('runc 1.1.5 stats /dev/null for the user setup'), async (c, t) => {
  const hostDev = c.file('host-dev')
  fs.mkdirSync(hostDev)
  fs.writeFileSync(path.join(hostDev, 'marker'), 'x')
  const b = c.bundle()
  b.sh('ls /dev')
  b.mutate(cf => {
    cf.mounts = cf.mounts.filter((m: any) => !m.destination.startsWith('/dev'))
    cf.mounts.push({ destination: '/dev', type: 'bind', source: hostDev, options: ['rbind', 'rw'] })
    cf.linux.maskedPaths = [] // files are masked with the container's /dev/null, which this /dev lacks
  })
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^marker$/m, 'the container sees the bound dir')
  t.same(listTree(hostDev), ['marker'], 'nothing created in the host dir')
})

for (const [name, cve, mountType] of [['dev', 'CVE-2026-41579', 'tmpfs'], ['proc', 'CVE-2019-19921', 'proc'], ['sys', 'CVE-2025-54867', 'sysfs']] as const) {
  const todo = name === 'proc' ? {} : runcTodo(`runc 1.1.5 follows a /${name} symlink it does not mount over`)
  ctest(t, `${cve}: rootfs /${name} is a symlink to a host dir and nothing mounts over it: create fails, nothing on the host`, todo, async (c, t) => {
    const host = c.file(`host-${name}`)
    fs.mkdirSync(host)
    const b = c.bundle()
    fs.rmSync(path.join(b.rootfs, name), { recursive: true, force: true })
    fs.symlinkSync(host, path.join(b.rootfs, name))
    b.mutate(cf => (cf.mounts = cf.mounts.filter((m: any) => m.destination !== `/${name}` && !m.destination.startsWith(`/${name}/`))))
    const before = mountinfo().length
    const cr = await c.create(b, c.id())
    t.not(cr.code, 0, 'create fails')
    t.match(errText(cr), new RegExp(`/${name}`), `the error names /${name}`, { stderr: cr.stderr })
    t.same(listTree(host), [], 'nothing created in the host dir')
    t.same(hostMountsUnder(host), [], 'nothing mounted on it')
    t.equal(mountinfo().length, before, 'no new mount on the host')
    await c.assertNothingLeft(t, 'after the refused create')
  })
  ctest(t, `${cve}: rootfs /${name} -> / with a ${mountType} mount over it: create fails, nothing on the host`, async (c, t) => {
    const b = c.bundle()
    fs.rmSync(path.join(b.rootfs, name), { recursive: true, force: true })
    fs.symlinkSync('/', path.join(b.rootfs, name))
    if (name === 'dev') b.mutate(cf => (cf.mounts = cf.mounts.filter((m: any) => m.destination === '/dev' || !m.destination.startsWith('/dev/'))))
    const before = mountinfo().map(m => m.line)
    const cr = await c.create(b, c.id())
    t.not(cr.code, 0, 'create fails')
    t.same(mountinfo().map(m => m.line).filter(l => !before.includes(l)), [], 'no new mount in the host mount namespace')
    await c.assertNothingLeft(t, 'after the refused create')
  })
}

// On v2-only hosts (on v1 and hybrid ones the v1 devices files enforce the rules; the program itself is
// tested on this kind of host too, by test/security-bootstrap.test.ts, against a bare v2 dir).
const mounts = cgroupMounts()
const v2 = mounts.length === 1 && mounts[0].fsType === 'cgroup2' ? mounts[0] : undefined
ctest(t, 'devices: the v2 device controller is an eBPF program on the container\'s v2 dir', { skip: (!v2 && 'not a cgroup v2-only host') || (!helper('devq') && 'no C compiler') }, async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  const dir = path.join(v2!.mountPoint, b.cgroupsPath)
  const q = spawnSync(helper('devq')!, [dir], { encoding: 'utf8' })
  t.match(q.stdout, /^progs [1-9]/m, 'a BPF_CGROUP_DEVICE program is attached', { out: q.stdout, err: q.stderr })
  await c.rt(['delete', '--force', id])
  t.notOk(fs.existsSync(dir), 'gone with the container\'s cgroup')
})
