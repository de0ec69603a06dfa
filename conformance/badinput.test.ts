// Bad input: every refusal is one clear line and leaves nothing behind.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Bundle, Ctx, ctest, errText, mountinfo, Result, runcTodo } from './lib/harness'

t.setTimeout(120000)

/** A failed create: non-zero, one non-empty line on stderr, nothing on stdout, nothing left. */
async function refused(c: Ctx, t: any, r: Result, re: RegExp | null, what: string) {
  t.not(r.code, 0, `${what}: create fails`)
  const lines = r.stderr.split('\n').filter(l => l.trim())
  t.equal(lines.length, 1, `${what}: exactly one line on stderr`, { stderr: r.stderr })
  t.equal(r.stdout, '', `${what}: nothing on stdout`)
  if (re) t.match(errText(r), re, `${what}: message says ${re}`)
  await c.assertNothingLeft(t, `${what}: after failed create`)
}

ctest(t, 'bad input: invalid JSON in config.json', async (c, t) => {
  const b = c.bundle()
  fs.writeFileSync(path.join(b.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": {')
  await refused(c, t, await c.create(b, c.id()), /json|config|unexpected|parse/i, 'invalid JSON')
})

ctest(t, 'bad input: config.json missing', async (c, t) => {
  const b = c.bundle()
  fs.rmSync(path.join(b.dir, 'config.json'))
  await refused(c, t, await c.create(b, c.id()), /config\.json|no such file/i, 'no config.json')
})

ctest(t, 'bad input: missing process.args', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => delete cf.process.args)
  await refused(c, t, await c.create(b, c.id()), /args/i, 'no args')
})

ctest(t, 'bad input: empty process.args', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.process.args = []))
  await refused(c, t, await c.create(b, c.id()), /args/i, 'args []')
})

ctest(t, 'bad input: missing args[0] binary (absolute path)', async (c, t) => {
  const b = c.bundle(['/no/such/binary'])
  // podman maps this text to exit 127
  await refused(c, t, await c.create(b, c.id()), /no such file or directory/i, '/no/such/binary')
})

ctest(t, 'bad input: missing args[0] binary (looked up in $PATH)', async (c, t) => {
  const b = c.bundle(['no-such-cmd'])
  await refused(c, t, await c.create(b, c.id()), /executable file not found in \$PATH/, 'no-such-cmd')
})

ctest(t, 'bad input: non-executable args[0]', async (c, t) => {
  const b = c.bundle(['/etc/passwd'])
  // podman maps this text to exit 126
  await refused(c, t, await c.create(b, c.id()), /permission denied/i, '/etc/passwd')
})

ctest(t, 'bad input: args[0] is a directory', async (c, t) => {
  const b = c.bundle(['/etc'])
  const r = await c.create(b, c.id())
  await refused(c, t, r, /permission denied|is a directory/i, '/etc')
})

for (const bad of ['../x', 'a/b', '..', '', 'x\ny']) {
  ctest(t, `bad input: container id ${JSON.stringify(bad)}`, async (c, t) => {
    const b = c.bundle()
    const before = fs.readdirSync(c.dir).sort()
    const r = await c.create(b, bad)
    c.ids.delete(bad)
    t.not(r.code, 0, 'create fails')
    t.ok(r.stderr.trim().length > 0, 'with a message', { stderr: r.stderr })
    t.same(fs.readdirSync(c.root), [], 'nothing under --root')
    t.same(fs.readdirSync(c.dir).filter(f => !/^c\d+\.(out|err|status)$|\.pid$/.test(f)).sort(), before.filter(f => !/^c\d+\./.test(f)), 'nothing created next to --root')
    t.notOk(fs.existsSync(path.join(c.root, '..', 'x')), 'no ../x escape')
    await c.assertNothingLeft(t, 'after failed create')
  })
}

ctest(t, 'bad input: nonexistent bundle', async (c, t) => {
  const fake = { dir: c.file('no-such-bundle') } as Bundle
  await refused(c, t, await c.create(fake, c.id()), /no such file or directory|not exist|bundle/i, 'missing bundle')
})

ctest(t, 'bad input: rootfs missing', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => (cf.root.path = 'no-such-rootfs'))
  await refused(c, t, await c.create(b, c.id()), /no such file or directory|rootfs|root/i, 'missing rootfs')
})

ctest(t, 'bad input: unknown namespace type', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.linux.namespaces.push({ type: 'bogus' }))
  await refused(c, t, await c.create(b, c.id()), /bogus|namespace/i, 'namespace bogus')
})

// config.md: a capability that cannot be mapped to the kernel MUST be logged as a
// warning, and the runtime SHOULD NOT fail.
ctest(t, 'bad input: unknown capability is a warning, not an error', async (c, t) => {
  const b = c.bundle()
  b.sh('grep CapBnd /proc/self/status')
  b.mutate(cf => cf.process.capabilities.bounding.push('CAP_BOGUS'))
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create succeeds', { stderr: r.create.stderr })
  t.match(r.create.stderr, /CAP_BOGUS/, 'a warning names CAP_BOGUS')
  t.match(r.out, /^CapBnd:\s+0000000020000420$/m, 'the known caps are applied')
})

ctest(t, 'bad input: unknown rlimit type', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.process.rlimits.push({ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }))
  await refused(c, t, await c.create(b, c.id()), /RLIMIT_BOGUS|rlimit/i, 'RLIMIT_BOGUS')
})

ctest(t, 'bad input: duplicate rlimit type (spec 1.1+: MUST error)', runcTodo('runc 1.1.5 applies duplicate rlimits silently'), async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }))
  await refused(c, t, await c.create(b, c.id()), /RLIMIT_NOFILE|duplicate|rlimit/i, 'duplicate RLIMIT_NOFILE')
})

ctest(t, 'bad input: empty mount destination', runcTodo('runc 1.1.5 prints two warnings and a misleading "error closing exec fds"'), async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '', type: 'tmpfs', source: 'tmpfs' }))
  const r = await c.create(b, c.id())
  await refused(c, t, r, null, 'destination ""')
})

// Spec 1.3 (runtime-spec#1225) deprecates relative destinations and says they are
// relative to "/"; runc 1.1.5 accepts them with a warning. Either refuse cleanly or
// mount inside the rootfs: never anywhere else.
ctest(t, 'bad input: non-absolute mount destination stays inside the rootfs or is refused', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: 'relmnt', type: 'tmpfs', source: 'tmpfs' }))
  b.sh('grep -c " /relmnt " /proc/self/mountinfo')
  const hostBefore = mountinfo().length
  const r = await c.inside(b, {})
  if (r.create.code === 0) {
    t.equal(r.out.trim(), '1', 'accepted: mounted at /relmnt (relative to /)')
    t.notOk(fs.existsSync(path.join(c.dir, 'relmnt')), 'nothing made next to the bundle')
    t.notOk(fs.existsSync(path.join(b.dir, 'relmnt')), 'nothing made in the bundle dir')
  } else {
    await refused(c, t, r.create, /destination|absolute|relmnt/i, 'relative destination')
  }
  t.ok(mountinfo().length <= hostBefore, 'no new host mount')
})

ctest(t, 'bad input: dot-dot mount destination stays inside the rootfs', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '/../../../../escaped', type: 'tmpfs', source: 'tmpfs' }))
  b.sh('grep -c " /escaped " /proc/self/mountinfo')
  const r = await c.inside(b)
  t.notOk(fs.existsSync(path.join(c.dir, 'escaped')), 'nothing next to the bundle')
  t.notOk(fs.existsSync('/escaped'), 'nothing at host /escaped')
  if (r.create.code === 0) t.equal(r.out.trim(), '1', 'mounted at /escaped inside the container')
  else t.pass('refused')
})

ctest(t, 'bad input: unknown mount type fails cleanly', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '/mnt/x', type: 'nosuchfs', source: 'none' }))
  await refused(c, t, await c.create(b, c.id()), /nosuchfs|no such device|mount/i, 'type nosuchfs')
})

ctest(t, 'bad input: bind source missing', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '/mnt/x', type: 'bind', source: c.file('nope'), options: ['bind'] }))
  await refused(c, t, await c.create(b, c.id()), /no such file or directory/i, 'missing bind source')
})
