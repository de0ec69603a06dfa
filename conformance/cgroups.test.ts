// cgroups through the CLI: limits at create (read from the host's cgroup files), update from a file
// and from stdin (and a refused update keeps the old values), pause/resume with state, ps --format
// json, kill --all with children, events --stats, and what --systemd-cgroup does without systemd.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupDir, ctest, procAlive, readText, runcTodo } from './lib/harness'

t.setTimeout(180000)

const f = (ctrl: string, cg: string, file: string) => readText(path.join(cgroupDir(ctrl, cg) || '/nonexistent', file)).trim()

ctest(t, 'cgroups: v1 memory, cpu, cpuset, pids, devices limits at create', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => {
    cf.linux.resources = {
      memory: { limit: 96 * 1024 * 1024, reservation: 32 * 1024 * 1024, swap: 128 * 1024 * 1024 },
      cpu: { shares: 256, quota: 20000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 40 },
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }],
    }
  })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  const cg = b.cgroupsPath
  t.equal(f('memory', cg, 'memory.limit_in_bytes'), String(96 * 1024 * 1024), 'memory.limit_in_bytes')
  t.equal(f('memory', cg, 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024), 'memory.soft_limit_in_bytes')
  if (fs.existsSync(path.join(cgroupDir('memory', cg)!, 'memory.memsw.limit_in_bytes')))
    t.equal(f('memory', cg, 'memory.memsw.limit_in_bytes'), String(128 * 1024 * 1024), 'memsw = limit + swap as runc')
  t.equal(f('cpu', cg, 'cpu.shares'), '256', 'cpu.shares')
  t.equal(f('cpu', cg, 'cpu.cfs_quota_us'), '20000', 'cpu.cfs_quota_us')
  t.equal(f('cpuset', cg, 'cpuset.cpus'), '0', 'cpuset.cpus')
  t.equal(f('cpuset', cg, 'cpuset.mems'), '0', 'cpuset.mems')
  t.equal(f('pids', cg, 'pids.max'), '40', 'pids.max')
  const devices = f('devices', cg, 'devices.list')
  t.match(devices, /^c 1:3 rw/m, 'the allowed device is listed')
  t.notMatch(devices, /^a \*:\* rwm$/m, 'not everything is allowed')
  for (const ctrl of ['memory', 'cpu', 'cpuset', 'pids', 'devices', 'freezer'])
    t.ok(readText(path.join(cgroupDir(ctrl, cg)!, 'cgroup.procs')).split('\n').includes(String(cr.pid)), `init is in the ${ctrl} cgroup`)
  const unified = path.join('/sys/fs/cgroup/unified', cg, 'cgroup.procs')
  if (fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs'))
    t.ok(readText(unified).split('\n').includes(String(cr.pid)), 'hybrid host: init joined the cgroup2 hierarchy too')
})

ctest(t, 'cgroups: update from a file and from stdin; a refused update keeps the old values', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => { cf.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 30 } } })
  const id = c.id()
  t.equal((await c.create(b, id)).code, 0, 'create')
  t.equal((await c.start(id)).code, 0, 'start')
  const cg = b.cgroupsPath
  const file = c.file('res.json')
  fs.writeFileSync(file, JSON.stringify({ memory: { limit: 80 * 1024 * 1024 }, cpu: { shares: 300 } }))
  const u1 = await c.rt(['update', '--resources', file, id])
  t.equal(u1.code, 0, 'update --resources FILE', { stderr: u1.stderr })
  t.equal(u1.stdout + u1.stderr, '', 'silent')
  t.equal(f('memory', cg, 'memory.limit_in_bytes'), String(80 * 1024 * 1024), 'memory limit updated')
  t.equal(f('cpu', cg, 'cpu.shares'), '300', 'cpu.shares updated')
  const stdinFile = c.file('stdin.json')
  fs.writeFileSync(stdinFile, JSON.stringify({ pids: { limit: 50 } }))
  const fd = fs.openSync(stdinFile, 'r')
  const u2 = await c.rt(['update', '--resources', '-', id], { stdin: fd })
  fs.closeSync(fd)
  t.equal(u2.code, 0, 'update --resources - (containerd\'s form)', { stderr: u2.stderr })
  t.equal(f('pids', cg, 'pids.max'), '50', 'pids.max updated from stdin')
  const u3 = await c.rt(['update', '--pids-limit', '60', '--memory', '72m', id])
  t.equal(u3.code, 0, 'update with runc\'s flags', { stderr: u3.stderr })
  t.equal(f('pids', cg, 'pids.max'), '60', 'pids.max from --pids-limit')
  t.equal(f('memory', cg, 'memory.limit_in_bytes'), String(72 * 1024 * 1024), 'memory from --memory 72m')
  // An impossible cpuset: the update fails, says why, and leaves the earlier values alone.
  const u4 = await c.rt(['update', '--memory', '90m', '--cpuset-cpus', '999', id])
  t.not(u4.code, 0, 'an update the kernel refuses fails')
  t.match(u4.stderr, /cpuset|999/, 'and names what was refused')
  t.equal(f('memory', cg, 'memory.limit_in_bytes'), String(72 * 1024 * 1024), 'memory limit restored to its value before the failed update')
})

ctest(t, 'cgroups: pause, state paused, freezer FROZEN, resume', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  const id = c.id()
  t.equal((await c.create(b, id)).code, 0, 'create')
  t.equal((await c.start(id)).code, 0, 'start')
  const p = await c.rt(['pause', id])
  t.equal(p.code, 0, 'pause', { stderr: p.stderr })
  t.equal(f('freezer', b.cgroupsPath, 'freezer.state'), 'FROZEN', 'freezer.state FROZEN')
  t.equal((await c.state(id)).s?.status, 'paused', 'state says paused')
  const d = await c.rt(['delete', id])
  t.not(d.code, 0, 'plain delete of a paused container is refused')
  const r = await c.rt(['resume', id])
  t.equal(r.code, 0, 'resume', { stderr: r.stderr })
  t.equal(f('freezer', b.cgroupsPath, 'freezer.state'), 'THAWED', 'freezer.state THAWED')
  t.equal((await c.state(id)).s?.status, 'running', 'state says running')
  const r2 = await c.rt(['resume', id])
  t.not(r2.code, 0, 'resume of a running container fails')
})

ctest(t, 'cgroups: ps --format json is exactly a JSON array of host pids', async (c, t) => {
  const b = c.bundle(['sh', '-c', 'sleep 1000 & sleep 1000 & wait'])
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create')
  t.equal((await c.start(id)).code, 0, 'start')
  let pids: number[] = []
  for (let i = 0; i < 100; i++) {
    const r = await c.rt(['ps', '--format', 'json', id])
    t.equal(r.stderr, '', 'nothing on stderr (the shim unmarshals stdout+stderr)')
    pids = JSON.parse(r.stdout)
    if (pids.length >= 3) break
    await new Promise(res => setTimeout(res, 20))
  }
  t.ok(Array.isArray(pids) && pids.every(p => Number.isInteger(p)), 'an array of integers')
  t.ok(pids.includes(cr.pid), 'includes the init')
  t.ok(pids.length >= 3, `init and its two children (${pids.length})`)
  const tbl = await c.rt(['ps', id])
  t.match(tbl.stdout, /^UID\s+PID/, 'table: ps -ef header')
  t.match(tbl.stdout, new RegExp(`\\s${cr.pid}\\s`), 'table: the init\'s row')
})

ctest(t, 'cgroups: kill --all reaches every process of the container, children included', async (c, t) => {
  const b = c.bundle(['sh', '-c', 'trap "" TERM; sleep 1000 & sleep 1000 & wait'])
  b.mutate(cf => { cf.linux.namespaces = cf.linux.namespaces.filter((n: any) => n.type !== 'pid') })
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create (host pid namespace: killing the init does not take the rest)')
  t.equal((await c.start(id)).code, 0, 'start')
  let pids: number[] = []
  for (let i = 0; i < 100 && pids.length < 3; i++) {
    pids = readText(path.join(cgroupDir('pids', b.cgroupsPath)!, 'cgroup.procs')).split('\n').filter(Boolean).map(Number)
    if (pids.length < 3) await new Promise(res => setTimeout(res, 20))
  }
  t.ok(pids.length >= 3, `three processes (${pids.length})`)
  const k = await c.rt(['kill', '--all', id, 'KILL'])
  t.equal(k.code, 0, 'kill --all ID KILL', { stderr: k.stderr })
  for (const p of pids) t.ok(await c.waitExit(p, 5000) !== null || !procAlive(p), `pid ${p} is gone`)
})

ctest(t, 'cgroups: events --stats prints one stats object', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  b.mutate(cf => { cf.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } } })
  const id = c.id()
  t.equal((await c.create(b, id)).code, 0, 'create')
  t.equal((await c.start(id)).code, 0, 'start')
  const e = await c.rt(['events', '--stats', id])
  t.equal(e.code, 0, 'events --stats', { stderr: e.stderr })
  const ev = JSON.parse(e.stdout)
  t.equal(ev.type, 'stats', 'type stats')
  t.equal(ev.id, id, 'id')
  t.equal(ev.data?.pids?.limit, 20, 'pids.limit')
  t.ok(ev.data?.pids?.current >= 1, 'pids.current')
  t.equal(ev.data?.memory?.usage?.limit, 64 * 1024 * 1024, 'memory.usage.limit')
})

ctest(t, 'cgroups: a limit the kernel refuses fails create and leaves no cgroup', runcTodo('runc 1.1.5 prints the error as several log lines'), async (c, t) => {
  const b = c.bundle(['true'])
  b.mutate(cf => { cf.linux.resources = { cpu: { cpus: '999' } } })
  const id = c.id()
  const cr = await c.create(b, id)
  t.not(cr.code, 0, 'create fails')
  t.match(cr.stderr, /cpuset/, 'the error names the file')
  t.equal(cr.stderr.trim().split('\n').length, 1, 'one line')
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'cgroups: --systemd-cgroup on a host without systemd is a clear error', async (c, t) => {
  if (fs.existsSync('/run/systemd/system')) {
    t.pass('systemd runs here: not applicable')
    return
  }
  const b = c.bundle(['true'])
  b.mutate(cf => { cf.linux.cgroupsPath = 'system.slice:hull:' + path.basename(b.cgroupsPath) })
  const id = c.id()
  const cr = await c.create(b, id, [], { global: ['--systemd-cgroup'] })
  t.not(cr.code, 0, 'create fails')
  t.match(cr.stderr, /systemd/, 'and says systemd is the reason')
  await c.assertNothingLeft(t, 'after the refused create')
})

ctest(t, 'cgroups: a failed create also removes the parent cgroups it made', runcTodo('runc 1.1.5 leaves the parents of a nested cgroupsPath behind'), async (c, t) => {
  const b = c.bundle(['true'])
  b.mutate(cf => {
    cf.linux.cgroupsPath = `${b.cgroupsPath}/inner/leaf`
    cf.linux.resources = { cpu: { cpus: '999' } }
  })
  const cr = await c.create(b, c.id())
  t.not(cr.code, 0, 'create fails')
  for (const ctrl of ['memory', 'pids', 'cpuset', 'freezer'])
    t.notOk(fs.existsSync(cgroupDir(ctrl, b.cgroupsPath)!), `no ${ctrl} dir left at ${b.cgroupsPath} (nor inner/)`)
  t.notOk(fs.existsSync(path.join('/sys/fs/cgroup/unified', b.cgroupsPath)), 'nor in the cgroup2 hierarchy')
})
