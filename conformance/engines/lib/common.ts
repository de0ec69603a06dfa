/* c8 ignore start */ // test helpers, not code under test
// Shared by the engine end-to-end tests (podman, containerd): which runtime is under test, a
// busybox rootfs, a child-process runner that never blocks on a leaked pipe, and host checks
// (cgroups, processes, mounts) that say whether an engine + runtime left anything behind.
import { spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { allPids, cgroupMounts, cmdline, mountsUnder, procAlive, rand, readText, removeCgroupDir, RFC3339, safeKill, sleep } from '../../lib/harness'

export { rand, sleep, readText, procAlive, cmdline, safeKill, mountsUnder }
/** RFC 3339 with optional fractional seconds (what Go's time.Time unmarshals) */
export const RFC3339_LOOSE = RFC3339

export const REPO = path.resolve(__dirname, '..', '..', '..')

/** Absolute path of `name` in $PATH (or name itself when it has a slash). */
export function which(name: string): string | null {
  if (name.includes('/')) return fs.existsSync(name) ? path.resolve(name) : null
  for (const d of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(d || '.', name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      if (fs.statSync(p).isFile()) return path.resolve(p)
    } catch {
      /* next */
    }
  }
  return null
}

/** The runtime under test: $RUNTIME (a name in $PATH or a path), default <repo>/bin/hull; absolute. */
export const RUNTIME = (() => {
  const r = process.env.RUNTIME || path.join(REPO, 'bin', 'hull')
  return which(r) || path.resolve(r)
})()
export const RUNTIME_NAME = path.basename(RUNTIME)
export const IS_HULL = RUNTIME_NAME === 'hull'

/** Where the runtime keeps its state when the caller passes no --root (podman never does). */
export function defaultStateRoot(): string {
  if (RUNTIME_NAME === 'hull') return '/run/hull'
  if (RUNTIME_NAME === 'runc') return '/run/runc'
  if (RUNTIME_NAME === 'crun') return '/run/crun'
  return `/run/${RUNTIME_NAME}`
}

export interface Out {
  code: number
  signal: string | null
  stdout: string
  stderr: string
  ms: number
  timedOut: boolean
}

export interface RunOpts {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** written to the child's stdin (a file, so the child sees EOF after it); default /dev/null */
  input?: string
  /** open fds handed to the child at 3, 4, ... */
  extraFds?: number[]
  timeoutMs?: number
}

let seq = 0
/**
 * Run a command to completion. stdio are files, never pipes: an engine that leaves a daemon
 * (conmon, a shim) holding our stdout must not make us wait forever.
 */
export async function run(scratch: string, cmd: string, args: string[], o: RunOpts = {}): Promise<Out> {
  const n = `${process.pid}-${seq++}`
  const outF = path.join(scratch, `.out-${n}`)
  const errF = path.join(scratch, `.err-${n}`)
  const inF = path.join(scratch, `.in-${n}`)
  fs.writeFileSync(inF, o.input ?? '')
  const out = fs.openSync(outF, 'w+')
  const err = fs.openSync(errF, 'w+')
  const inp = fs.openSync(inF, 'r')
  const t0 = Date.now()
  let timedOut = false
  try {
    const child = spawn(cmd, args, {
      stdio: [inp, out, err, ...(o.extraFds || [])],
      env: o.env || process.env,
      cwd: o.cwd || scratch,
    })
    const r = await new Promise<{ code: number; signal: string | null }>(res => {
      const timer = setTimeout(() => {
        timedOut = true
        child.kill('SIGKILL')
      }, o.timeoutMs ?? 60000)
      child.once('error', e => {
        clearTimeout(timer)
        fs.appendFileSync(errF, `spawn ${cmd}: ${e.message}\n`)
        res({ code: -1, signal: 'SPAWN_ERROR' })
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        res({ code: code ?? -1, signal })
      })
    })
    return { ...r, stdout: readText(outF), stderr: readText(errF), ms: Date.now() - t0, timedOut }
  } finally {
    fs.closeSync(out)
    fs.closeSync(err)
    fs.closeSync(inp)
    for (const f of [outF, errF, inF]) fs.rmSync(f, { force: true })
  }
}

/** `mkdir -p R/bin && cp /bin/busybox R/bin/ && chroot R /bin/busybox --install -s /bin`, plus /etc files. */
export function makeBusyboxRootfs(r: string): void {
  fs.mkdirSync(path.join(r, 'bin'), { recursive: true })
  fs.copyFileSync('/bin/busybox', path.join(r, 'bin', 'busybox'))
  fs.chmodSync(path.join(r, 'bin', 'busybox'), 0o755)
  const i = spawnSync('chroot', [r, '/bin/busybox', '--install', '-s', '/bin'], { encoding: 'utf8' })
  if (i.status !== 0) throw new Error(`busybox --install: ${i.stderr}`)
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'run', 'var/tmp', 'home']) fs.mkdirSync(path.join(r, d), { recursive: true })
  fs.chmodSync(path.join(r, 'tmp'), 0o1777)
  fs.chmodSync(path.join(r, 'var/tmp'), 0o1777)
  fs.writeFileSync(path.join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/sh\n')
  fs.writeFileSync(path.join(r, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n')
  // a non-executable regular file for the "126" tests (/etc/passwd would do too)
  fs.writeFileSync(path.join(r, 'etc/not-a-program'), 'just text\n', { mode: 0o644 })
}

/** tar of a directory's contents (GNU tar, numeric owners, sorted for a stable digest). */
export function tarDir(dir: string, out: string): void {
  const r = spawnSync('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', out, '.'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`)
}

/** The host's hard limit for a /proc/self/limits row ("Max open files", "Max processes"). */
export function hostHardLimit(row: string): number {
  const line = readText('/proc/self/limits')
    .split('\n')
    .find(l => l.startsWith(row))
  const f = line ? line.slice(26).trim().split(/\s+/) : []
  const h = f[1]
  return !h || h === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(h)
}

// ---------------------------------------------------------------- cgroups

/** Every directory of cgroup `cg` (e.g. /hull-e2e-x/libpod-<id>) that exists, in any hierarchy. */
export function cgroupDirs(cg: string): string[] {
  const out: string[] = []
  for (const m of cgroupMounts()) {
    const p = path.join(m.mountPoint, cg)
    if (fs.existsSync(p)) out.push(p)
  }
  return out
}

/** The v1 directory of `cg` for `controller` (memory, pids, cpu, freezer, ...). */
export function cgroupFile(controller: string, cg: string, file: string): string {
  const m = cgroupMounts().find(c => c.controllers.includes(controller))
  return m ? path.join(m.mountPoint, cg, file) : `/nonexistent/${controller}`
}

/** Live processes whose cgroup (any hierarchy) is `cg` or below it. */
export function procsUnderCgroup(cg: string): number[] {
  const out: number[] = []
  for (const p of allPids()) {
    const txt = readText(`/proc/${p}/cgroup`)
    if (txt.split('\n').some(l => {
      const c = l.split(':').slice(2).join(':')
      return c === cg || c.startsWith(cg + '/')
    }) && procAlive(p)) out.push(p)
  }
  return out
}

/** Live processes whose command line contains `s`. */
export function procsMatching(s: string): number[] {
  return allPids().filter(p => p !== process.pid && procAlive(p) && cmdline(p).includes(s))
}

/** Remove a cgroup subtree in every hierarchy (thaw, kill what is left, rmdir deepest first). */
export function removeCgroupTree(cg: string): void {
  for (const top of cgroupDirs(cg)) {
    const dirs: string[] = []
    const walk = (d: string) => {
      dirs.push(d)
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name))
    }
    try {
      walk(top)
    } catch {
      continue
    }
    for (const d of dirs.sort((a, b) => b.length - a.length)) removeCgroupDir(d, 40)
  }
}

/** Poll `fn` (sync or async) until it returns a truthy value or `ms` pass; returns the last value. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 5000, every = 50): Promise<T> {
  const deadline = Date.now() + ms
  let v = await fn()
  while (!v && Date.now() < deadline) {
    await sleep(every)
    v = await fn()
  }
  return v
}

export function uniq(prefix: string): string {
  return `${prefix}-${rand()}`
}

/** Shell-quote one word (for `script -c`). */
export function sq(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** Each pid with the start of its command line, for the message of a failed "nothing left" check. */
export function describeProcs(pids: number[]): string[] {
  return pids.map(p => `${p} ${readText(`/proc/${p}/cmdline`).replace(/\0/g, ' ').slice(0, 200)}`)
}

/** Lazily unmount every mount at or below `dir`, deepest first (force-clean). */
export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m])
}

/** What an engine world gives engineTest: remove its containers, assert nothing of them is left. */
export interface EngineWorld {
  removeAll(): Promise<void>
  assertNothingLeft(t: any, what: string): Promise<void>
}

/** A subtest whose containers are removed and checked (nothing left) pass or fail; a throw is a failure. */
export function engineTest(parent: any, world: EngineWorld, name: string, fn: (t: any) => Promise<void>, opts: any = {}) {
  parent.test(name, opts, async (t: any) => {
    try {
      await fn(t)
    } catch (e) {
      t.fail(`threw: ${(e as Error).stack || e}`)
    } finally {
      await world.removeAll()
      await world.assertNothingLeft(t, 'after the test')
    }
  })
}
