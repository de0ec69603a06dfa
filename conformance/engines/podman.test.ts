// End-to-end: podman 4.3 + conmon drive the runtime under test ($RUNTIME, default bin/hull)
// exactly as in production (CONTRACT.md §7). Private podman storage and config, a busybox image
// made with `podman import`, every container under one cgroup parent; after every test nothing
// of its containers may be left (runtime state, cgroups, processes, rootfs mounts).
import t from 'tap'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { cgroupFile, engineTest, procAlive, readText, RUNTIME, RUNTIME_NAME, waitFor } from './lib/common'
import { Podman, removeHostTraces } from './lib/podman'

t.setTimeout(600000)
t.teardown(removeHostTraces)

// capability bits of podman's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
// SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
const DEFAULT_CAPS = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31].reduce((a, b) => a | (1n << BigInt(b)), 0n)
// the shell's open fds; the glob's own directory fd is closed by the time readlink runs
const FD_LIST = 'cat <&3; l=; for f in /proc/$$/fd/*; do readlink $f >/dev/null && l="$l ${f##*/}"; done; echo fds:$l'
const hex = (n: bigint) => n.toString(16).padStart(16, '0')

function field(txt: string, name: string): string | undefined {
  const m = txt.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))
  return m?.[1].trim()
}

/** A subtest whose containers are removed and checked (nothing left) pass or fail. */
const ptest = (parent: any, pm: Podman, name: string, fn: (t: any) => Promise<void>, opts: any = {}) => engineTest(parent, pm, name, fn, opts)

const mainSkip = (() => {
  const r = Podman.setup({ json: true })
  return r
})()

t.test(`podman on ${RUNTIME_NAME} (${RUNTIME})`, { skip: typeof mainSkip === 'string' ? mainSkip : false }, async t => {
  const pm = mainSkip as Podman
  t.teardown(() => pm.destroy())
  t.comment(`${pm.version}; storage ${pm.dir}; cgroup parent ${pm.cgParent}`)

  ptest(t, pm, 'podman info shows the runtime', async t => {
    const r = await pm.p(['info', '--format', 'json'])
    t.equal(r.code, 0, 'podman info exits 0', { stderr: r.stderr })
    let info: any = null
    try {
      info = JSON.parse(r.stdout)
    } catch {
      /* */
    }
    t.equal(info?.host?.ociRuntime?.path, RUNTIME, 'ociRuntime.path is the runtime under test')
    t.match(info?.host?.ociRuntime?.version || '', new RegExp(`^${RUNTIME_NAME} version `), 'ociRuntime.version is its --version')
    t.equal(info?.host?.cgroupManager, 'cgroupfs', 'cgroupfs manager')
  })

  ptest(t, pm, 'run: exit codes 0 and 3, stdout and stderr, -i', async t => {
    let r = await pm.runCtr(null, ['--rm'], ['sh', '-c', 'echo to-stdout; echo to-stderr >&2'])
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.equal(r.stdout, 'to-stdout\n', 'stdout passed through unchanged')
    t.equal(r.stderr, 'to-stderr\n', 'stderr passed through unchanged (nothing from the runtime)')
    r = await pm.runCtr(null, ['--rm'], ['sh', '-c', 'exit 3'])
    t.equal(r.code, 3, 'exit 3', { stderr: r.stderr })
    r = await pm.runCtr(null, ['--rm', '-i'], ['sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' })
    t.equal(r.code, 0, '-i exits 0', { stderr: r.stderr })
    t.equal(r.stdout, 'line one\nline two\ndone\n', '-i: stdin reaches the container, EOF ends it')
  })

  ptest(t, pm, 'run: missing binary 127, non-executable 126 (message from the runtime)', async t => {
    let r = await pm.runCtr(null, ['--rm'], ['/no/such/binary'])
    t.equal(r.code, 127, 'missing absolute binary: 127', { stderr: r.stderr })
    t.match(r.stderr, /no such file or directory/i, 'says no such file or directory')
    r = await pm.runCtr(null, ['--rm'], ['no-such-command'])
    t.equal(r.code, 127, 'missing command looked up in $PATH: 127', { stderr: r.stderr })
    r = await pm.runCtr(null, ['--rm'], ['/etc/not-a-program'])
    t.equal(r.code, 126, 'non-executable file: 126', { stderr: r.stderr })
    t.match(r.stderr, /permission denied/i, 'says permission denied')
    r = await pm.runCtr(null, ['--rm'], ['/etc'])
    t.equal(r.code, 126, 'a directory: 126', { stderr: r.stderr })
  })

  ptest(t, pm, 'run -d, ps, stop (TERM delivered; escalation to 137), rm', async t => {
    const n = pm.name('stop')
    const { id, r } = await pm.detach(n, [], ['sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done'])
    t.equal(r.code, 0, 'run -d exits 0', { stderr: r.stderr })
    t.match(id, /^[0-9a-f]{64}$/, 'prints the full id')
    pm.ids.add(id)
    t.equal(await pm.inspect(n, '{{.State.Status}}'), 'running', 'podman: running')
    t.ok(fs.existsSync(path.join(pm.stateRoot, id)), `runtime state at ${pm.stateRoot}/<id>`)
    const ps = await pm.p(['ps', '--filter', `name=${n}`, '--format', '{{.Names}} {{.Status}}'])
    t.match(ps.stdout, new RegExp(`^${n} Up`), 'podman ps: Up')
    await waitFor(async () => (await pm.p(['logs', n])).stdout.includes('ready'), 5000)
    const st = await pm.p(['stop', '-t', '5', n])
    t.equal(st.code, 0, 'stop exits 0', { stderr: st.stderr })
    t.equal(await pm.inspect(n, '{{.State.ExitCode}}'), '42', 'the TERM trap ran: exit 42')
    t.match((await pm.p(['logs', n])).stdout, /got-term/, 'and printed')
    t.notOk(fs.existsSync(path.join(pm.stateRoot, id)), 'runtime state gone after stop (podman deletes)')
    // pid 1 without a TERM handler ignores TERM: stop must escalate to SIGKILL
    const n2 = pm.name('stopkill')
    const d2 = await pm.detach(n2, [], ['sleep', '1000'])
    pm.ids.add(d2.id)
    t.equal(d2.r.code, 0, 'run -d sleep', { stderr: d2.r.stderr })
    const t0 = Date.now()
    const st2 = await pm.p(['stop', '-t', '1', n2])
    t.equal(st2.code, 0, 'stop -t 1 exits 0', { stderr: st2.stderr })
    t.ok(Date.now() - t0 >= 900, 'waited the timeout')
    t.equal(await pm.inspect(n2, '{{.State.ExitCode}}'), '137', 'escalated to SIGKILL: 137')
    const rm = await pm.p(['rm', n, n2])
    t.equal(rm.code, 0, 'rm exits 0', { stderr: rm.stderr })
    pm.names.delete(n)
    pm.names.delete(n2)
  })

  ptest(t, pm, 'kill -s USR1 and kill (default KILL)', async t => {
    const n = pm.name('kill')
    const { id, r } = await pm.detach(n, [], ['sh', '-c', 'trap "echo got-usr1; exit 10" USR1; echo ready; while :; do sleep 0.1; done'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    await waitFor(async () => (await pm.p(['logs', n])).stdout.includes('ready'), 5000)
    const k = await pm.p(['kill', '-s', 'USR1', n])
    t.equal(k.code, 0, 'kill -s USR1 exits 0', { stderr: k.stderr })
    const w = await pm.p(['wait', n])
    t.equal(w.stdout.trim(), '10', 'container exited from its USR1 trap: 10')
    t.match((await pm.p(['logs', n])).stdout, /got-usr1/, 'trap output in logs')
    const n2 = pm.name('kill9')
    const d2 = await pm.detach(n2, [], ['sleep', '1000'])
    pm.ids.add(d2.id)
    const k2 = await pm.p(['kill', n2])
    t.equal(k2.code, 0, 'kill exits 0', { stderr: k2.stderr })
    t.equal((await pm.p(['wait', n2])).stdout.trim(), '137', 'SIGKILL: 137')
    const k3 = await pm.p(['kill', n2])
    t.not(k3.code, 0, 'kill of a stopped container fails')
  })

  ptest(t, pm, 'pause / unpause: freezer.state', async t => {
    const n = pm.name('pause')
    const { id, r } = await pm.detach(n, [], ['sh', '-c', 'while :; do date +%s%N > /tmp/tick; sleep 0.05; done'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    const freezer = cgroupFile('freezer', pm.ctrCgroup(id), 'freezer.state')
    const p = await pm.p(['pause', n])
    t.equal(p.code, 0, 'pause exits 0', { stderr: p.stderr })
    t.equal(readText(freezer).trim(), 'FROZEN', `${freezer}: FROZEN`)
    t.equal(await pm.inspect(n, '{{.State.Status}}'), 'paused', 'podman: paused')
    const a = (await pm.p(['exec', n, 'true'])).code
    t.not(a, 0, 'exec into a paused container is refused by podman')
    const u = await pm.p(['unpause', n])
    t.equal(u.code, 0, 'unpause exits 0', { stderr: u.stderr })
    t.equal(readText(freezer).trim(), 'THAWED', 'THAWED')
    t.equal(await pm.inspect(n, '{{.State.Status}}'), 'running', 'podman: running')
    // pause again and remove while frozen: the kill must not hang on a frozen cgroup
    await pm.p(['pause', n])
    const t0 = Date.now()
    const rm = await pm.p(['rm', '-f', '-t', '0', n], { timeoutMs: 30000 })
    t.equal(rm.code, 0, 'rm -f of a paused container exits 0', { stderr: rm.stderr })
    t.ok(Date.now() - t0 < 5000, `and is quick (${Date.now() - t0} ms)`)
    pm.names.delete(n)
  })

  ptest(t, pm, '--memory / --pids-limit / --cpus in the cgroup files; podman update', async t => {
    const n = pm.name('limits')
    const { id, r } = await pm.detach(n, ['--memory', '64m', '--pids-limit', '50', '--cpus', '0.5'], ['sleep', '1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d with limits', { stderr: r.stderr })
    const cg = pm.ctrCgroup(id)
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(64 << 20), 'memory.limit_in_bytes 64m')
    t.equal(readText(cgroupFile('pids', cg, 'pids.max')).trim(), '50', 'pids.max 50')
    t.equal(readText(cgroupFile('cpu', cg, 'cpu.cfs_quota_us')).trim(), '50000', 'cpu.cfs_quota_us 50000')
    t.equal(readText(cgroupFile('cpu', cg, 'cpu.cfs_period_us')).trim(), '100000', 'cpu.cfs_period_us 100000')
    const pid = Number(await pm.inspect(n, '{{.State.Pid}}'))
    t.match(readText(`/proc/${pid}/cgroup`), new RegExp(`:memory:${cg}$`, 'm'), 'the container process is in that cgroup')
    // podman 4.3's update has no --pids-limit
    const u = await pm.p(['update', '--memory', '96m', '--cpus', '0.25', n])
    t.equal(u.code, 0, 'podman update exits 0', { stderr: u.stderr })
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(96 << 20), 'memory.limit_in_bytes now 96m')
    t.equal(readText(cgroupFile('cpu', cg, 'cpu.cfs_quota_us')).trim(), '25000', 'cpu.cfs_quota_us now 25000')
    t.equal(readText(cgroupFile('pids', cg, 'pids.max')).trim(), '50', 'pids.max untouched')
    const bad = await pm.p(['update', '--memory', '1k', n])
    t.not(bad.code, 0, 'update to an impossible memory limit fails')
    t.equal(readText(cgroupFile('memory', cg, 'memory.limit_in_bytes')).trim(), String(96 << 20), 'and leaves the limit as it was')
  })

  ptest(t, pm, '--read-only', async t => {
    const r = await pm.runCtr(null, ['--rm', '--read-only'], [
      'sh',
      '-c',
      'touch /x 2>&1; echo root=$?; touch /tmp/y && echo tmp=ok; grep " / / " /proc/self/mountinfo | cut -d" " -f6',
    ])
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
    t.match(r.stdout, /Read-only file system/, 'write to / fails with EROFS')
    t.match(r.stdout, /root=1/, 'touch / fails')
    t.match(r.stdout, /tmp=ok/, '/tmp (podman tmpfs) stays writable')
    t.match(r.stdout, /^ro[,\n]/m, 'root mount is ro')
  })

  ptest(t, pm, 'capabilities: default set, --cap-drop, --cap-add', async t => {
    const caps = async (flags: string[]) => {
      const r = await pm.runCtr(null, ['--rm', ...flags], ['cat', '/proc/self/status'])
      return { r, eff: field(r.stdout, 'CapEff'), bnd: field(r.stdout, 'CapBnd'), prm: field(r.stdout, 'CapPrm'), inh: field(r.stdout, 'CapInh') }
    }
    let c = await caps([])
    t.equal(c.r.code, 0, 'default: exit 0', { stderr: c.r.stderr })
    t.equal(c.eff, hex(DEFAULT_CAPS), 'default effective set is podman\'s 11 capabilities')
    t.equal(c.bnd, hex(DEFAULT_CAPS), 'bounding set too')
    t.equal(c.prm, hex(DEFAULT_CAPS), 'permitted set too')
    c = await caps(['--cap-drop', 'CHOWN', '--cap-drop', 'KILL'])
    t.equal(c.eff, hex(DEFAULT_CAPS & ~1n & ~(1n << 5n)), '--cap-drop CHOWN,KILL removes bits 0 and 5')
    c = await caps(['--cap-drop', 'all', '--cap-add', 'NET_RAW', '--cap-add', 'SYS_TIME'])
    t.equal(c.eff, hex((1n << 13n) | (1n << 25n)), '--cap-drop all --cap-add NET_RAW,SYS_TIME: exactly bits 13 and 25')
    t.equal(c.bnd, hex((1n << 13n) | (1n << 25n)), 'bounding set likewise')
    const r = await pm.runCtr(null, ['--rm', '--cap-drop', 'all'], ['sh', '-c', 'chown 65534 /tmp 2>&1; echo rc=$?'])
    t.match(r.stdout, /rc=1/, 'without CAP_CHOWN, chown fails inside')
  })

  ptest(t, pm, '--security-opt no-new-privileges; seccomp (podman default profile)', async t => {
    let r = await pm.runCtr(null, ['--rm'], ['cat', '/proc/self/status'])
    t.equal(field(r.stdout, 'NoNewPrivs'), '0', 'default: NoNewPrivs 0')
    t.equal(field(r.stdout, 'Seccomp'), '2', 'default: seccomp filter mode (podman\'s default profile)')
    t.ok(Number(field(r.stdout, 'Seccomp_filters')) >= 1, 'at least one filter')
    r = await pm.runCtr(null, ['--rm', '--security-opt', 'no-new-privileges'], ['cat', '/proc/self/status'])
    t.equal(r.code, 0, 'no-new-privileges: exit 0', { stderr: r.stderr })
    t.equal(field(r.stdout, 'NoNewPrivs'), '1', 'NoNewPrivs 1')
    r = await pm.runCtr(null, ['--rm', '--security-opt', 'seccomp=unconfined'], ['cat', '/proc/self/status'])
    t.equal(field(r.stdout, 'Seccomp'), '0', 'seccomp=unconfined: no filter')
    // a custom profile through podman: mkdir refused with EPERM, everything else allowed
    const prof = path.join(pm.dir, 'no-mkdir.json')
    fs.writeFileSync(
      prof,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
      }),
    )
    r = await pm.runCtr(null, ['--rm', '--security-opt', `seccomp=${prof}`], ['sh', '-c', 'mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch=ok'])
    t.equal(r.code, 0, 'custom profile: exit 0', { stderr: r.stderr })
    t.match(r.stdout, /Operation not permitted/, 'custom profile: mkdir refused with EPERM')
    t.match(r.stdout, /rc=1/, 'mkdir fails')
    t.match(r.stdout, /touch=ok/, 'other syscalls allowed')
  })

  ptest(t, pm, '-t with a real pty (script -qc), -it with input', async t => {
    const cmd = pm.cmdline(['run', '--rm', '-t', ...pm.common, 'localhost/hull-e2e-busybox:latest', 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; [ -t 1 ] && echo stdout-is-tty; exit 4'])
    let r = await pm.run0('script', ['-qec', cmd, '/dev/null'])
    t.equal(r.code, 4, 'exit code 4 through the pty', { out: r.stdout, err: r.stderr })
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'tty is a /dev/pts device')
    t.match(r.stdout, /stdin-is-tty/, 'stdin is a tty')
    t.match(r.stdout, /stdout-is-tty/, 'stdout is a tty')
    t.match(r.stdout, /\r\n/, 'ONLCR: the pty turns \\n into \\r\\n')
    const cmd2 = pm.cmdline(['run', '--rm', '-it', ...pm.common, 'localhost/hull-e2e-busybox:latest', 'sh'])
    r = await pm.run0('script', ['-qec', cmd2, '/dev/null'], { input: 'echo hello-$((6*7)); exit 5\n' })
    t.equal(r.code, 5, '-it: exit 5 typed in the shell', { out: r.stdout, err: r.stderr })
    t.match(r.stdout, /hello-42/, '-it: typed command ran')
  })

  ptest(t, pm, '--preserve-fds', async t => {
    const f = path.join(pm.dir, 'preserved.txt')
    fs.writeFileSync(f, 'marker-from-fd-3\n')
    const fd = fs.openSync(f, 'r')
    try {
      const r = await pm.runCtr(null, ['--rm', '--preserve-fds', '1'], ['sh', '-c', FD_LIST], {
        extraFds: [fd],
      })
      t.equal(r.code, 0, 'exit 0', { stderr: r.stderr })
      t.match(r.stdout, /marker-from-fd-3/, 'fd 3 is the caller\'s file')
      t.match(r.stdout, /^fds: 0 1 2 3$/m, 'and only fds 0-3 reach the container')
    } finally {
      fs.closeSync(fd)
    }
  })

  ptest(t, pm, 'ps / top / logs', async t => {
    const n = pm.name('top')
    const { id, r } = await pm.detach(n, [], ['sh', '-c', 'echo out-line; echo err-line >&2; exec sleep 1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    await waitFor(async () => (await pm.p(['top', n, 'args'])).stdout.includes('sleep 1000'), 5000)
    const top = await pm.p(['top', n, 'pid', 'args'])
    t.equal(top.code, 0, 'podman top exits 0', { stderr: top.stderr })
    t.match(top.stdout, /^\s*1\s+sleep 1000\s*$/m, 'top: pid 1 is sleep 1000 (pid namespace)')
    const ps = await pm.p(['ps', '-a', '--filter', `id=${id}`, '--format', '{{.ID}} {{.Status}}'])
    t.match(ps.stdout, /Up/, 'ps: Up')
    const logs = await pm.p(['logs', n])
    t.match(logs.stdout + logs.stderr, /out-line/, 'logs: stdout line')
    t.match(logs.stdout + logs.stderr, /err-line/, 'logs: stderr line')
  })

  ptest(t, pm, 'restart', async t => {
    const n = pm.name('restart')
    const { id, r } = await pm.detach(n, [], ['sleep', '1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    const pid1 = Number(await pm.inspect(n, '{{.State.Pid}}'))
    const rs = await pm.p(['restart', '-t', '0', n])
    t.equal(rs.code, 0, 'restart exits 0', { stderr: rs.stderr })
    const pid2 = Number(await pm.inspect(n, '{{.State.Pid}}'))
    t.equal(await pm.inspect(n, '{{.State.Status}}'), 'running', 'running again')
    t.ok(pid2 > 0 && pid2 !== pid1, `a new init (${pid1} -> ${pid2})`)
    t.equal(readText(`/proc/${pid2}/comm`).trim(), 'sleep', 'running sleep')
    t.ok(fs.existsSync(path.join(pm.stateRoot, id)), 'runtime state exists again')
  })

  ptest(t, pm, 'rm -f of a running container in under a second', async t => {
    const n = pm.name('rmf')
    const { id, r } = await pm.detach(n, [], ['sleep', '1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    const pid = Number(await pm.inspect(n, '{{.State.Pid}}'))
    const rm = await pm.p(['rm', '-f', '-t', '0', n])
    t.equal(rm.code, 0, 'rm -f exits 0', { stderr: rm.stderr })
    t.ok(rm.ms < 1000, `took ${rm.ms} ms`)
    pm.names.delete(n)
    t.ok(await waitFor(() => !procAlive(pid), 2000), 'the init is gone')
  })

  ptest(t, pm, 'OOM kill gives 137 (--memory 32m)', async t => {
    fs.rmSync(path.join(pm.dir, 'oom'), { force: true })
    const r = await pm.runCtr(null, ['--rm', '--memory', '32m', '--memory-swap', '32m'], [
      'sh',
      '-c',
      'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived ${#x}',
    ], { timeoutMs: 120000 })
    t.equal(r.code, 137, 'killed by the OOM killer: 137', { stdout: r.stdout, stderr: r.stderr })
    t.notMatch(r.stdout, /survived/, 'the hog did not finish')
    // conmon watches the container's memory cgroup and writes ./oom (its cwd: our scratch dir)
    t.ok(fs.existsSync(path.join(pm.dir, 'oom')), 'conmon saw an OOM event in the container\'s cgroup')
  })

  ptest(t, pm, '--pid host: stop uses kill --all', async t => {
    const n = pm.name('pidhost')
    const { id, r } = await pm.detach(n, ['--pid', 'host'], ['sleep', '1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d --pid host', { stderr: r.stderr })
    const pid = Number(await pm.inspect(n, '{{.State.Pid}}'))
    t.equal(readText(`/proc/${pid}/comm`).trim(), 'sleep', 'host pid of the container is sleep')
    const st = await pm.p(['stop', '-t', '1', n])
    t.equal(st.code, 0, 'stop exits 0', { stderr: st.stderr })
    // sleep is not a pid 1 here, so TERM (sent to every process of the cgroup) kills it
    t.equal(await pm.inspect(n, '{{.State.ExitCode}}'), '143', 'stopped by SIGTERM: 143')
  })

  ptest(t, pm, 'exec: plain, exit code, -u, -e, -w, -t, --preserve-fds, 127/126', async t => {
    const n = pm.name('exec')
    const { id, r } = await pm.detach(n, [], ['sleep', '1000'])
    pm.ids.add(id)
    t.equal(r.code, 0, 'run -d', { stderr: r.stderr })
    let e = await pm.p(['exec', n, 'echo', 'hi from exec'])
    t.equal(e.code, 0, 'exec exits 0', { stderr: e.stderr })
    t.equal(e.stdout, 'hi from exec\n', 'exec output')
    e = await pm.p(['exec', n, 'sh', '-c', 'exit 7'])
    t.equal(e.code, 7, 'exec exit code 7', { stderr: e.stderr })
    e = await pm.p(['exec', '-u', '65534:65534', n, 'sh', '-c', 'id -u; id -g'])
    t.equal(e.stdout, '65534\n65534\n', 'exec -u 65534:65534', { stderr: e.stderr })
    e = await pm.p(['exec', '-e', 'FOO=bar baz', n, 'sh', '-c', 'echo "$FOO"'])
    t.equal(e.stdout, 'bar baz\n', 'exec -e', { stderr: e.stderr })
    e = await pm.p(['exec', '-w', '/tmp', n, 'pwd'])
    t.equal(e.stdout, '/tmp\n', 'exec -w', { stderr: e.stderr })
    e = await pm.p(['exec', n, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; readlink /proc/self/ns/pid; readlink /proc/1/ns/pid'])
    const lines = e.stdout.trim().split('\n')
    t.equal(lines[0]?.trim(), 'sleep 1000', 'exec sees the container\'s pid 1')
    t.equal(lines[1], lines[2], 'in the same pid namespace')
    e = await pm.p(['exec', n, '/no/such/binary'])
    t.equal(e.code, 127, 'exec of a missing binary: 127', { stderr: e.stderr })
    e = await pm.p(['exec', n, '/etc/not-a-program'])
    t.equal(e.code, 126, 'exec of a non-executable: 126', { stderr: e.stderr })
    const cmd = pm.cmdline(['exec', '-t', n, 'sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; exit 6'])
    e = await pm.run0('script', ['-qec', cmd, '/dev/null'])
    t.equal(e.code, 6, 'exec -t: exit 6', { out: e.stdout, err: e.stderr })
    t.match(e.stdout, /\/dev\/pts\/\d+/, 'exec -t: a pty')
    t.match(e.stdout, /stdin-is-tty/, 'exec -t: stdin is a tty')
    const f = path.join(pm.dir, 'exec-preserved.txt')
    fs.writeFileSync(f, 'exec-marker\n')
    const fd = fs.openSync(f, 'r')
    try {
      e = await pm.p(['exec', '--preserve-fds', '1', n, 'sh', '-c', 'cat <&3'], { extraFds: [fd] })
      t.equal(e.stdout, 'exec-marker\n', 'exec --preserve-fds 1', { stderr: e.stderr })
    } finally {
      fs.closeSync(fd)
    }
    t.equal(await pm.inspect(n, '{{.State.Status}}'), 'running', 'container still running after the execs')
  })

  t.test('nothing left at the end (podman storage, runtime state, cgroups, processes)', async t => {
    await pm.teardown(t)
  })
})

// The stderr path: without the runtime in runtime_supports_json podman passes no --log/--log-format
// and takes errors from the runtime's stderr (through conmon).
const plainSkip = typeof mainSkip === 'string' ? mainSkip : Podman.setup({ json: false })

t.test(`podman on ${RUNTIME_NAME}, runtime not in runtime_supports_json (stderr path)`, { skip: typeof plainSkip === 'string' ? plainSkip : false }, async t => {
  const pm = plainSkip as Podman
  t.teardown(() => pm.destroy())

  ptest(t, pm, 'exit codes, 127 / 126 with the runtime\'s message, run -d + rm -f', async t => {
    let r = await pm.runCtr(null, ['--rm'], ['sh', '-c', 'echo out; exit 3'])
    t.equal(r.code, 3, 'exit 3', { stderr: r.stderr })
    t.equal(r.stdout, 'out\n', 'stdout')
    r = await pm.runCtr(null, ['--rm'], ['/no/such/binary'])
    t.equal(r.code, 127, 'missing binary: 127', { stderr: r.stderr })
    t.match(r.stderr, /no such file or directory/i, 'the runtime\'s message reaches the user')
    r = await pm.runCtr(null, ['--rm'], ['/etc/not-a-program'])
    t.equal(r.code, 126, 'non-executable: 126', { stderr: r.stderr })
    t.match(r.stderr, /permission denied/i, 'says permission denied')
    const n = pm.name('plain')
    const d = await pm.detach(n, [], ['sleep', '1000'])
    pm.ids.add(d.id)
    t.equal(d.r.code, 0, 'run -d', { stderr: d.r.stderr })
    const conmon = readText(`/proc/${Number(await pm.inspect(n, '{{.State.ConmonPid}}'))}/cmdline`).replace(/\0/g, ' ')
    t.notMatch(conmon, /--log-format/, 'conmon passes no --log-format to the runtime')
    const e = await pm.p(['exec', n, 'echo', 'exec-ok'])
    t.equal(e.stdout, 'exec-ok\n', 'exec works without JSON logs', { stderr: e.stderr })
    const rm = await pm.p(['rm', '-f', '-t', '0', n])
    t.equal(rm.code, 0, 'rm -f', { stderr: rm.stderr })
    pm.names.delete(n)
  })

  t.test('nothing left at the end', async t => {
    await pm.teardown(t)
  })
})
