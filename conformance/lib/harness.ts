/* c8 ignore start */ // a test harness, not code under test: keep it out of tap's coverage gate
// Black-box conformance harness: drives an OCI runtime CLI (runc-compatible)
// and checks what it leaves behind. Everything here talks to the runtime only
// through its command line and to the kernel through /proc and /sys.
import { spawn, spawnSync, ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export const REPO = path.resolve(__dirname, '..', '..')
export const RUNTIME = process.env.RUNTIME || path.join(REPO, 'bin', 'hull')
export const RUNTIME_NAME = path.basename(RUNTIME)
export const IS_RUNC = /^runc/.test(RUNTIME_NAME)
export const BUSYBOX = '/bin/busybox'

/** `todo` option for a tap test: a known deviation of runc, only when runc is under test. */
export function runcTodo(reason: string): { todo: string | false } {
  return { todo: IS_RUNC ? `runc deviation: ${reason}` : false }
}

export function rand(n = 4): string {
  return randomBytes(n).toString('hex')
}

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

export interface Result {
  code: number
  signal: string | null
  stdout: string
  stderr: string
}

// ---------------------------------------------------------------- subreaper

let reaperBin: string | null | undefined
/** Compile (once, cached by source hash) the tiny C subreaper. null when no compiler. */
export function subreaperBinary(): string | null {
  if (reaperBin !== undefined) return reaperBin
  const src = path.join(__dirname, 'subreaper.c')
  const hash = createHash('sha256').update(fs.readFileSync(src)).digest('hex').slice(0, 16)
  const out = path.join(os.tmpdir(), `hull-conformance-subreaper-${hash}`)
  if (!fs.existsSync(out)) {
    const tmp = `${out}.${process.pid}.${rand()}`
    const r = spawnSync('cc', ['-O2', '-o', tmp, src], { encoding: 'utf8' })
    if (r.status !== 0) {
      reaperBin = null
      return null
    }
    fs.renameSync(tmp, out)
  }
  reaperBin = out
  return out
}

// ---------------------------------------------------------------- host views

export interface MountInfo {
  mountPoint: string
  fsType: string
  source: string
  options: string
  superOptions: string
  line: string
}

export function mountinfo(pid: number | 'self' = 'self'): MountInfo[] {
  return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
}

/** Parse mountinfo text (e.g. printed from inside a container). */
export function parseMountinfo(txt: string): MountInfo[] {
  return txt
    .split('\n')
    .filter(l => / - /.test(l))
    .map(line => {
      const [pre, post] = line.split(' - ')
      const f = pre.split(' ')
      const g = post.split(' ')
      const unesc = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
      return {
        mountPoint: unesc(f[4]),
        options: f[5],
        fsType: g[0],
        source: unesc(g[1]),
        superOptions: g[2] || '',
        line,
      }
    })
}

/** Mount points of every cgroup hierarchy (v1 and v2), from mountinfo, never by listing. */
export function cgroupMounts(): { mountPoint: string; fsType: string; controllers: string[] }[] {
  return mountinfo()
    .filter(m => m.fsType === 'cgroup' || m.fsType === 'cgroup2')
    .map(m => ({
      mountPoint: m.mountPoint,
      fsType: m.fsType,
      controllers:
        m.fsType === 'cgroup2'
          ? []
          : m.superOptions.split(',').filter(o => o !== 'rw' && o !== 'ro' && !o.includes('=') || o.startsWith('name=')),
    }))
}

/** Mount points at or below `dir` in this (the host's) mount namespace. */
export function mountsUnder(dir: string): string[] {
  return mountinfo()
    .filter(m => m.mountPoint === dir || m.mountPoint.startsWith(dir + '/'))
    .map(m => m.mountPoint)
}

/** Every path below `dir`, relative to it (symlinks listed, never followed); throws when `dir` is missing. */
export function dirTree(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      out.push(path.relative(dir, p))
      if (e.isDirectory()) walk(p) // a Dirent of a symlink is never a directory
    }
  }
  walk(dir)
  return out
}

/**
 * Force-remove one cgroup dir: thaw it (v1 freezer), then SIGKILL what is in it and rmdir, `tries`
 * times 50 ms apart; done when it is gone.
 */
export function removeCgroupDir(d: string, tries: number): void {
  // Children first: a runtime may have left a nested cgroupsPath below the one the test named.
  try {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) removeCgroupDir(path.join(d, e.name), tries)
  } catch {
    /* gone or unreadable */
  }
  try {
    if (fs.existsSync(path.join(d, 'freezer.state'))) fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED')
  } catch {
    /* */
  }
  for (let i = 0; i < tries; i++) {
    try {
      for (const p of readText(path.join(d, 'cgroup.procs')).split('\n').filter(Boolean)) safeKill(Number(p), 'SIGKILL')
      fs.rmdirSync(d)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') break
      spawnSync('sleep', ['0.05'])
    }
  }
}

/** Path of cgroup `cg` in the v1 hierarchy carrying `controller` (e.g. memory), or null. */
export function cgroupDir(controller: string, cg: string): string | null {
  const m = cgroupMounts().find(c => c.controllers.includes(controller))
  return m ? path.join(m.mountPoint, cg) : null
}

export function procAlive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = st.slice(st.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

export function ppidOf(pid: number): number {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return -1
  }
}

export function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter(d => /^\d+$/.test(d))
    .map(Number)
}

/** All live descendants of `pid`. */
export function descendants(pid: number): number[] {
  const kids = new Map<number, number[]>()
  for (const p of allPids()) {
    const pp = ppidOf(p)
    if (!kids.has(pp)) kids.set(pp, [])
    kids.get(pp)!.push(p)
  }
  const out: number[] = []
  const stack = [...(kids.get(pid) || [])]
  while (stack.length) {
    const p = stack.pop()!
    if (procAlive(p)) out.push(p)
    stack.push(...(kids.get(p) || []))
  }
  return out
}

export function statusField(pid: number | 'self', field: string): string | undefined {
  const txt = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = txt.match(new RegExp(`^${field}:\\s*(.*)$`, 'm'))
  return m ? m[1].trim() : undefined
}

/** Parse `Key: value` lines printed from inside a container. */
export function kv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = line.match(/^([^:=\s]+)[:=]\s*(.*)$/)
    if (m && !(m[1] in out)) out[m[1]] = m[2].trim()
  }
  return out
}

export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

// ---------------------------------------------------------------- config

export type Json = any

/** A config.json in the shape of `runc spec` (root non-readonly, no terminal). */
export function defaultConfig(args: string[], cgroupsPath: string): Json {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...caps],
        effective: [...caps],
        permitted: [...caps],
        ambient: [...caps],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'conformance',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  }
}

let appletCache: string[] | undefined
function applets(): string[] {
  if (!appletCache) {
    const r = spawnSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' })
    appletCache = r.stdout.split('\n').filter(Boolean)
  }
  return appletCache
}

export class Bundle {
  readonly rootfs: string
  config: Json
  constructor(readonly dir: string, readonly cgroupsPath: string, args: string[]) {
    this.rootfs = path.join(dir, 'rootfs')
    this.config = defaultConfig(args, cgroupsPath)
    const r = this.rootfs
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'run', 'mnt'])
      fs.mkdirSync(path.join(r, d), { recursive: true })
    fs.chmodSync(path.join(r, 'tmp'), 0o1777)
    // A copy, never a link: a container that manages to write its busybox must not touch the host's.
    fs.copyFileSync(BUSYBOX, path.join(r, 'bin', 'busybox'))
    fs.chmodSync(path.join(r, 'bin', 'busybox'), 0o755)
    // Same result as `busybox --install -s` run inside the rootfs.
    for (const a of applets()) {
      const p = path.join(r, a)
      fs.mkdirSync(path.dirname(p), { recursive: true })
      try {
        fs.symlinkSync('/bin/busybox', p)
      } catch {
        /* exists */
      }
    }
    fs.writeFileSync(path.join(r, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n')
    fs.writeFileSync(path.join(r, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n')
    this.write()
  }
  get process(): Json {
    return this.config.process
  }
  get linux(): Json {
    return this.config.linux
  }
  /** (Re)write config.json from `this.config`. */
  write(): this {
    fs.writeFileSync(path.join(this.dir, 'config.json'), JSON.stringify(this.config, null, 2))
    return this
  }
  args(...a: string[]): this {
    this.config.process.args = a
    return this.write()
  }
  sh(script: string): this {
    return this.args('sh', '-c', script)
  }
  mutate(fn: (c: Json) => void): this {
    fn(this.config)
    return this.write()
  }
}

// ---------------------------------------------------------------- context

export interface T {
  ok(v: any, msg?: string, extra?: any): any
  equal(a: any, b: any, msg?: string, extra?: any): any
  fail(msg?: string, extra?: any): any
  comment(...a: any[]): any
}

interface Reaper {
  child: ChildProcess
  pid: number
  statusFile: string
  exited: Promise<void>
  done: boolean
}

export interface CreateResult extends Result {
  /** host pid from --pid-file (NaN if none) */
  pid: number
  pidFileRaw: string
  outFile: string
  errFile: string
}

export interface RtOpts {
  /** extra fds handed to the runtime at 3, 4, ... */
  extraFds?: number[]
  stdin?: 'null' | number
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** global flags placed before the subcommand, in addition to --root */
  global?: string[]
  /** do not add --root */
  noRoot?: boolean
  cwd?: string
}

/**
 * One test's world: a private --root, temp dirs, unique ids, and a record of
 * everything created so `finish()` can remove it and assert nothing is left.
 */
export class Ctx {
  readonly dir: string
  readonly root: string
  readonly ids = new Set<string>()
  readonly cgroups = new Set<string>()
  readonly pids = new Set<number>()
  readonly netns = new Set<string>()
  readonly reapers: Reaper[] = []
  readonly cleanups: (() => void)[] = []
  private seq = 0

  constructor(readonly t: T, readonly name = 'c') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-conf-'))
    fs.chmodSync(this.dir, 0o755) // user-namespaced containers must reach their rootfs
    this.root = path.join(this.dir, 'root')
    fs.mkdirSync(this.root)
  }

  id(prefix = this.name): string {
    const id = `hc-${prefix}-${rand()}`
    this.ids.add(id)
    return id
  }

  bundle(args: string[] = ['true']): Bundle {
    const d = path.join(this.dir, `bundle${this.seq++}`)
    fs.mkdirSync(d)
    const cg = `/hull-conformance-${rand()}`
    this.cgroups.add(cg)
    return new Bundle(d, cg, args)
  }

  file(name: string): string {
    return path.join(this.dir, name)
  }

  private argv(args: string[], o: RtOpts): string[] {
    return [...(o.noRoot ? [] : ['--root', this.root]), ...(o.global || []), ...args]
  }

  /** Run the runtime and wait for it (stdio to files, so a container holding them cannot block us). */
  async rt(args: string[], o: RtOpts = {}): Promise<Result> {
    const n = this.seq++
    const outFile = this.file(`rt${n}.out`)
    const errFile = this.file(`rt${n}.err`)
    const out = fs.openSync(outFile, 'w+')
    const err = fs.openSync(errFile, 'w+')
    const inFd = o.stdin === undefined || o.stdin === 'null' ? 'ignore' : o.stdin
    try {
      const child = spawn(RUNTIME, this.argv(args, o), {
        stdio: [inFd, out, err, ...(o.extraFds || [])],
        env: o.env || process.env,
        cwd: o.cwd || this.dir,
      })
      const r = await waitChild(child, o.timeoutMs ?? 30000)
      return { ...r, stdout: fs.readFileSync(outFile, 'utf8'), stderr: fs.readFileSync(errFile, 'utf8') }
    } finally {
      fs.closeSync(out)
      fs.closeSync(err)
    }
  }

  /**
   * Run the runtime under the subreaper (for create / run: anything that leaves
   * a container init behind). Resolves when the runtime command exits.
   */
  async rtReaped(args: string[], o: RtOpts = {}): Promise<Result & { reaper: Reaper | null; outFile: string; errFile: string }> {
    const n = this.seq++
    const outFile = this.file(`c${n}.out`)
    const errFile = this.file(`c${n}.err`)
    const statusFile = this.file(`c${n}.status`)
    const out = fs.openSync(outFile, 'w+')
    const err = fs.openSync(errFile, 'w+')
    const inFd = o.stdin === undefined || o.stdin === 'null' ? 'ignore' : o.stdin
    const bin = subreaperBinary()
    try {
      const argv = this.argv(args, o)
      const child = bin
        ? spawn(bin, [statusFile, RUNTIME, ...argv], {
            stdio: [inFd, out, err, ...(o.extraFds || [])],
            env: o.env || process.env,
            cwd: o.cwd || this.dir,
          })
        : spawn(RUNTIME, argv, { stdio: [inFd, out, err, ...(o.extraFds || [])], env: o.env || process.env, cwd: o.cwd || this.dir })
      let r: { code: number; signal: string | null }
      let reaper: Reaper | null = null
      if (bin) {
        const exited = new Promise<void>(res => child.once('exit', () => res()))
        reaper = { child, pid: child.pid!, statusFile, exited, done: false }
        exited.then(() => (reaper!.done = true))
        this.reapers.push(reaper)
        const deadline = Date.now() + (o.timeoutMs ?? 30000)
        for (;;) {
          const m = readText(statusFile).match(/^cmd (\d+)$/m)
          if (m) {
            r = { code: Number(m[1]), signal: null }
            break
          }
          if (reaper.done) {
            r = { code: child.exitCode ?? -1, signal: child.signalCode }
            break
          }
          if (Date.now() > deadline) {
            // kill the runtime command (the subreaper's child), not the subreaper
            for (const p of descendants(child.pid!)) if (ppidOf(p) === child.pid) safeKill(p, 'SIGKILL')
            r = { code: -1, signal: 'TIMEOUT' }
            break
          }
          await sleep(5)
        }
      } else {
        r = await waitChild(child, o.timeoutMs ?? 30000)
      }
      return { ...r, stdout: readText(outFile), stderr: readText(errFile), reaper, outFile, errFile }
    } finally {
      fs.closeSync(out)
      fs.closeSync(err)
    }
  }

  /** create --bundle B --pid-file P [extra] ID; records the init pid. */
  async create(b: Bundle, id: string, extra: string[] = [], o: RtOpts = {}): Promise<CreateResult> {
    this.ids.add(id)
    const pidFile = this.file(`${id}.pid`)
    const r = await this.rtReaped(['create', '--bundle', b.dir, '--pid-file', pidFile, ...extra, id], o)
    const raw = readText(pidFile)
    const pid = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN
    if (pid > 0) this.pids.add(pid)
    return { ...r, pid, pidFileRaw: raw }
  }

  async start(id: string): Promise<Result> {
    return this.rt(['start', id])
  }

  /** `run` in the foreground; the runtime's exit code is the container's. */
  async run(b: Bundle, id: string, extra: string[] = [], o: RtOpts = {}) {
    this.ids.add(id)
    return this.rtReaped(['run', '--bundle', b.dir, ...extra, id], { timeoutMs: 60000, ...o })
  }

  async state(id: string): Promise<{ r: Result; s: Json | null }> {
    const r = await this.rt(['state', id])
    let s: Json | null = null
    try {
      s = JSON.parse(r.stdout)
    } catch {
      s = null
    }
    return { r, s }
  }

  /** Exit code of a reaped container process, waiting up to `ms`. null on timeout / no reaper. */
  async waitExit(pid: number, ms = 15000): Promise<number | null> {
    const deadline = Date.now() + ms
    for (;;) {
      for (const rp of this.reapers) {
        const m = readText(rp.statusFile).match(new RegExp(`^reaped ${pid} (\\d+)$`, 'm'))
        if (m) return Number(m[1])
      }
      if (!procAlive(pid)) {
        // not ours to reap (no subreaper): gone is all we can know
        if (!subreaperBinary()) return -1
      }
      if (Date.now() > deadline) return null
      await sleep(10)
    }
  }

  /**
   * The common "look from inside" pattern: create with stdout/stderr to files,
   * start, wait for the init to exit, delete. Returns what it printed.
   */
  async inside(b: Bundle, o: { extra?: string[]; id?: string } = {}) {
    const id = o.id || this.id()
    const c = await this.create(b, id, o.extra || [])
    if (c.code !== 0) return { id, create: c, start: null as Result | null, exit: null as number | null, out: '', err: c.stderr }
    const s = await this.start(id)
    const exit = s.code === 0 ? await this.waitExit(c.pid) : null
    const out = readText(c.outFile)
    const err = readText(c.errFile)
    await this.rt(['delete', '--force', id])
    return { id, create: c, start: s, exit, out, err }
  }

  /** Make a network namespace with `ip netns add`; removed by finish(). */
  makeNetns(): string {
    const name = `hullconf-${rand()}`
    const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`)
    this.netns.add(name)
    return `/run/netns/${name}`
  }

  // ------------------------------------------------------------ leftovers

  /** What is still there: state dirs, cgroups, processes, mounts. Empty lists = clean. */
  leftovers(): { state: string[]; cgroups: string[]; procs: number[]; mounts: string[] } {
    const state = [...this.ids].map(id => path.join(this.root, id)).filter(p => fs.existsSync(p))
    const cgroups: string[] = []
    for (const m of cgroupMounts())
      for (const cg of this.cgroups) {
        const p = path.join(m.mountPoint, cg)
        if (fs.existsSync(p)) cgroups.push(p)
      }
    const procs = new Set<number>()
    for (const p of this.pids) if (procAlive(p)) procs.add(p)
    for (const rp of this.reapers) if (!rp.done) for (const d of descendants(rp.pid)) procs.add(d)
    for (const p of allPids()) {
      if (p === process.pid) continue
      try {
        if (fs.readlinkSync(`/proc/${p}/root`).startsWith(this.dir + '/') && procAlive(p)) procs.add(p)
      } catch {
        /* gone or not ours to see */
      }
    }
    const mounts = mountsUnder(this.dir)
    return { state, cgroups, procs: [...procs], mounts }
  }

  /** The one-call "assert nothing left" (waits briefly for asynchronous teardown). */
  async assertNothingLeft(t: T = this.t, what = 'after delete'): Promise<boolean> {
    let l = this.leftovers()
    const deadline = Date.now() + 5000
    while (Date.now() < deadline && (l.state.length || l.cgroups.length || l.procs.length || l.mounts.length)) {
      await sleep(50)
      l = this.leftovers()
    }
    t.equal(l.state.length, 0, `${what}: no state dir under --root`, { found: l.state })
    t.equal(l.cgroups.length, 0, `${what}: no cgroup dir in any hierarchy`, { found: l.cgroups })
    t.equal(l.procs.length, 0, `${what}: no container process`, { found: l.procs.map(p => `${p} ${cmdline(p)}`) })
    t.equal(l.mounts.length, 0, `${what}: no mount under the test dir`, { found: l.mounts })
    return !(l.state.length || l.cgroups.length || l.procs.length || l.mounts.length)
  }

  /** delete --force everything, assert nothing is left, then clean by force whatever was. */
  async finish(): Promise<void> {
    for (const id of this.ids) await this.rt(['delete', '--force', id], { timeoutMs: 20000 }).catch(() => {})
    // subreapers exit once every descendant is gone; give them a moment
    await Promise.race([Promise.all(this.reapers.map(r => r.exited)), sleep(3000)])
    await this.assertNothingLeft(this.t, 'teardown')
    this.forceClean()
  }

  /** Remove leftovers by force (no assertions). */
  forceClean(): void {
    const l = this.leftovers()
    for (const p of l.procs) safeKill(p, 'SIGKILL')
    for (const rp of this.reapers) if (!rp.done) for (const d of descendants(rp.pid)) safeKill(d, 'SIGKILL')
    for (const m of l.mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m])
    for (const c of l.cgroups.sort((a, b) => b.length - a.length)) removeCgroupDir(c, 20)
    for (const ns of this.netns) spawnSync('ip', ['netns', 'del', ns])
    for (const f of this.cleanups) {
      try {
        f()
      } catch {
        /* */
      }
    }
    for (const rp of this.reapers) if (!rp.done) rp.child.kill('SIGKILL')
    try {
      fs.rmSync(this.dir, { recursive: true, force: true })
    } catch {
      spawnSync('rm', ['-rf', this.dir])
    }
  }
}

export function readText(f: string): string {
  try {
    return fs.readFileSync(f, 'utf8')
  } catch {
    return ''
  }
}

export function cmdline(pid: number): string {
  return readText(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim()
}

export function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

function waitChild(child: ChildProcess, ms: number): Promise<{ code: number; signal: string | null }> {
  return new Promise(res => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
    }, ms)
    child.once('error', () => {
      clearTimeout(timer)
      res({ code: -1, signal: 'SPAWN_ERROR' })
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      res({ code: code ?? (signal ? 128 : -1), signal })
    })
  })
}

/**
 * A tap subtest with its own Ctx; finish() (delete --force + nothing-left
 * assertions + forced cleanup) always runs, pass or fail.
 */
export function ctest(
  tap: any,
  name: string,
  opts: { todo?: string | false; skip?: string | false } | ((c: Ctx, t: any) => Promise<void>),
  fn?: (c: Ctx, t: any) => Promise<void>,
): void {
  const o = typeof opts === 'function' ? {} : opts
  const f = typeof opts === 'function' ? opts : fn!
  // tap does not run a `todo` subtest at all; we want to see what the runtime does,
  // so the body runs and each of its assertions carries the todo instead.
  const todo = o.todo || undefined
  const tapOpts = { ...o, todo: undefined }
  tap.test(name, tapOpts, async (t: any) => {
    const c = new Ctx(t, slug(name))
    const tt = todo ? todoProxy(t, todo) : t
    try {
      await f(c, tt)
    } catch (e) {
      tt.fail(`threw: ${(e as Error).stack || e}`)
    } finally {
      // leftovers are never excused: these assertions use the real t
      await c.finish()
    }
  })
}

/** Index of the `extra` argument of tap assertion methods. */
const EXTRA_AT: Record<string, number> = {
  pass: 1,
  fail: 1,
  ok: 2,
  notOk: 2,
  equal: 3,
  not: 3,
  same: 3,
  notSame: 3,
  strictSame: 3,
  match: 3,
  notMatch: 3,
  type: 3,
  has: 3,
}

function todoProxy(t: any, reason: string): any {
  return new Proxy(t, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv)
      if (typeof prop === 'string' && prop in EXTRA_AT && typeof v === 'function') {
        const at = EXTRA_AT[prop]
        return (...args: any[]) => {
          while (args.length < at) args.push(undefined)
          args[at] = { ...(args[at] || {}), todo: reason }
          return v.apply(target, args)
        }
      }
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 16)
      .replace(/-$/, '') || 'c'
  )
}

/** The runtime's error output, one trimmed string, for matching. */
export function errText(r: Result): string {
  return (r.stderr + r.stdout).trim()
}

/** The host binary we must never see modified. */
export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

export function runtimePath(): string {
  if (RUNTIME.includes('/')) return path.resolve(RUNTIME)
  const r = spawnSync('sh', ['-c', `command -v ${RUNTIME}`], { encoding: 'utf8' })
  return r.stdout.trim()
}
/* c8 ignore stop */
