// exec: a process joining a running container (output, exit code, env, cwd, user, capabilities,
// no_new_privs, preserved fds, pid file, detach, paused and stopped containers, bad input, missing
// programs, namespaces and cgroups, --process, sub-cgroups) and terminals: exec -t and run with a
// terminal relayed by the runtime, and the engines' path (detached, console socket, consoleSize).
import t from 'tap'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Bundle, cgroupDir, Ctx, ctest, errText, kv, procAlive, readText, runcTodo, RUNTIME, sleep, statusField } from './lib/harness'

t.setTimeout(300000)

const HAS_PYTHON = fs.existsSync('/usr/bin/python3')
const STATUS = 'grep -E "^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status'
const bit = (n: number) => 1n << BigInt(n)
const capMask = (s: string | undefined) => BigInt('0x' + (s ?? '0'))
const CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10, CAP_SYS_ADMIN = 21, CAP_AUDIT_WRITE = 29

/** A created and started container whose init sleeps; returns its id and init pid. */
async function running(c: Ctx, t: any, mutate?: (cf: any) => void, start = true): Promise<{ b: Bundle; id: string; pid: number }> {
  const b = c.bundle(['sleep', '1000'])
  if (mutate) b.mutate(mutate)
  const id = c.id()
  const cr = await c.create(b, id)
  t.equal(cr.code, 0, 'create', { stderr: cr.stderr })
  if (start) {
    const s = await c.start(id)
    t.equal(s.code, 0, 'start', { stderr: s.stderr })
  }
  return { b, id, pid: cr.pid }
}

const exec = (c: Ctx, id: string, args: string[], flags: string[] = [], o = {}) => c.rt(['exec', ...flags, id, ...args], o)

function nsLink(pid: number | string, ns: string): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${ns}`)
  } catch {
    return ''
  }
}

/** Detached exec of `sleep`, under the harness's subreaper; returns the pid from the pid file. */
async function detached(c: Ctx, t: any, id: string, flags: string[] = [], args = ['sleep', '1000']) {
  const pf = c.file(`exec-${Math.random().toString(16).slice(2)}.pid`)
  const r = await c.rtReaped(['exec', '--detach', '--pid-file', pf, ...flags, id, ...args])
  t.equal(r.code, 0, 'exec --detach', { stderr: r.stderr })
  const raw = readText(pf)
  const pid = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (pid > 0) c.pids.add(pid)
  return { r, raw, pid }
}

ctest(t, 'exec: output, exit codes, the container\'s env, cwd and user by default', async (c, t) => {
  const { id } = await running(c, t)
  let r = await exec(c, id, ['sh', '-c', 'echo hello; echo err >&2; env; pwd; id -u; id -g'])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  const lines = r.stdout.split('\n')
  t.equal(lines[0], 'hello', 'stdout')
  t.match(r.stderr, /^err$/m, 'stderr')
  t.ok(lines.includes('TERM=xterm'), 'env from the container\'s process')
  t.ok(lines.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'), 'PATH from the container')
  t.notOk(lines.some(l => /^(RUNTIME|TAP|NODE_|_OCI)/.test(l)), 'no caller environment')
  t.ok(lines.includes('/'), 'cwd from the container')
  t.same(lines.slice(-3, -1), ['0', '0'], 'uid and gid from the container')
  r = await exec(c, id, ['sh', '-c', 'exit 7'])
  t.equal(r.code, 7, 'exit code passed through')
  r = await exec(c, id, ['sh', '-c', 'kill -9 $$'])
  t.equal(r.code, 137, 'killed by SIGKILL: 128+9')
})

ctest(t, 'exec: signals sent to the runtime reach the process', async (c, t) => {
  const { id } = await running(c, t)
  const p = spawn(RUNTIME, ['--root', c.root, 'exec', id, 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  c.cleanups.push(() => p.kill('SIGKILL'))
  let out = ''
  p.stdout!.setEncoding('utf8')
  const ready = new Promise<void>(res => p.stdout!.on('data', (d: string) => { out += d; if (out.includes('ready')) res() }))
  const exited = new Promise<number | null>(res => p.on('exit', code => res(code)))
  await Promise.race([ready, sleep(15000)])
  t.match(out, /ready/, 'the process runs')
  await sleep(200)
  p.kill('SIGTERM')
  const code = await Promise.race([exited, sleep(15000).then(() => null)])
  t.equal(code, 42, 'SIGTERM forwarded; the process\'s trap decided the exit code')
  t.match(out, /got-term/, 'the trap ran')
})

ctest(t, 'exec: --env, --cwd, --user, --additional-gids', async (c, t) => {
  const { id } = await running(c, t)
  const r = await exec(c, id, ['sh', '-c', `env; echo cwd=$(pwd); ${STATUS}`],
    ['-e', 'FOO=bar', '-e', 'TERM=dumb', '-e', 'WITH_EQ=a=b', '--cwd', '/tmp', '-u', '1000:1001', '-g', '10', '-g', '20'])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  const lines = r.stdout.split('\n')
  t.ok(lines.includes('FOO=bar'), '-e FOO=bar')
  t.ok(lines.includes('WITH_EQ=a=b'), 'value with =')
  t.ok(lines.includes('TERM=dumb') && !lines.includes('TERM=xterm'), '-e overrides the container\'s TERM (one entry)')
  t.ok(lines.includes('cwd=/tmp'), '--cwd')
  const s = kv(r.stdout)
  t.match(s.Uid, /^1000\s+1000\s+1000\s+1000$/, 'uid 1000')
  t.match(s.Gid, /^1001\s+1001\s+1001\s+1001$/, 'gid 1001')
  t.same(s.Groups?.split(/\s+/).filter(Boolean).sort(), ['10', '20'], 'additional gids')
})

ctest(t, 'exec: bad --user / --additional-gids / --env / --cwd are refused, nothing runs', async (c, t) => {
  const { b, id } = await running(c, t)
  const marker = path.join(b.rootfs, 'tmp', 'ran')
  const cases: [string[], RegExp, any?][] = [
    [['-u', '1000:1000x'], /1000x/],
    [['-u', 'abc'], /abc/],
    [['-u', '1000:'], /gid/],
    [['-u', '4294967296'], /range|4294967296/, runcTodo('runc 1.1.5 wraps 4294967296 to uid 0')],
    [['-u', '-1'], /-1|range/],
    [['-g', 'abc'], /abc/],
    [['-g', '-1'], /positive|-1/],
    [['-e', 'NOEQUALS'], /environment variable/],
    [['--cwd', 'relative/dir'], /absolute/i],
  ]
  for (const [flags, msg, todo] of cases) {
    const r = await exec(c, id, ['touch', '/tmp/ran'], flags)
    t.not(r.code, 0, `${flags.join(' ')}: refused`, todo)
    t.match(errText(r), msg, `${flags.join(' ')}: says why (${errText(r).split('\n')[0]})`, todo)
    t.notOk(fs.existsSync(marker), `${flags.join(' ')}: the process did not run`, todo)
    fs.rmSync(marker, { force: true })
  }
  const r = await exec(c, id, [])
  t.not(r.code, 0, 'no command: refused')
  t.match(errText(r), /args cannot be empty|args must not be empty/, 'no command: runc\'s text')
})

ctest(t, 'exec: missing or non-executable program fails the call with runc\'s texts', async (c, t) => {
  const { id } = await running(c, t)
  let r = await exec(c, id, ['/no/such/binary'])
  t.not(r.code, 0, 'absolute missing path: error')
  // (runc's text log quotes the message: allow a backslash before each quote)
  t.match(errText(r), /exec: \\?"\/no\/such\/binary\\?": stat \/no\/such\/binary: no such file or directory/, 'stat text (podman: 127)')
  r = await exec(c, id, ['nosuchprogram'])
  t.not(r.code, 0, 'not in PATH: error')
  t.match(errText(r), /exec: \\?"nosuchprogram\\?": executable file not found in \$PATH/, 'lookup text (podman: 127)')
  r = await exec(c, id, ['/etc/passwd'])
  t.not(r.code, 0, 'not executable: error')
  t.match(errText(r), /exec: \\?"\/etc\/passwd\\?": permission denied/, 'permission text (podman: 126)')
  const d = await c.rtReaped(['exec', '--detach', id, '/no/such/binary'])
  t.not(d.code, 0, 'detached: the call itself fails')
  t.match(errText(d), 'no such file or directory', 'detached: same text')
})

ctest(t, 'exec: capabilities: the container\'s, --cap adds bounding/effective/permitted, never inheritable', async (c, t) => {
  const { id } = await running(c, t, cf => {
    // an ambient set without inheritable: the kernel cannot raise it (what runc warns about)
    cf.process.capabilities.ambient = []
  })
  let r = await exec(c, id, ['sh', '-c', STATUS])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  let s = kv(r.stdout)
  const base = bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_WRITE)
  t.equal(capMask(s.CapEff), base, `CapEff = the container's (${s.CapEff})`)
  t.equal(capMask(s.CapBnd), base, 'CapBnd = the container\'s')
  t.equal(capMask(s.CapInh), 0n, 'CapInh 0')
  r = await exec(c, id, ['sh', '-c', STATUS], ['--cap', 'CAP_SYS_ADMIN', '--cap', 'CAP_CHOWN'])
  t.equal(r.code, 0, '--cap: exit 0', { stderr: r.stderr })
  s = kv(r.stdout)
  const want = base | bit(CAP_SYS_ADMIN) | bit(0)
  t.equal(capMask(s.CapEff), want, `--cap: CapEff gains them (${s.CapEff})`)
  t.equal(capMask(s.CapPrm), want, '--cap: CapPrm gains them')
  t.equal(capMask(s.CapBnd), want, '--cap: CapBnd gains them')
  t.equal(capMask(s.CapInh), 0n, '--cap: CapInh stays 0 (CVE-2022-29162)')
  t.equal(capMask(s.CapAmb), 0n, '--cap: CapAmb 0 (no inheritable set in the process)')
})

ctest(t, 'exec: no_new_privs from the container, --no-new-privs, seccomp of the container', async (c, t) => {
  const { id } = await running(c, t, cf => {
    cf.process.noNewPrivileges = false
    cf.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    }
  })
  let r = await exec(c, id, ['sh', '-c', `${STATUS}; mkdir /tmp/x 2>&1; echo mkdir=$?`])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  let s = kv(r.stdout)
  t.equal(s.NoNewPrivs, '0', 'no_new_privs off, as the container')
  t.equal(s.Seccomp, '2', 'the container\'s seccomp filter applies')
  t.match(r.stdout, /mkdir=1/, 'mkdir refused by the container\'s profile')
  r = await exec(c, id, ['sh', '-c', STATUS], ['--no-new-privs'])
  s = kv(r.stdout)
  t.equal(s.NoNewPrivs, '1', '--no-new-privs')
})

ctest(t, 'exec: no_new_privs on in the container stays on', async (c, t) => {
  const { id } = await running(c, t)
  const r = await exec(c, id, ['sh', '-c', STATUS])
  t.equal(kv(r.stdout).NoNewPrivs, '1', 'NoNewPrivs 1')
})

ctest(t, 'exec: --preserve-fds passes fd 3, and nothing else leaks', async (c, t) => {
  const { id } = await running(c, t)
  const f = c.file('preserved')
  fs.writeFileSync(f, 'through fd 3\n')
  const fd = fs.openSync(f, 'r')
  const leak = fs.openSync(f, 'r')
  try {
    let r = await exec(c, id, ['sh', '-c', 'cat <&3; ls /proc/self/fd | tr "\\n" " "'], ['--preserve-fds', '1'], { extraFds: [fd, leak] })
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.match(r.stdout, /^through fd 3$/m, 'fd 3 readable inside')
    // ls itself holds one more fd (its directory): 0 1 2 3 and that one
    t.same(r.stdout.split('\n')[1].trim().split(' ').map(Number).filter(n => n > 3).length, 1, `only fd 3 preserved (${r.stdout.split('\n')[1]})`)
    r = await exec(c, id, ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "'], [], { extraFds: [fd, leak] })
    t.same(r.stdout.trim().split(' ').map(Number).filter(n => n > 2).length, 1, `without --preserve-fds only 0-2 (+ls's own): ${r.stdout}`)
  } finally {
    fs.closeSync(fd)
    fs.closeSync(leak)
  }
})

ctest(t, 'exec: --detach, --pid-file (bare digits), namespaces and cgroup of the container', async (c, t) => {
  const { id, pid: init } = await running(c, t)
  const t0 = Date.now()
  const { raw, pid } = await detached(c, t, id)
  t.ok(Date.now() - t0 < 10000, 'exec --detach returns while the process runs')
  t.match(raw, /^[1-9]\d*$/, `pid file: bare digits, no newline (${JSON.stringify(raw)})`)
  t.ok(procAlive(pid), 'the process runs')
  for (const ns of ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'user']) {
    t.equal(nsLink(pid, ns), nsLink(init, ns), `same ${ns} namespace as the init`)
  }
  t.equal(readText(`/proc/${pid}/cgroup`), readText(`/proc/${init}/cgroup`), 'same cgroups as the init (every hierarchy)')
  t.equal(fs.readlinkSync(`/proc/${pid}/root`), fs.readlinkSync(`/proc/${init}/root`), 'same root')
  // seen from inside: the container's pid 1 is the init
  const r = await exec(c, id, ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; ps -o pid,comm'])
  t.match(r.stdout, /^sleep 1000 $/m, 'pid 1 inside is the init')
  t.match(r.stdout, /^\s*\d+\s+sleep$/m, 'the detached process is visible inside')
  const k = await c.rt(['kill', id, 'KILL'])
  t.equal(k.code, 0, 'kill the init')
  t.equal(await c.waitExit(pid), 137, 'the exec\'d process dies with the pid namespace')
})

ctest(t, 'exec: a user-namespaced container is joined user namespace first', async (c, t) => {
  const { id, pid: init } = await running(c, t, cf => {
    cf.linux.namespaces.push({ type: 'user' })
    cf.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cf.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cf.mounts = cf.mounts.filter((m: any) => m.type !== 'cgroup')
  })
  const { pid } = await detached(c, t, id, ['-u', '1000:1000'])
  t.equal(nsLink(pid, 'user'), nsLink(init, 'user'), 'same user namespace')
  t.equal(nsLink(pid, 'mnt'), nsLink(init, 'mnt'), 'same mount namespace')
  t.equal(statusField(pid, 'Uid')?.split(/\s+/)[0], '101000', 'uid 1000 inside = host 101000')
  const r = await exec(c, id, ['sh', '-c', 'id -u; cat /proc/self/uid_map'])
  t.equal(r.code, 0, 'exec exit 0', { stderr: r.stderr })
  t.match(r.stdout, /^0\n\s*0\s+100000\s+65536/, 'root inside, the container\'s map')
})

ctest(t, 'exec: --process FILE (and - for stdin) is the whole process; other process flags are ignored', async (c, t) => {
  const { id } = await running(c, t)
  const pj = c.file('process.json')
  fs.writeFileSync(pj, JSON.stringify({
    args: ['/bin/sh', '-c', `echo A=$A; pwd; id -u; id -g; ${STATUS}`], cwd: '/etc', env: ['A=1', 'PATH=/bin'],
    user: { uid: 5, gid: 6 }, noNewPrivileges: true,
  }))
  let r = await exec(c, id, ['ignored'], ['--process', pj, '-e', 'A=2', '-u', '7'])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  let lines = r.stdout.split('\n')
  t.same(lines.slice(0, 4), ['A=1', '/etc', '5', '6'], 'args, env, cwd and user from the file')
  t.equal(kv(r.stdout).NoNewPrivs, '1', 'noNewPrivileges from the file')
  const fd = fs.openSync(pj, 'r')
  try {
    r = await exec(c, id, [], ['-p', '-'], { stdin: fd })
  } finally {
    fs.closeSync(fd)
  }
  const stdinTodo = runcTodo('runc 1.1.5 opens a file named "-"')
  t.equal(r.code, 0, '-p -: exit 0', { stderr: r.stderr, ...stdinTodo })
  lines = r.stdout.split('\n')
  t.same(lines.slice(0, 2), ['A=1', '/etc'], '-p -: read from stdin', stdinTodo)
  fs.writeFileSync(pj, JSON.stringify({ args: ['true'], cwd: 'etc' }))
  r = await exec(c, id, [], ['--process', pj])
  t.not(r.code, 0, 'relative cwd in the file: refused')
  r = await exec(c, id, [], ['--process', c.file('missing.json')])
  t.match(errText(r), /no such file or directory/, 'missing process file')
})

ctest(t, 'exec: paused container refused, --ignore-paused waits for resume; stopped container refused', async (c, t) => {
  const { b, id, pid } = await running(c, t)
  let r = await c.rt(['pause', id])
  t.equal(r.code, 0, 'pause', { stderr: r.stderr })
  r = await exec(c, id, ['touch', '/tmp/ran'])
  t.not(r.code, 0, 'exec into a paused container: refused')
  t.match(errText(r), /paused/, `says it is paused (${errText(r)})`)
  t.notOk(fs.existsSync(path.join(b.rootfs, 'tmp/ran')), 'nothing ran')
  const resumer = sleep(1000).then(() => c.rt(['resume', id]))
  const t0 = Date.now()
  r = await exec(c, id, ['echo', 'ok'], ['--ignore-paused'])
  t.equal(r.code, 0, '--ignore-paused: exit 0', { stderr: r.stderr })
  t.equal(r.stdout, 'ok\n', '--ignore-paused: ran after resume')
  t.ok(Date.now() - t0 >= 900, 'it waited for the resume')
  t.equal((await resumer).code, 0, 'resume')
  r = await c.rt(['kill', id, 'KILL'])
  t.equal(await c.waitExit(pid), 137, 'init killed')
  r = await exec(c, id, ['true'])
  t.not(r.code, 0, 'exec into a stopped container: refused')
  t.match(errText(r), /stopped|not running/, `says so (${errText(r)})`)
  r = await exec(c, 'hc-no-such-container', ['true'])
  t.match(errText(r), /does not exist/, 'unknown id')
})

ctest(t, 'exec: into a created (not yet started) container', async (c, t) => {
  const { id, pid } = await running(c, t, undefined, false)
  const r = await exec(c, id, ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'])
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
  t.ok(r.stdout.length > 0, `pid 1 is the waiting init (${r.stdout})`)
  t.ok(procAlive(pid), 'the init still waits')
  const s = await c.state(id)
  t.equal(s.s?.status, 'created', 'still created')
})

ctest(t, 'exec: --cgroup runs the process in an existing sub-cgroup', async (c, t) => {
  const { b, id } = await running(c, t)
  const sub = cgroupDir('memory', path.posix.join(b.cgroupsPath, 'sub'))
  if (!sub) return t.skip('no memory hierarchy')
  fs.mkdirSync(sub)
  try {
    let r = await exec(c, id, ['cat', '/proc/self/cgroup'], ['--cgroup', 'memory:sub'])
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.match(r.stdout, /^\d+:memory:.*\/sub$/m, 'memory: the sub-cgroup')
    t.notMatch(r.stdout, /^\d+:pids:.*\/sub$/m, 'other hierarchies: the container\'s cgroup')
    r = await exec(c, id, ['true'], ['--cgroup', 'missing'])
    t.not(r.code, 0, 'a missing sub-cgroup is an error')
    r = await exec(c, id, ['true'], ['--cgroup', '../escape'])
    t.not(r.code, 0, '.. out of the container\'s cgroup: refused')
    t.match(errText(r), /not a sub cgroup path/, 'runc\'s text')
    r = await exec(c, id, ['true'], ['--cgroup', 'memory:a', '--cgroup', 'b'])
    t.not(r.code, 0, 'a path without a controller among several: refused')
  } finally {
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(sub)
        break
      } catch {
        await sleep(20)
      }
    }
  }
})

ctest(t, 'exec: terminal rules without a console socket, apparmor profile refused', async (c, t) => {
  const { id } = await running(c, t)
  let r = await c.rtReaped(['exec', '--detach', '--tty', id, 'true'])
  t.not(r.code, 0, 'detached tty without a console socket: refused')
  t.match(errText(r), /cannot allocate tty if .* will detach without setting console socket/, 'runc\'s text')
  r = await exec(c, id, ['true'], ['--console-socket', c.file('nosock')])
  t.not(r.code, 0, 'console socket without detach/tty: refused')
  t.match(errText(r), /cannot use console socket if .* will not detach or allocate tty/, 'runc\'s text')
  r = await exec(c, id, ['true'], ['--apparmor', 'some-profile'])
  t.not(r.code, 0, 'apparmor profile on a host without AppArmor: error')
})

/* ------------------------------------------------------------------ terminals */

// Runs argv on a fresh pty of rows x cols (set before exec), feeds `steps`, returns what it printed and its code.
const PTY_DRIVER = `
import os, pty, sys, fcntl, termios, struct, select, json, time
rows, cols = int(sys.argv[1]), int(sys.argv[2])
steps = json.loads(sys.argv[3])
argv = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
out = b''
def pump(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r: return True
    try:
        d = os.read(fd, 4096)
    except OSError:
        return False
    if not d: return False
    out += d
    return True
alive = True
deadline = time.time() + 30
for st in steps:
    if st[0] == 'wait':
        while alive and st[1].encode() not in out and time.time() < deadline:
            alive = pump(0.1)
    elif st[0] == 'send':
        os.write(fd, st[1].encode())
    elif st[0] == 'resize':
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', st[1], st[2], 0, 0))
    elif st[0] == 'sleep':
        time.sleep(st[1])
    elif st[0] == 'until':
        # send st[1] every 0.5 s until st[2] shows up in new output (st[3] s at most)
        mark, end = len(out), time.time() + st[3]
        while alive and st[2].encode() not in out[mark:] and time.time() < end:
            os.write(fd, st[1].encode())
            t1 = time.time() + 0.5
            while alive and st[2].encode() not in out[mark:] and time.time() < t1:
                alive = pump(0.1)
while alive and time.time() < deadline:
    alive = pump(0.5)
_, status = os.waitpid(pid, 0)
print(json.dumps({'out': out.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
`

type Step = ['wait', string] | ['send', string] | ['resize', number, number] | ['sleep', number] | ['until', string, string, number]

function onPty(c: Ctx, rows: number, cols: number, steps: Step[], args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((res, rej) => {
    const p = spawn('/usr/bin/python3', ['-c', PTY_DRIVER, String(rows), String(cols), JSON.stringify(steps), RUNTIME, '--root', c.root, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    p.stdout!.setEncoding('utf8')
    p.stdout!.on('data', (d: string) => (out += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000)
    p.on('close', () => {
      clearTimeout(timer)
      try {
        res(JSON.parse(out))
      } catch (e) {
        rej(new Error(`pty driver: ${out}`))
      }
    })
  })
}

ctest(t, 'terminal: exec -t relayed by the runtime: a pty, its size, input, resize, exit code', { skip: !HAS_PYTHON && 'no python3' }, async (c, t) => {
  const { id } = await running(c, t)
  let r = await onPty(c, 30, 90, [], ['exec', '-t', id, 'sh', '-c', 'tty; stty size; test -t 0 && echo stdin-is-tty; exit 3'])
  t.equal(r.code, 3, 'exit code through the relay')
  t.match(r.out, /^\/dev\/pts\/\d+\r$/m, `tty inside is /dev/pts/N (${JSON.stringify(r.out)})`)
  t.match(r.out, /^30 90\r$/m, 'the caller\'s terminal size')
  t.match(r.out, /^stdin-is-tty\r$/m, 'stdin is the pty')
  t.notMatch(r.out, /\r\r\n/, 'no double carriage returns (raw mode on the caller\'s side)')
  r = await onPty(c, 30, 90, [['wait', '# '], ['send', 'echo $((6*7))\r'], ['wait', '42'], ['resize', 50, 120], ['until', 'stty size\r', '50 120', 10], ['send', 'exit 5\r']], ['exec', '-t', id, 'sh'])
  t.equal(r.code, 5, 'interactive shell: exit code')
  t.match(r.out, /^42\r$/m, 'input reaches the process')
  t.match(r.out, /^50 120\r$/m, 'window size change propagated')
  r = await onPty(c, 30, 90, [['wait', '# '], ['send', 'sleep 100\r'], ['sleep', 0.5], ['send', '\x03'], ['sleep', 0.3], ['send', 'exit 9\r']], ['exec', '-t', id, 'sh'])
  t.equal(r.code, 9, '^C interrupts the foreground job inside, not the runtime')
})

ctest(t, 'terminal: run with terminal: true relayed by the runtime; consoleSize honoured', { skip: !HAS_PYTHON && 'no python3' }, async (c, t) => {
  const b = c.bundle(['sh', '-c', 'tty; stty size; echo ready; read x; echo got=$x; exit 4'])
  b.mutate(cf => {
    cf.process.terminal = true
    cf.process.consoleSize = { height: 11, width: 22 }
  })
  const id = c.id()
  const r = await onPty(c, 30, 90, [['wait', 'ready'], ['send', 'abc\r']], ['run', '--bundle', b.dir, id])
  t.equal(r.code, 4, 'exit code of the container')
  t.match(r.out, /^\/dev\/pts\/\d+\r$/m, `tty is /dev/pts/N (${JSON.stringify(r.out)})`)
  t.match(r.out, /^11 22\r$/m, 'consoleSize', runcTodo('runc resizes the pty to the caller\'s terminal'))
  t.match(r.out, /^got=abc\r$/m, 'input relayed')
  const d = await c.rtReaped(['run', '--detach', '--bundle', b.dir, c.id()])
  t.not(d.code, 0, 'run -d with a terminal and no console socket: refused')
  t.match(errText(d), /cannot allocate tty/, 'runc\'s text')
})

// The engines' path: exec --detach --tty --console-socket S with process.terminal and consoleSize.
ctest(t, 'terminal: detached exec sends the pty master over the console socket; consoleSize applied', { skip: !HAS_PYTHON && 'no python3' }, async (c, t) => {
  const { id, pid: init } = await running(c, t)
  const sock = c.file('console.sock')
  const py = `
import socket, sys, os, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, flags, _ = socket.recv_fds(c, 4096, 4)
data = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b: break
    data += b
print(json.dumps({"payload": msg.decode(), "nfds": len(fds), "data": data.decode()}), flush=True)
`
  const recv = spawn('/usr/bin/python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] })
  c.cleanups.push(() => recv.kill('SIGKILL'))
  let pyOut = ''
  recv.stdout!.setEncoding('utf8')
  const listening = new Promise<void>(res => recv.stdout!.on('data', (d: string) => { pyOut += d; if (pyOut.includes('listening')) res() }))
  const done = new Promise<void>(res => recv.on('close', () => res()))
  await listening
  const pj = c.file('process.json')
  fs.writeFileSync(pj, JSON.stringify({
    terminal: true, consoleSize: { height: 33, width: 77 }, args: ['sh', '-c', 'tty; stty size; echo $TERM'],
    cwd: '/', env: ['PATH=/bin:/usr/bin', 'TERM=xterm'], user: { uid: 0, gid: 0 },
  }))
  const pf = c.file('exec-tty.pid')
  const r = await c.rtReaped(['exec', '--process', pj, '--detach', '--tty', '--console-socket', sock, '--pid-file', pf, id])
  t.equal(r.code, 0, 'exec', { stderr: r.stderr })
  const pid = Number(readText(pf))
  if (pid > 0) c.pids.add(pid)
  await Promise.race([done, sleep(15000)])
  const res = JSON.parse(pyOut.slice(pyOut.indexOf('{')) || '{}')
  t.equal(res.nfds, 1, 'exactly one fd')
  t.match(res.payload, /\S/, 'a non-empty name')
  t.match(res.data, /^\/dev\/pts\/\d+\r?$/m, 'tty is /dev/pts/N')
  t.match(res.data, /^33 77\r?$/m, 'consoleSize applied')
  t.match(res.data, /^xterm\r?$/m, 'env of the process')
  t.equal(await c.waitExit(pid), 0, 'exited 0')
  // the container's own console (none: terminal false) is left alone
  const ls = await exec(c, id, ['sh', '-c', 'test -e /dev/console && echo has-console || echo no-console'])
  t.equal(ls.stdout.trim(), 'no-console', 'exec did not mount a /dev/console into the container')
  t.ok(procAlive(init), 'the init still runs')
})
