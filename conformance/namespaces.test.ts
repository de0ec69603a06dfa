// Namespaces: new, joined by path, user namespace maps.
import t from 'tap'
import * as fs from 'node:fs'
import { ctest, readText, runcTodo, statusField } from './lib/harness'

t.setTimeout(120000)

const NSFILE: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  ipc: 'ipc',
  uts: 'uts',
  mount: 'mnt',
  cgroup: 'cgroup',
  user: 'user',
  time: 'time',
}

function nsId(pid: number | 'self', f: string): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${f}`)
  } catch {
    return ''
  }
}

for (const set of [
  ['pid', 'network', 'ipc', 'uts', 'mount'],
  ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'],
  ['mount'],
]) {
  ctest(t, `namespaces [${set.join(',')}]: new ones differ from the host, the rest are shared`, async (c, t) => {
    const b = c.bundle(['sleep', '1000'])
    b.mutate(cf => {
      cf.linux.namespaces = set.map(type => ({ type }))
      // sysfs needs a private netns, mqueue a private ipc ns, hostname a private uts ns
      if (!set.includes('network')) cf.mounts = cf.mounts.filter((m: any) => m.type !== 'sysfs' && m.type !== 'cgroup')
      if (!set.includes('ipc')) cf.mounts = cf.mounts.filter((m: any) => m.type !== 'mqueue')
      if (!set.includes('uts')) delete cf.hostname
    })
    const id = c.id()
    const cr = await c.create(b, id)
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
    for (const [type, f] of Object.entries(NSFILE)) {
      if (type === 'user' || type === 'time') continue
      const host = nsId('self', f)
      const ctr = nsId(cr.pid, f)
      t.ok(ctr, `${f}: readable from outside`)
      if (set.includes(type)) t.not(ctr, host, `${type}: new namespace (${ctr})`)
      else t.equal(ctr, host, `${type}: host namespace shared`)
    }
    t.equal(nsId(cr.pid, 'user'), nsId('self', 'user'), 'user: host namespace shared')
    await c.start(id)
    if (set.includes('pid')) {
      t.equal(statusField(cr.pid, 'NSpid')?.split(/\s+/).pop(), '1', 'init is pid 1 in its pid namespace')
    }
  })
}

ctest(t, 'namespaces: inside view (pid 1, hostname, no host interfaces)', async (c, t) => {
  const b = c.bundle()
  b.sh('echo pid=$$; echo host=$(hostname); echo ifs=$(ls /sys/class/net | tr "\\n" " "); echo procs=$(ls -d /proc/[0-9]* | wc -l); echo comm1=$(cat /proc/1/comm)')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^pid=1$/m, 'shell is pid 1')
  t.match(r.out, /^host=conformance$/m, 'hostname from config')
  t.match(r.out, /^ifs=lo\s*$/m, 'only lo in the new network namespace')
  const procs = Number((r.out.match(/^procs=(\d+)$/m) || [])[1])
  t.ok(procs > 0 && procs < 8, `only the container's few processes are visible in /proc (${procs})`)
  t.match(r.out, /^comm1=sh$/m, '/proc/1 is the container init')
})

ctest(t, 'namespaces: join a network namespace by path', async (c, t) => {
  const nsPath = c.makeNetns()
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => (cf.linux.namespaces = cf.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: nsPath } : n))))
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  const want = `net:[${fs.statSync(nsPath).ino}]`
  t.equal(nsId(cr.pid, 'net'), want, 'init is in the named netns')
  t.not(nsId(cr.pid, 'net'), nsId('self', 'net'), 'not the host netns')
  await c.rt(['delete', '--force', id])
  t.ok(fs.existsSync(nsPath), 'the joined netns is not removed by delete')
})

ctest(t, 'namespaces: joining a nonexistent namespace path fails cleanly', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.linux.namespaces = cf.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: '/run/netns/hull-no-such-ns' } : n))))
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'create fails')
  t.ok(cr.stderr.trim().length > 0, 'with a message', { stderr: cr.stderr })
  await c.assertNothingLeft(t, 'after failed create')
})

ctest(t, 'user namespace: uid/gid maps visible inside and outside', async (c, t) => {
  const b = c.bundle()
  b.sh('cat /proc/self/uid_map; cat /proc/self/gid_map; echo id=$(id -u):$(id -g); grep -E "^(Uid|Gid):" /proc/self/status')
  b.mutate(cf => {
    cf.linux.namespaces.push({ type: 'user' })
    cf.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cf.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }]
    // a v1 cgroupfs mount is not allowed from a user namespace without a cgroup ns
    cf.mounts = cf.mounts.filter((m: any) => m.type !== 'cgroup')
  })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  t.match(readText(`/proc/${cr.pid}/uid_map`), /^\s*0\s+100000\s+65536\s*$/, 'outside: uid_map of the init')
  t.match(readText(`/proc/${cr.pid}/gid_map`), /^\s*0\s+200000\s+65536\s*$/, 'outside: gid_map of the init')
  t.not(nsId(cr.pid, 'user'), nsId('self', 'user'), 'outside: new user namespace')
  t.equal(statusField(cr.pid, 'Uid')?.split(/\s+/)[0], '100000', 'outside: init runs as host uid 100000')
  await c.start(id)
  t.equal(await c.waitExit(cr.pid), 0, 'exit 0', { err: readText(cr.errFile) })
  const out = readText(cr.outFile)
  const lines = out.split('\n')
  t.match(lines[0], /^\s*0\s+100000\s+65536\s*$/, 'inside: uid_map')
  t.match(lines[1], /^\s*0\s+200000\s+65536\s*$/, 'inside: gid_map')
  t.match(out, /^id=0:0$/m, 'inside: root in the namespace')
})

ctest(t, 'user namespace: non-root user inside maps to the right host uid', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => {
    cf.linux.namespaces.push({ type: 'user' })
    cf.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cf.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cf.mounts = cf.mounts.filter((m: any) => m.type !== 'cgroup')
    cf.process.user = { uid: 1000, gid: 1000 }
  })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  await c.start(id)
  await new Promise(r => setTimeout(r, 100))
  t.equal(statusField(cr.pid, 'Uid')?.split(/\s+/)[0], '101000', 'host uid = 100000 + 1000')
  t.equal(statusField(cr.pid, 'Gid')?.split(/\s+/)[0], '101000', 'host gid = 100000 + 1000')
})

ctest(t, 'time namespace with offsets (spec 1.2+)', runcTodo('runc 1.1.5 predates time namespaces in the spec'), async (c, t) => {
  const b = c.bundle()
  b.sh('cut -d. -f1 /proc/uptime')
  b.mutate(cf => {
    cf.linux.namespaces.push({ type: 'time' })
    cf.linux.timeOffsets = { monotonic: { secs: 864000, nanosecs: 0 }, boottime: { secs: 864000, nanosecs: 0 } }
  })
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create', { stderr: r.create.stderr })
  t.equal(r.exit, 0, 'exit 0')
  const up = Number(r.out.trim())
  t.ok(up >= 864000, `uptime inside is shifted by 10 days (${up})`)
})
