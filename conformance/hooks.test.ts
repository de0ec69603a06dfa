// OCI hooks on real containers (runtime-spec config.md "POSIX-platform Hooks", runtime.md
// "Lifecycle"): when each kind runs, with which status, pid, namespaces, args and env, in order;
// timeouts; what a failing hook of each kind does, and that nothing is left behind.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Bundle, Ctx, ctest, errText, IS_RUNC, procAlive, readText, runcTodo, sleep } from './lib/harness'
import { validateState } from '../lib/validate'

t.setTimeout(240000)

// Appends one record per run to the log given as $2: what the hook saw.
const HOOK = `#!/bin/sh
kind=$1; log=$2; shift 2
state=$(cat)
pid=$(echo "$state" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')
{
  echo "kind=$kind"
  echo "args=$*"
  echo "state=$state"
  echo "mnt=$(readlink /proc/self/ns/mnt)"
  echo "uts=$(readlink /proc/self/ns/uts)"
  echo "pidns=$(readlink /proc/self/ns/pid)"
  echo "hostname=$(cat /proc/sys/kernel/hostname)"
  # the shell's own pid as this /proc sees it (createContainer: host procfs, container pid ns)
  me=$(cut -d' ' -f4 /proc/self/stat)
  echo "env=$(tr '\\n\\0' ' \\036' < /proc/$me/environ)"
  [ -n "$pid" ] && echo "comm=$(cat /proc/$pid/comm 2>/dev/null)"
  echo "end"
} >> "$log"
`

interface Rec { kind: string; args: string; state: any; mnt: string; uts: string; pidns: string; hostname: string; env: string; comm?: string }

function parseLog(text: string): Rec[] {
  const out: Rec[] = []
  let cur: any = {}
  for (const line of text.split('\n')) {
    if (line === 'end') {
      try {
        cur.state = JSON.parse(cur.state)
      } catch {
        /* left as text: the test says so */
      }
      out.push(cur)
      cur = {}
      continue
    }
    const i = line.indexOf('=')
    if (i > 0) cur[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

/**
 * The environment a hook was exec'd with (from /proc/<pid>/environ, so no shell adds to it). Under tap,
 * tap's process-info module is loaded into every Node process it spawns (NODE_OPTIONS) and adds its
 * variables to *their* children too, the runtime's hooks included: those are not the runtime's doing.
 */
function ownEnv(text: string): string {
  // entries end in \x1e (their NULs); newlines inside values became spaces
  return text.split('\x1e').filter(e => e && !/^(NODE_OPTIONS|_TAPJS_)/.test(e)).sort().join(' ')
}

/** A bundle with /shared bound to a host dir, the hook script on the host and in the rootfs. */
function setup(c: Ctx, args: string[]): { b: Bundle; hook: string; shared: string; log: string } {
  const shared = c.file('shared')
  fs.mkdirSync(shared, { recursive: true })
  const b = c.bundle(args)
  const hook = c.file('hook.sh')
  fs.writeFileSync(hook, HOOK, { mode: 0o755 })
  fs.writeFileSync(path.join(b.rootfs, 'hook.sh'), HOOK, { mode: 0o755 })
  b.config.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] })
  b.write()
  return { b, hook, shared, log: path.join(shared, 'log') }
}

/** A host script that runs `body` (sh); its path. */
function script(c: Ctx, name: string, body: string): string {
  const p = c.file(name)
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return p
}

const MSG_TODO = runcTodo('runc 1.1.5 says "error running hook #N" without the hook kind')

ctest(
  t,
  'hooks: every kind at its moment, in order, with its status, pid, namespaces, args and only its env',
  runcTodo('runc 1.1.5 runs poststart inside create, before the process starts, and gives createContainer/startContainer the pid inside the container'),
  async (c, t) => {
    const { b, hook, log } = setup(c, ['sleep', '1000'])
    const h = (kind: string, inContainer = false) => ({
      path: inContainer ? '/hook.sh' : hook,
      args: ['hook', kind, inContainer ? '/shared/log' : log, 'extra arg'],
      env: [`KIND=${kind}`, 'A=b=c'],
      timeout: 30,
    })
    b.config.annotations = { 'org.hull.hooks': 'yes', other: 'x y' }
    b.config.hooks = {
      prestart: [h('prestart')],
      createRuntime: [h('createRuntime'), h('createRuntime2')],
      createContainer: [h('createContainer')],
      startContainer: [h('startContainer', true)],
      poststart: [h('poststart')],
      poststop: [h('poststop')],
    }
    b.write()
    const id = c.id()
    // The runtime's environment, with a marker no hook may see.
    const env = { ...process.env, HULL_CONF_MARKER: 'runtime-env-must-not-leak' }
    const cr = await c.create(b, id, [], { env })
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
    if (cr.code !== 0) return
    const after = parseLog(readText(log))
    t.same(after.map(r => r.kind), ['prestart', 'createRuntime', 'createRuntime2', 'createContainer'], 'create ran prestart, createRuntime (in order), createContainer')
    const initMnt = fs.readlinkSync(`/proc/${cr.pid}/ns/mnt`)
    const initPidns = fs.readlinkSync(`/proc/${cr.pid}/ns/pid`)
    const initUts = fs.readlinkSync(`/proc/${cr.pid}/ns/uts`)
    const hostMnt = fs.readlinkSync('/proc/self/ns/mnt')
    const hostPidns = fs.readlinkSync('/proc/self/ns/pid')

    const st = await c.rt(['start', id], { env })
    t.equal(st.code, 0, 'start', { stderr: st.stderr })
    const d = await c.rt(['delete', '--force', id], { env })
    t.equal(d.code, 0, 'delete', { stderr: d.stderr })
    t.equal(errText(d), '', 'delete prints nothing')

    const recs = parseLog(readText(log))
    t.same(
      recs.map(r => r.kind),
      ['prestart', 'createRuntime', 'createRuntime2', 'createContainer', 'startContainer', 'poststart', 'poststop'],
      'lifecycle order',
    )
    const status: Record<string, string> = {
      prestart: 'creating', createRuntime: 'creating', createRuntime2: 'creating', createContainer: 'creating',
      startContainer: 'created', poststart: 'running', poststop: 'stopped',
    }
    const inContainer = new Set(['createContainer', 'startContainer'])
    for (const r of recs) {
      const k = r.kind
      t.type(r.state, 'object', `${k}: state on stdin is JSON`, { state: r.state })
      if (typeof r.state !== 'object') continue
      t.equal(r.state.status, status[k], `${k}: status ${status[k]}`)
      if (k === 'poststop') t.notOk('pid' in r.state, 'poststop: no pid (the container is gone)')
      else t.equal(r.state.pid, cr.pid, `${k}: pid is the init's host pid`)
      t.equal(r.state.id, id, `${k}: id`)
      t.equal(r.state.bundle, b.dir, `${k}: bundle`)
      t.match(r.state.ociVersion, /^\d+\.\d+\.\d+/, `${k}: ociVersion`)
      t.same(r.state.annotations, b.config.annotations, `${k}: annotations`)
      t.same(validateState(r.state), [], `${k}: a valid state document`)
      t.equal(r.args, 'extra arg', `${k}: its args reach it (argv[0] 'hook' aside)`)
      t.equal(ownEnv(r.env), `A=b=c KIND=${k}`, `${k}: only the hook's own env`, { env: r.env })
      if (inContainer.has(k)) {
        t.equal(r.mnt, initMnt, `${k}: container mount namespace`)
        t.equal(r.pidns, initPidns, `${k}: container pid namespace`)
        t.equal(r.uts, initUts, `${k}: container uts namespace`)
      } else {
        t.equal(r.mnt, hostMnt, `${k}: runtime mount namespace`)
        t.equal(r.pidns, hostPidns, `${k}: runtime pid namespace`)
      }
    }
    const byKind = Object.fromEntries(recs.map(r => [r.kind, r]))
    t.equal(byKind.startContainer?.hostname, 'conformance', 'startContainer: the container hostname is set')
    t.equal(byKind.poststart?.comm, 'sleep', 'poststart: the init already is the user process')
    t.equal(byKind.createContainer?.comm === 'sleep', false, 'createContainer: before the user process')
  },
)

ctest(t, 'hooks: a failing createRuntime hook fails create, names the hook, and leaves nothing behind', async (c, t) => {
  const { b, hook, log } = setup(c, ['sleep', '1000'])
  const bad = script(c, 'bad.sh', 'cat >/dev/null; echo "no network for you" >&2; exit 3')
  b.config.hooks = {
    createRuntime: [{ path: hook, args: ['hook', 'cr0', log] }, { path: bad }],
    createContainer: [{ path: hook, args: ['hook', 'cc', log] }],
    poststop: [{ path: hook, args: ['hook', 'poststop', log] }],
  }
  b.write()
  const id = c.id()
  const cr = await c.create(b, id)
  t.not(cr.code, 0, 'create fails')
  const e = errText(cr)
  t.match(e, /createRuntime hook #1/, 'the error names the hook', { stderr: e, ...MSG_TODO })
  t.match(e, /exit status 3/, 'and its exit status')
  t.match(e, /no network for you/, 'and its stderr')
  t.same(parseLog(readText(log)).map(r => r.kind), ['cr0', 'poststop'], 'the hooks before it ran, createContainer did not, poststop did (destroyed as any container)')
  const s = await c.state(id)
  t.not(s.r.code, 0, 'no container with that id')
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'hooks: a failing createContainer hook fails create (container namespaces, mounts gone)', async (c, t) => {
  const { b } = setup(c, ['sleep', '1000'])
  const bad = script(c, 'bad.sh', 'echo "cc says no" >&2; exit 7')
  b.config.hooks = { createContainer: [{ path: bad }] }
  b.write()
  const id = c.id()
  const cr = await c.create(b, id)
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /createContainer hook #0.*exit status 7.*cc says no/, 'names the hook, status, stderr', { stderr: cr.stderr, ...MSG_TODO })
  await c.assertNothingLeft(t, 'after the failed create')
})

ctest(t, 'hooks: a prestart hook past its timeout is killed and fails create', async (c, t) => {
  const { b } = setup(c, ['sleep', '1000'])
  const pidFile = c.file('slow.pid')
  const slow = script(c, 'slow.sh', `echo $$ > ${pidFile}; trap '' TERM; exec sleep 60`)
  b.config.hooks = { prestart: [{ path: slow, timeout: 1 }] }
  b.write()
  const id = c.id()
  const t0 = Date.now()
  const cr = await c.create(b, id, [], { timeoutMs: 30000 })
  const took = Date.now() - t0
  t.not(cr.code, 0, 'create fails')
  t.match(errText(cr), /prestart hook #0.*(timed out|timeout|killed)/, 'because of the timeout', { stderr: cr.stderr, ...MSG_TODO })
  t.ok(took < 15000, `create returned soon after the timeout (${took} ms)`)
  const pid = Number(readText(pidFile).trim())
  t.ok(pid > 0, 'the hook ran')
  if (pid > 0) {
    for (let i = 0; i < 100 && procAlive(pid); i++) await sleep(20)
    t.notOk(procAlive(pid), 'the hook was killed')
  }
  await c.assertNothingLeft(t, 'after the timed-out create')
})

for (const how of ['exit', 'timeout'] as const) {
  ctest(t, `hooks: a failing startContainer hook (${how}) stops the init before exec; the error is on the container's stderr`, async (c, t) => {
    const { b, hook, log } = setup(c, ['sh', '-c', 'echo user-process-ran > /shared/user'])
    fs.writeFileSync(path.join(b.rootfs, 'bad.sh'), how === 'exit' ? '#!/bin/sh\necho "start says no" >&2\nexit 4\n' : '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 })
    b.config.hooks = {
      startContainer: [{ path: '/bad.sh', ...(how === 'timeout' ? { timeout: 1 } : {}) }],
      poststop: [{ path: hook, args: ['hook', 'poststop', log] }],
    }
    b.write()
    const id = c.id()
    const cr = await c.create(b, id)
    t.equal(cr.code, 0, 'create succeeds', { stderr: cr.stderr })
    if (cr.code !== 0) return
    const st = await c.start(id)
    t.equal(st.code, 0, 'start has released the init (it cannot wait for the hook)', { stderr: st.stderr })
    const code = await c.waitExit(cr.pid)
    t.ok(code !== null && code !== 0, `the init exits non-zero (${code})`)
    t.notOk(fs.existsSync(c.file('shared/user')), 'the user process never ran')
    const err = readText(cr.errFile)
    t.match(err, how === 'exit' ? /startContainer hook #0 \(\/bad\.sh\): exit status 4, stderr: start says no/ : /startContainer hook #0 \(\/bad\.sh\): timed out after 1s/, 'the error on the container stderr', { err, ...runcTodo('runc 1.1.5 logs init errors to its log pipe, not to the container') })
    const s = await c.state(id)
    t.equal(s.s?.status, 'stopped', 'stopped')
    const d = await c.rt(['delete', id])
    t.equal(d.code, 0, 'delete', { stderr: d.stderr })
    t.same(parseLog(readText(log)).map(r => r.kind), ['poststop'], 'poststop ran')
    await c.assertNothingLeft(t)
  })
}

ctest(
  t,
  'hooks: a failing poststart hook fails start and stops the container (runtime-spec 1.3)',
  runcTodo('runc 1.1.5 runs poststart inside create'),
  async (c, t) => {
    const { b, hook, log } = setup(c, ['sleep', '1000'])
    const bad = script(c, 'bad.sh', 'echo "poststart failed" >&2; exit 5')
    b.config.hooks = {
      poststart: [{ path: hook, args: ['hook', 'ps0', log] }, { path: bad }, { path: hook, args: ['hook', 'ps2', log] }],
      poststop: [{ path: hook, args: ['hook', 'poststop', log] }],
    }
    b.write()
    const id = c.id()
    const cr = await c.create(b, id)
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
    if (cr.code !== 0) return
    const st = await c.start(id)
    t.not(st.code, 0, 'start fails')
    t.match(errText(st), /poststart hook #1 .*exit status 5, stderr: poststart failed/, 'naming the hook', { stderr: st.stderr })
    const code = await c.waitExit(cr.pid)
    t.not(code, null, 'the init is gone')
    const s = await c.state(id)
    t.equal(s.s?.status, 'stopped', 'state: stopped')
    t.same(parseLog(readText(log)).map(r => r.kind), ['ps0'], 'later poststart hooks did not run')
    const d = await c.rt(['delete', id])
    t.equal(d.code, 0, 'delete', { stderr: d.stderr })
    t.same(parseLog(readText(log)).map(r => r.kind), ['ps0', 'poststop'], 'poststop ran at delete')
    await c.assertNothingLeft(t)
  },
)

ctest(
  t,
  'hooks: a failing poststop hook is a warning; the others still run and delete succeeds',
  runcTodo('runc 1.1.5 fails delete on the first failing poststop hook'),
  async (c, t) => {
    const { b, hook, log } = setup(c, ['true'])
    const bad = script(c, 'bad.sh', 'echo "cleanup trouble" >&2; exit 2')
    const missing = c.file('no-such-hook')
    b.config.hooks = {
      poststop: [{ path: bad }, { path: missing }, { path: hook, args: ['hook', 'after', log] }],
    }
    b.write()
    const id = c.id()
    const cr = await c.create(b, id)
    t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
    if (cr.code !== 0) return
    t.equal((await c.start(id)).code, 0, 'start')
    await c.waitExit(cr.pid)
    const d = await c.rt(['delete', id])
    t.equal(d.code, 0, 'delete succeeds')
    t.match(d.stderr, /poststop hook #0 .*exit status 2, stderr: cleanup trouble/, 'a warning for the failing hook', { stderr: d.stderr })
    t.match(d.stderr, /poststop hook #1 .*no such file or directory/, 'and for the missing one')
    t.same(parseLog(readText(log)).map(r => r.kind), ['after'], 'the next hook still ran')
    await c.assertNothingLeft(t)
  },
)

ctest(t, 'hooks: run keeps the order and deletes with poststop', { skip: IS_RUNC && 'runc 1.1.5 runs poststart inside create' }, async (c, t) => {
  const { b, hook, log } = setup(c, ['sh', '-c', 'exit 3'])
  b.config.hooks = Object.fromEntries(
    ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop'].map(k => [k, [{ path: hook, args: ['hook', k, log] }]]),
  )
  b.config.hooks.startContainer = [{ path: '/hook.sh', args: ['hook', 'startContainer', '/shared/log'] }]
  b.write()
  const r = await c.run(b, c.id())
  t.equal(r.code, 3, 'run exits with the process code', { stderr: r.stderr })
  t.same(
    parseLog(readText(log)).map(x => x.kind),
    ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    'every hook once, in order',
  )
})
