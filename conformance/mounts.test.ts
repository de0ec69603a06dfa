// Mounts: proc, tmpfs options, binds (ro/rw), devpts, /dev, readonly root, masked and readonly paths.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ctest, mountinfo, parseMountinfo, readText } from './lib/harness'

t.setTimeout(120000)

function opts(s: string): string[] {
  return s.split(',')
}

ctest(t, 'mounts: proc, tmpfs with options, bind ro and rw, devpts, mqueue, sysfs ro', async (c, t) => {
  const host = c.file('hostdir')
  fs.mkdirSync(host)
  fs.writeFileSync(path.join(host, 'hello'), 'from-host\n')
  const hostrw = c.file('hostrw')
  fs.mkdirSync(hostrw)
  const b = c.bundle()
  b.mutate(cf => {
    cf.mounts.push(
      { destination: '/mnt/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=1770'] },
      { destination: '/mnt/ro', type: 'bind', source: host, options: ['rbind', 'ro'] },
      { destination: '/mnt/rw', type: 'none', source: hostrw, options: ['bind'] },
    )
  })
  b.sh(
    [
      'cat /proc/self/mountinfo',
      'echo ==',
      'echo mode=$(stat -c %a /mnt/tmp)',
      'echo hello=$(cat /mnt/ro/hello)',
      'touch /mnt/ro/new 2>&1 | sed "s/^/rotouch=/"',
      'echo written > /mnt/rw/out && echo rwwrite=ok',
      'echo ptmx=$(stat -c %F /dev/pts/ptmx)',
      'echo 1 > /sys/kernel/profiling 2>/dev/null && echo sysw=yes || echo sysw=no',
    ].join('; '),
  )
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const [mi, rest] = r.out.split('==\n')
  const ms = parseMountinfo(mi)
  const at = (p: string) => ms.filter(m => m.mountPoint === p).pop()
  t.equal(at('/proc')?.fsType, 'proc', '/proc is procfs')
  const tmp = at('/mnt/tmp')
  t.equal(tmp?.fsType, 'tmpfs', '/mnt/tmp is tmpfs')
  for (const o of ['nosuid', 'nodev', 'noexec']) t.ok(opts(tmp?.options || '').includes(o), `tmpfs ${o}`)
  t.match(tmp?.superOptions || '', /size=1024k/, 'tmpfs size=1m')
  t.match(rest, /^mode=1770$/m, 'tmpfs mode=1770')
  const ro = at('/mnt/ro')
  t.ok(ro && opts(ro.options).includes('ro'), 'bind ro is read-only')
  t.match(rest, /^hello=from-host$/m, 'bind shows the host content')
  t.match(rest, /^rotouch=.*Read-only file system/m, 'write to the ro bind fails EROFS')
  t.notOk(fs.existsSync(path.join(host, 'new')), 'nothing written to the host through ro bind')
  t.match(rest, /^rwwrite=ok$/m, 'rw bind is writable')
  t.equal(readText(path.join(hostrw, 'out')), 'written\n', 'write through rw bind lands on the host dir')
  t.equal(at('/dev/pts')?.fsType, 'devpts', '/dev/pts is devpts')
  t.match(at('/dev/pts')?.superOptions || '', /ptmxmode=0?666/, 'devpts ptmxmode=0666')
  t.match(rest, /^ptmx=character special file$/m, '/dev/pts/ptmx is a char device')
  t.equal(at('/dev/mqueue')?.fsType, 'mqueue', '/dev/mqueue is mqueue')
  t.equal(at('/dev/shm')?.fsType, 'tmpfs', '/dev/shm is tmpfs')
  t.ok(at('/sys') && opts(at('/sys')!.options).includes('ro'), '/sys is read-only')
  t.match(rest, /^sysw=no$/m, 'cannot write to /sys')
})

ctest(t, 'mounts: container mounts are invisible to the host', async (c, t) => {
  const b = c.bundle(['sleep', '1000'])
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create')
  await c.start(id)
  const leaked = mountinfo().filter(m => m.mountPoint.startsWith(c.dir))
  t.same(
    leaked.map(m => m.mountPoint),
    [],
    'no mount under the bundle in the host mount namespace while running',
  )
  const inside = mountinfo(cr.pid)
  t.ok(
    inside.some(m => m.mountPoint === '/'),
    'the container has its own root',
  )
  t.notOk(
    inside.some(m => m.mountPoint.startsWith(c.dir)),
    'the container does not see the bundle path (pivot_root done)',
  )
})

ctest(t, 'mounts: default devices in /dev', async (c, t) => {
  const b = c.bundle()
  b.sh(
    'for d in null zero full random urandom tty; do echo "$d=$(stat -c "%F %t:%T %a" /dev/$d)"; done; ' +
      'for l in fd stdin stdout stderr ptmx; do echo "$l->$(readlink /dev/$l)"; done; echo x > /dev/null && echo nullw=ok',
  )
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  const want: Record<string, string> = { null: '1:3', zero: '1:5', full: '1:7', random: '1:8', urandom: '1:9', tty: '5:0' }
  for (const [d, mm] of Object.entries(want)) {
    const [maj, min] = mm.split(':').map(n => Number(n).toString(16))
    t.match(r.out, new RegExp(`^${d}=character special file ${maj}:${min} 666$`, 'm'), `/dev/${d} is char ${mm} mode 666`)
  }
  t.match(r.out, /^fd->\/proc\/self\/fd$/m, '/dev/fd -> /proc/self/fd')
  t.match(r.out, /^stdin->\/proc\/self\/fd\/0$/m, '/dev/stdin')
  t.match(r.out, /^stdout->\/proc\/self\/fd\/1$/m, '/dev/stdout')
  t.match(r.out, /^stderr->\/proc\/self\/fd\/2$/m, '/dev/stderr')
  t.match(r.out, /^ptmx->(pts\/ptmx|\/dev\/pts\/ptmx)$/m, '/dev/ptmx -> pts/ptmx')
  t.match(r.out, /^nullw=ok$/m, '/dev/null writable')
})

ctest(t, 'mounts: readonly root fails writes with EROFS, /dev and tmpfs stay writable', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => {
    cf.root.readonly = true
    cf.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] })
  })
  b.sh('touch /newfile 2>&1 | sed "s/^/root=/"; echo x > /tmp/ok && echo tmp=ok; echo x > /dev/shm/ok && echo shm=ok; awk \'$5 == "/"\' /proc/self/mountinfo')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^root=.*Read-only file system/m, 'write to / fails with EROFS')
  t.notOk(fs.existsSync(path.join(b.rootfs, 'newfile')), 'nothing written to the rootfs')
  t.match(r.out, /^tmp=ok$/m, 'tmpfs at /tmp writable')
  t.match(r.out, /^shm=ok$/m, '/dev/shm writable')
  t.match(r.out, /^\S+ \S+ \S+ \S+ \/ ro[, ]/m, 'root mounted ro')
})

ctest(t, 'mounts: masked paths read empty, readonly paths refuse writes', async (c, t) => {
  const b = c.bundle()
  fs.mkdirSync(path.join(b.rootfs, 'secretdir'))
  fs.writeFileSync(path.join(b.rootfs, 'secretdir', 'key'), 'SECRET\n')
  fs.writeFileSync(path.join(b.rootfs, 'secret.txt'), 'SECRET\n')
  fs.mkdirSync(path.join(b.rootfs, 'rodir'))
  b.mutate(cf => {
    cf.linux.maskedPaths.push('/secretdir', '/secret.txt', '/no/such/path')
    cf.linux.readonlyPaths.push('/rodir', '/no/such/ro')
  })
  b.sh(
    [
      'echo timer_list=$(cat /proc/timer_list | wc -c)',
      'test -e /proc/kcore && echo kcore=$(cat /proc/kcore | wc -c) || echo kcore=absent',
      'echo firmware=$(ls -A /sys/firmware | wc -l)',
      'echo secretdir=$(ls -A /secretdir | wc -l)',
      'echo secretfile=$(wc -c < /secret.txt)',
      'cat /secretdir/key 2>/dev/null | sed "s/^/leak=/"',
      'echo x > /secret.txt 2>/dev/null',
      '(touch /rodir/x) 2>&1 | sed "s/^/rodir=/"',
      '(echo 1 > /proc/sys/vm/drop_caches) 2>&1 | sed "s/^/procsys=/"',
      'echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq=yes || echo sysrq=no',
    ].join('; '),
  )
  const r = await c.inside(b)
  t.equal(r.create.code, 0, 'create (a masked/readonly path that does not exist is ignored)', { stderr: r.create.stderr })
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.ok(fs.statSync('/proc/timer_list').isFile(), 'host has /proc/timer_list')
  t.match(r.out, /^timer_list=0$/m, '/proc/timer_list (masked) reads empty')
  t.match(r.out, /^kcore=(0|absent)$/m, '/proc/kcore reads empty (this kernel may lack it)')
  t.match(r.out, /^firmware=0$/m, '/sys/firmware (masked dir) is empty')
  t.match(r.out, /^secretdir=0$/m, 'a masked rootfs dir is empty')
  t.match(r.out, /^secretfile=0$/m, 'a masked rootfs file reads empty')
  t.notMatch(r.out, /leak=/, 'masked content not readable')
  t.equal(readText(path.join(b.rootfs, 'secret.txt')), 'SECRET\n', 'masked file unchanged on disk')
  t.match(r.out, /^rodir=.*Read-only file system/m, 'readonly path refuses writes with EROFS')
  t.match(r.out, /^procsys=.*Read-only file system/m, '/proc/sys is read-only')
  t.match(r.out, /^sysrq=no$/m, '/proc/sysrq-trigger not writable')
})

ctest(t, 'mounts: destination created inside the rootfs only', async (c, t) => {
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '/a/b/c', type: 'tmpfs', source: 'tmpfs' }))
  b.sh('grep -c " /a/b/c " /proc/self/mountinfo')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.equal(r.out.trim(), '1', 'mounted at /a/b/c')
  t.ok(fs.statSync(path.join(b.rootfs, 'a/b/c')).isDirectory(), 'mount point made inside the rootfs')
})

ctest(t, 'mounts: bind of a single file', async (c, t) => {
  const f = c.file('single')
  fs.writeFileSync(f, 'one-file\n')
  const b = c.bundle()
  b.mutate(cf => cf.mounts.push({ destination: '/etc/single', type: 'bind', source: f, options: ['bind', 'ro'] }))
  b.sh('cat /etc/single')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.equal(r.out, 'one-file\n', 'file bind works')
  t.ok(fs.statSync(path.join(b.rootfs, 'etc/single')).isFile(), 'a file (not a dir) was made as the mount point')
})

// runc/crun extension that podman --read-only relies on (tmpfs on /run, /tmp, /var/tmp).
ctest(t, 'mounts: tmpcopyup fills a tmpfs with what the destination held, owners and modes kept', async (c, t) => {
  const b = c.bundle()
  const seed = path.join(b.rootfs, 'srv', 'seed')
  fs.mkdirSync(path.join(seed, 'sub'), { recursive: true })
  fs.writeFileSync(path.join(seed, 'file'), 'copied\n', { mode: 0o604 })
  fs.chownSync(path.join(seed, 'file'), 1234, 5678)
  fs.writeFileSync(path.join(seed, 'sub', 'deep'), 'deep\n')
  fs.symlinkSync('/etc/passwd', path.join(seed, 'link'))
  b.mutate(cf => {
    cf.root.readonly = true
    cf.mounts.push({ destination: '/srv/seed', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid', 'mode=755'] })
  })
  b.sh('cat /srv/seed/file /srv/seed/sub/deep; stat -c "%a %u:%g" /srv/seed/file; readlink /srv/seed/link; ' +
    'echo new > /srv/seed/new && echo writable; grep " /srv/seed " /proc/self/mountinfo | cut -d" " -f9')
  const r = await c.inside(b)
  t.equal(r.exit, 0, 'exit 0', { err: r.err })
  t.match(r.out, /^copied\ndeep\n604 1234:5678\n\/etc\/passwd\nwritable\ntmpfs\n$/, 'content, mode, owner and symlink copied into a writable tmpfs')
  t.notOk(fs.existsSync(path.join(seed, 'new')), 'the rootfs underneath is untouched')
})
