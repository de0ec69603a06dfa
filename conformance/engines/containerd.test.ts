// End-to-end: containerd 1.6 + containerd-shim-runc-v2 drive the runtime under test ($RUNTIME,
// default bin/hull) through `ctr run --runtime io.containerd.runc.v2 --runc-binary <abs> --runc-root
// DIR` (CONTRACT.md §7). A private daemon, a hand-made busybox OCI archive; after every test no
// runtime state, container cgroup, container/shim process or rootfs mount may be left.
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupFile, engineTest, procAlive, readText, RFC3339_LOOSE, RUNTIME, RUNTIME_NAME, sleep, waitFor } from './lib/common'
import { Containerd } from './lib/containerd'

t.setTimeout(600000)

let seq = 0
const cid = (p: string) => `${p}-${process.pid}-${seq++}`

/** A subtest whose containers are removed and checked (nothing left) pass or fail. */
const ctest = (parent: any, cd: Containerd, name: string, fn: (t: any) => Promise<void>) => engineTest(parent, cd, name, fn)

/** `ctr task ls` as {id: [pid, status]} */
async function tasks(cd: Containerd): Promise<Record<string, [number, string]>> {
  const r = await cd.ctr(['task', 'ls'])
  const out: Record<string, [number, string]> = {}
  for (const l of r.stdout.split('\n').slice(1)) {
    const f = l.trim().split(/\s+/)
    if (f.length >= 3) out[f[0]] = [Number(f[1]), f[2]]
  }
  return out
}

/** Every line of the shim's log.json decodes as containerd does: {level: string, msg, time: RFC 3339}. */
function checkLogJson(t: any, file: string): string | undefined {
  const txt = readText(file)
  let lastErr: string | undefined
  let bad = 0
  for (const line of txt.split('\n').filter(Boolean)) {
    try {
      const o = JSON.parse(line)
      if (typeof o.level !== 'string' || typeof o.msg !== 'string' || !RFC3339_LOOSE.test(String(o.time))) bad++
      if (o.level === 'error') lastErr = o.msg
    } catch {
      bad++
    }
  }
  t.equal(bad, 0, `every line of ${path.basename(file)} is {level,msg,time} JSON`, { log: txt })
  return lastErr
}

const setup = Containerd.setup()

t.test(`containerd on ${RUNTIME_NAME} (${RUNTIME})`, { skip: typeof setup === 'string' ? setup : false }, async t => {
  const cd = setup as Containerd
  t.teardown(async () => {
    await cd.stopDaemon()
    cd.destroy()
  })
  t.comment(`${cd.version}; dir ${cd.dir}; namespace ${cd.ns}`)

  ctest(t, cd, 'run --rm: exit codes 0 and 3, output, cgroup /<ns>/<id>', async t => {
    const id = cid('run')
    let r = await cd.runCtr(id, ['--rm'], ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; grep -E "^[0-9]+:(memory|pids):" /proc/self/cgroup'])
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.match(r.stdout, /^to-stdout$/m, 'stdout')
    t.match(r.stdout + r.stderr, /to-stderr/, 'stderr')
    t.match(r.stdout, new RegExp(`:memory:/${cd.ns}/${id}$`, 'm'), 'memory cgroup is /<namespace>/<id>')
    r = await cd.runCtr(cid('run3'), ['--rm'], ['sh', '-c', 'exit 3'])
    t.equal(r.code, 3, 'exit 3', { stderr: r.stderr })
    t.same(await tasks(cd), {}, 'no task left')
  })

  ctest(t, cd, 'failed create surfaces the runtime\'s error (decoded from log.json)', async t => {
    const id = cid('nobin')
    let r = await cd.runCtr(id, ['--rm'], ['/no/such/binary'])
    t.not(r.code, 0, 'ctr run fails')
    t.match(r.stderr, /OCI runtime create failed: .*no such file or directory/, 'OCI runtime create failed: <the runtime\'s message>', { stderr: r.stderr })
    t.notMatch(r.stderr, /unable to retrieve OCI runtime error/, 'containerd could decode the runtime\'s log')
    t.notMatch(r.stderr, /did not terminate successfully/, 'the message came from log.json, not from raw output')
    r = await cd.runCtr(cid('noexec'), ['--rm'], ['/etc/not-a-program'])
    t.not(r.code, 0, 'non-executable: ctr run fails')
    t.match(r.stderr, /OCI runtime create failed: .*permission denied/, 'permission denied', { stderr: r.stderr })
    t.same(await tasks(cd), {}, 'no task left behind')
  })

  ctest(t, cd, 'delete --force of a missing id exits 0 (direct, and as the shim calls it after a failed create); log.json decodes', async t => {
    const log = path.join(cd.dir, 'direct-log.json')
    fs.mkdirSync(cd.stateRoot, { recursive: true })
    const r = await cd.run0(RUNTIME, ['--root', cd.stateRoot, '--log', log, '--log-format', 'json', 'delete', '--force', 'no-such-id-' + process.pid])
    t.equal(r.code, 0, 'delete --force <missing> exits 0', { stderr: r.stderr })
    t.equal(r.stdout + r.stderr, '', 'and prints nothing')
    t.equal(checkLogJson(t, log), undefined, 'and logs no error')
    // through the shim: a logging wrapper with the runtime's basename in front of it
    const wrapDir = path.join(cd.dir, 'wrap')
    fs.mkdirSync(wrapDir, { recursive: true })
    const calls = path.join(cd.dir, 'calls.log')
    const wrapper = path.join(wrapDir, RUNTIME_NAME)
    const logCopy = path.join(cd.dir, 'shim-log.json')
    fs.writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `"${RUNTIME}" "$@"`,
        'rc=$?',
        `echo "rc=$rc $*" >> "${calls}"`,
        // keep the shim's log.json (the bundle goes away with the failed task)
        `prev=; for a in "$@"; do [ "$prev" = --log ] && cp "$a" "${logCopy}" 2>/dev/null; prev=$a; done`,
        'exit $rc',
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    const id = cid('wrapped')
    const run = await cd.runCtr(id, ['--rm'], ['/no/such/binary'], { binary: wrapper })
    t.not(run.code, 0, 'the create fails')
    await waitFor(() => /delete --force/.test(readText(calls)), 5000)
    const lines = readText(calls).split('\n').filter(Boolean)
    t.comment(lines.map(l => l.replace(cd.dir, '<dir>')).join('\n'))
    const create = lines.find(l => / create /.test(l) && l.endsWith(` ${id}`))
    t.match(create || '', /^rc=[1-9]/, 'the shim\'s create call failed')
    const del = lines.find(l => / delete --force /.test(l) && l.endsWith(` ${id}`))
    t.ok(del, 'the shim then called delete --force <id>')
    t.match(del || '', /^rc=0 /, 'which exited 0 for the never-made container')
    const lastErr = checkLogJson(t, logCopy)
    t.match(lastErr || '', /no such file or directory/, 'log.json: the last error line is the create failure')
    t.ok(lastErr && run.stderr.includes(lastErr), 'and it is what ctr printed', { lastErr, stderr: run.stderr })
  })

  ctest(t, cd, 'run -d, task ls/ps/metrics, refused delete, kill, delete, a new task, kill -a, delete -f', async t => {
    const id = cid('detach')
    let r = await cd.runCtr(id, ['-d'], ['sleep', '1000'])
    t.equal(r.code, 0, 'run -d exits 0', { stderr: r.stderr })
    let ts = await tasks(cd)
    t.equal(ts[id]?.[1], 'RUNNING', 'task ls: RUNNING')
    const pid = ts[id]?.[0]
    t.ok(pid > 0 && procAlive(pid), 'init alive')
    t.equal(readText(`/proc/${pid}/comm`).trim(), 'sleep', 'running sleep')
    t.ok(fs.existsSync(path.join(cd.stateRoot, id)), 'runtime state under --runc-root/<ns>/<id>')
    t.match(readText(`/proc/${pid}/cgroup`), new RegExp(`:pids:/${cd.ns}/${id}$`, 'm'), 'in cgroup /<ns>/<id>')
    const ps = await cd.ctr(['task', 'ps', id])
    t.equal(ps.code, 0, 'task ps exits 0 (runtime ps --format json parsed)', { stderr: ps.stderr })
    t.match(ps.stdout, new RegExp(`^${pid}\\s`, 'm'), 'task ps lists the init')
    const m = await cd.ctr(['task', 'metrics', id])
    t.equal(m.code, 0, 'task metrics exits 0', { stderr: m.stderr })
    t.match(m.stdout, /memory\.usage_in_bytes/, 'task metrics reads the cgroup')
    r = await cd.ctr(['task', 'delete', id])
    t.not(r.code, 0, 'task delete of a running task is refused')
    t.ok(procAlive(pid), 'still running')
    r = await cd.ctr(['task', 'kill', id])
    t.equal(r.code, 0, 'task kill (SIGTERM) exits 0', { stderr: r.stderr })
    await sleep(300)
    t.ok(procAlive(pid), 'pid 1 without a handler ignores SIGTERM')
    r = await cd.ctr(['task', 'kill', '-s', 'SIGKILL', id])
    t.equal(r.code, 0, 'task kill -s SIGKILL exits 0', { stderr: r.stderr })
    t.ok(await waitFor(async () => (await tasks(cd))[id]?.[1] === 'STOPPED', 5000), 'task STOPPED')
    r = await cd.ctr(['task', 'delete', id])
    t.equal(r.code, 0, 'task delete exits 0', { stderr: r.stderr })
    t.match(r.stdout + r.stderr, /137/, 'reports exit code 137')
    t.notOk(fs.existsSync(path.join(cd.stateRoot, id)), 'runtime state gone')
    // a new task in the same container
    r = await cd.ctr(['task', 'start', '-d', id])
    t.equal(r.code, 0, 'task start -d: a new task after delete', { stderr: r.stderr })
    ts = await tasks(cd)
    t.equal(ts[id]?.[1], 'RUNNING', 'RUNNING again')
    t.not(ts[id]?.[0], pid, 'with a new init')
    r = await cd.ctr(['task', 'exec', '-d', '--exec-id', 'bg', id, 'sleep', '1000'])
    t.equal(r.code, 0, 'a second process (exec -d)', { stderr: r.stderr })
    r = await cd.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id])
    t.equal(r.code, 0, 'task kill -a exits 0', { stderr: r.stderr })
    t.ok(await waitFor(async () => (await tasks(cd))[id]?.[1] === 'STOPPED', 5000), 'task STOPPED')
    r = await cd.ctr(['task', 'delete', id])
    t.equal(r.code, 0, 'task delete', { stderr: r.stderr })
    // delete -f of a running task
    r = await cd.ctr(['task', 'start', '-d', id])
    t.equal(r.code, 0, 'third task', { stderr: r.stderr })
    const pid3 = (await tasks(cd))[id]?.[0]
    r = await cd.ctr(['task', 'delete', '-f', id])
    t.equal(r.code, 0, 'task delete -f of a running task exits 0', { stderr: r.stderr })
    t.ok(await waitFor(() => !procAlive(pid3), 3000), 'its init is gone')
    r = await cd.ctr(['container', 'rm', id])
    t.equal(r.code, 0, 'container rm', { stderr: r.stderr })
  })

  ctest(t, cd, 'exec: output, exit code, --user uid:gid, --cwd, env, -t, missing binary', async t => {
    const id = cid('exec')
    let r = await cd.runCtr(id, ['-d', '--env', 'FROM_RUN=1'], ['sleep', '1000'])
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e1', id, 'echo', 'hi from exec'])
    t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr })
    t.equal(r.stdout, 'hi from exec\n', 'exec output')
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e2', id, 'sh', '-c', 'exit 7'])
    t.equal(r.code, 7, 'exec exit code 7', { stderr: r.stderr })
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e3', '--user', '65534:65534', id, 'sh', '-c', 'id -u; id -g'])
    t.equal(r.stdout, '65534\n65534\n', 'exec --user 65534:65534', { stderr: r.stderr })
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e4', '--cwd', '/tmp', id, 'sh', '-c', 'pwd; echo "FROM_RUN=$FROM_RUN"'])
    t.equal(r.stdout, '/tmp\nFROM_RUN=1\n', 'exec --cwd; the container\'s env', { stderr: r.stderr })
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e5', id, 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; readlink /proc/self/ns/pid /proc/1/ns/pid'])
    const lines = r.stdout.trim().split('\n')
    t.equal(lines[0]?.trim(), 'sleep 1000', 'exec sees the container\'s pid 1')
    t.equal(lines[1], lines[2], 'same pid namespace')
    const cmd = cd.ctrCmdline(['task', 'exec', '-t', '--exec-id', 'e6', id, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; exit 6'])
    r = await cd.run0('script', ['-qec', cmd, '/dev/null'])
    t.equal(r.code, 6, 'exec -t: exit 6', { out: r.stdout, err: r.stderr })
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'exec -t: a pty')
    t.match(r.stdout, /stdin-is-tty/, 'stdin is the tty')
    r = await cd.ctr(['task', 'exec', '--exec-id', 'e7', id, '/no/such/binary'])
    t.not(r.code, 0, 'exec of a missing binary fails')
    t.match(r.stderr, /OCI runtime exec failed: .*no such file or directory/, 'with the runtime\'s message', { stderr: r.stderr })
    t.equal((await tasks(cd))[id]?.[1], 'RUNNING', 'the container still runs')
  })

  ctest(t, cd, 'pause / resume: freezer.state', async t => {
    const id = cid('pause')
    let r = await cd.runCtr(id, ['-d'], ['sh', '-c', 'while :; do sleep 0.05; done'])
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    const freezer = cgroupFile('freezer', cd.ctrCgroup(id), 'freezer.state')
    r = await cd.ctr(['task', 'pause', id])
    t.equal(r.code, 0, 'task pause exits 0', { stderr: r.stderr })
    t.equal(readText(freezer).trim(), 'FROZEN', 'FROZEN')
    t.equal((await tasks(cd))[id]?.[1], 'PAUSED', 'task ls: PAUSED')
    r = await cd.ctr(['task', 'resume', id])
    t.equal(r.code, 0, 'task resume exits 0', { stderr: r.stderr })
    t.equal(readText(freezer).trim(), 'THAWED', 'THAWED')
    t.equal((await tasks(cd))[id]?.[1], 'RUNNING', 'task ls: RUNNING')
    // kill while paused: the task must still die
    await cd.ctr(['task', 'pause', id])
    r = await cd.ctr(['task', 'kill', '-s', 'SIGKILL', id])
    t.equal(r.code, 0, 'kill -s SIGKILL of a paused task exits 0', { stderr: r.stderr })
    t.ok(await waitFor(async () => (await tasks(cd))[id]?.[1] === 'STOPPED', 5000), 'and the task stops')
  })

  ctest(t, cd, 'a terminal via -t (script -qc)', async t => {
    const id = cid('tty')
    const cmd = cd.ctrCmdline(['run', '--rm', '-t', ...cd.runtimeFlags(), 'localhost/hull-e2e-busybox:latest', id, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; [ -t 1 ] && echo stdout-is-tty; exit 4'])
    const r = await cd.run0('script', ['-qec', cmd, '/dev/null'])
    t.equal(r.code, 4, 'exit 4 through the pty', { out: r.stdout, err: r.stderr })
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'a /dev/pts device')
    t.match(r.stdout, /stdin-is-tty/, 'stdin is a tty')
    t.match(r.stdout, /stdout-is-tty/, 'stdout is a tty')
  })

  ctest(t, cd, 'limits at run, and update --resources - through Tasks.Update (gRPC)', async t => {
    const id = cid('update')
    let r = await cd.runCtr(id, ['-d', '--memory-limit', String(64 << 20), '--cpus', '0.5'], ['sleep', '1000'])
    t.equal(r.code, 0, 'run -d with limits', { stderr: r.stderr })
    const cg = cd.ctrCgroup(id)
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(64 << 20), 'memory.limit_in_bytes 64m')
    t.equal(readText(cgroupFile('cpu', cg, 'cpu.cfs_quota_us')).trim(), '50000', 'cpu.cfs_quota_us 50000')
    const u = await cd.update(id, { memory: { limit: 48 << 20 }, cpu: { quota: 25000, period: 100000 }, pids: { limit: 50 } })
    t.equal(u.status, 0, 'Tasks.Update: grpc-status 0', { message: u.message })
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(48 << 20), 'memory.limit_in_bytes now 48m')
    t.equal(readText(cgroupFile('cpu', cg, 'cpu.cfs_quota_us')).trim(), '25000', 'cpu.cfs_quota_us now 25000')
    t.equal(readText(cgroupFile('pids', cg, 'pids.max')).trim(), '50', 'pids.max now 50')
    const bad = await cd.update(id, { memory: { limit: 4096 } })
    t.not(bad.status, 0, 'an impossible memory limit fails')
    t.match(bad.message, /memory/i, 'and the runtime says why', { message: bad.message })
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(48 << 20), 'the limit is unchanged')
  })

  ctest(t, cd, 'seccomp (ctr --seccomp default profile), read-only root', async t => {
    const r = await cd.runCtr(cid('sec'), ['--rm', '--seccomp', '--read-only'], ['sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; touch /x 2>&1; echo rc=$?'])
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.match(r.stdout, /^Seccomp:\s+2$/m, 'seccomp filter mode')
    t.match(r.stdout, /^NoNewPrivs:\s+1$/m, 'ctr sets noNewPrivileges')
    t.match(r.stdout, /Read-only file system/, 'read-only root')
  })

  t.test('nothing left at the end; the daemon stops', async t => {
    await cd.teardown(t)
  })
})
