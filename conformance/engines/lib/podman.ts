/* c8 ignore start */ // test helpers, not code under test
// A private podman world for one test file: its own containers.conf / storage.conf / --root /
// --runroot / --tmpdir under a temp dir, the runtime under test passed by absolute path, a
// busybox image made here with `podman import`, and one cgroup parent (/hull-e2e-<rand>) for
// every container, so "nothing left behind" can be judged from the host.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  cgroupDirs,
  defaultStateRoot,
  describeProcs,
  hostHardLimit,
  makeBusyboxRootfs,
  mountsUnder,
  Out,
  procsMatching,
  procsUnderCgroup,
  rand,
  readText,
  removeCgroupTree,
  run,
  RunOpts,
  RUNTIME,
  RUNTIME_NAME,
  safeKill,
  sq,
  tarDir,
  unmountUnder,
  waitFor,
} from './common'

export const IMAGE = 'localhost/hull-e2e-busybox:latest'

// Whatever --root/--runroot/containers.conf say, podman (as root) writes containers/image's blob
// info cache to /var/lib/containers/cache and makes an empty /run/containers/networks. Recorded
// when this module loads, so that removeHostTraces() takes away only what the tests made.
const HAD_VARLIB = fs.existsSync('/var/lib/containers')
const HAD_RUN = fs.existsSync('/run/containers')

/** Remove podman's host traces if they were not there before this file ran (never anything else). */
export function removeHostTraces(): void {
  const attempt = (f: () => void) => {
    try {
      f()
    } catch {
      /* not there, or not empty: leave it */
    }
  }
  if (!HAD_VARLIB) {
    attempt(() => fs.rmSync('/var/lib/containers/cache/blob-info-cache-v1.boltdb'))
    attempt(() => fs.rmdirSync('/var/lib/containers/cache'))
    attempt(() => fs.rmdirSync('/var/lib/containers'))
  }
  if (!HAD_RUN) {
    attempt(() => fs.rmdirSync('/run/containers/networks'))
    attempt(() => fs.rmdirSync('/run/containers'))
  }
}

export interface PodmanOpts {
  /** put the runtime's basename in runtime_supports_json (JSON error path); false = stderr path */
  json: boolean
}

export class Podman {
  readonly dir: string
  readonly graph: string
  readonly runroot: string
  readonly tmp: string
  readonly env: NodeJS.ProcessEnv
  readonly cgParent = `/hull-e2e-${rand()}`
  readonly stateRoot = defaultStateRoot()
  readonly names = new Set<string>()
  readonly version: string
  private constructor(readonly json: boolean) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-e2e-podman-'))
    this.graph = path.join(this.dir, 'storage')
    this.runroot = path.join(this.dir, 'run')
    this.tmp = path.join(this.dir, 'tmp')
    for (const d of [this.graph, this.runroot, this.tmp, path.join(this.dir, 'net')]) fs.mkdirSync(d, { recursive: true })
    // Limits podman asks for must not exceed the host's hard ones (root lacks CAP_SYS_RESOURCE here).
    const nofile = Math.min(1024, hostHardLimit('Max open files'))
    const nproc = Math.min(4096, hostHardLimit('Max processes'))
    const supported = ['crun', 'runc', 'kata', 'runsc', 'youki', 'krun', 'hull'].filter(n => json || n !== RUNTIME_NAME)
    fs.writeFileSync(
      path.join(this.dir, 'containers.conf'),
      [
        '[containers]',
        // the compiled-in default adds NET_RAW MKNOD AUDIT_WRITE; pin the list the tests expect
        'default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]',
        `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
        '[network]',
        `network_config_dir = "${path.join(this.dir, 'net')}"`,
        '[engine]',
        `runtime_supports_json = ${JSON.stringify(supported)}`,
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${path.join(this.dir, 'events.log')}"`,
        'lock_type = "file"',
        `tmp_dir = "${this.tmp}"`,
        '',
      ].join('\n'),
    )
    fs.writeFileSync(
      path.join(this.dir, 'storage.conf'),
      ['[storage]', 'driver = "overlay"', `graphroot = "${this.graph}"`, `runroot = "${this.runroot}"`, ''].join('\n'),
    )
    this.env = {
      PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: process.env.HOME || '/root',
      TMPDIR: this.tmp,
      CONTAINERS_CONF: path.join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: path.join(this.dir, 'storage.conf'),
    }
    this.version = spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout?.trim() || ''
  }

  /** Make the world and import the image; a string is the reason podman cannot start here. */
  static setup(o: PodmanOpts): Podman | string {
    const v = spawnSync('podman', ['--version'], { encoding: 'utf8' })
    if (v.status !== 0) return `podman not usable: ${v.error?.message || v.stderr}`
    if (spawnSync('conmon', ['--version']).status !== 0) return 'conmon not installed'
    if (!fs.existsSync(RUNTIME)) return `runtime ${RUNTIME} not found`
    const pm = new Podman(o.json)
    const rootfs = path.join(pm.dir, 'rootfs')
    const tar = path.join(pm.dir, 'rootfs.tar')
    makeBusyboxRootfs(rootfs)
    tarDir(rootfs, tar)
    const imp = spawnSync('podman', [...pm.base(), 'import', tar, IMAGE], { encoding: 'utf8', env: pm.env, cwd: pm.dir })
    fs.rmSync(rootfs, { recursive: true, force: true })
    if (imp.status !== 0) {
      const why = `podman import failed: ${imp.stderr}`
      pm.destroy()
      return why
    }
    return pm
  }

  base(): string[] {
    return ['--root', this.graph, '--runroot', this.runroot, '--tmpdir', this.tmp, '--runtime', RUNTIME]
  }

  /** The argv of a podman call (for `script -c`). */
  cmdline(args: string[]): string {
    return ['podman', ...this.base(), ...args].map(sq).join(' ')
  }

  /** podman <private flags> ARGS */
  p(args: string[], o: RunOpts = {}): Promise<Out> {
    return run(this.dir, 'podman', [...this.base(), ...args], { env: this.env, ...o })
  }

  /** Any other command with podman's environment, from the scratch dir (e.g. `script`). */
  run0(cmd: string, args: string[], o: RunOpts = {}): Promise<Out> {
    return run(this.dir, cmd, args, { env: this.env, ...o })
  }

  /** A fresh container name, remembered for cleanup. */
  name(prefix: string): string {
    const n = `e2e-${prefix}-${rand()}`
    this.names.add(n)
    return n
  }

  /** Flags every container gets: no network, our cgroup parent. */
  get common(): string[] {
    return ['--network=none', `--cgroup-parent=${this.cgParent}`]
  }

  /** podman run [--name N] <common> FLAGS IMAGE CMD... */
  runCtr(name: string | null, flags: string[], cmd: string[], o: RunOpts = {}): Promise<Out> {
    return this.p(['run', ...(name ? ['--name', name] : []), ...this.common, ...flags, IMAGE, ...cmd], o)
  }

  /** podman run -d; resolves to the full id ('' on failure, with the output) */
  async detach(name: string, flags: string[], cmd: string[]): Promise<{ id: string; r: Out }> {
    const r = await this.runCtr(name, ['-d', ...flags], cmd)
    const id = r.code === 0 ? r.stdout.trim().split('\n').pop() || '' : ''
    return { id, r }
  }

  async inspect(name: string, fmt: string): Promise<string> {
    const r = await this.p(['inspect', '--format', fmt, name])
    return r.code === 0 ? r.stdout.trim() : `<inspect failed: ${r.stderr.trim()}>`
  }

  /** Container cgroup as podman's cgroupfs manager names it. */
  ctrCgroup(id: string): string {
    return `${this.cgParent}/libpod-${id}`
  }

  /** Runtime state dirs (under the runtime's default root) that belong to this world. */
  runtimeStates(): string[] {
    const out: string[] = []
    let ents: string[] = []
    try {
      ents = fs.readdirSync(this.stateRoot)
    } catch {
      return out
    }
    for (const e of ents) {
      const d = path.join(this.stateRoot, e)
      const st = readText(path.join(d, 'state.json'))
      // a half-made dir has no state.json: count it when it looks like a podman id that was not
      // there when this world was made ('@...' entries are runtime caches, never containers)
      if (st.includes(this.dir) || (!st && (this.ids.has(e) || (/^[0-9a-f]{64}$/.test(e) && !this.preexisting.has(e))))) out.push(d)
    }
    return out
  }

  /** Full ids seen by the tests (for the state-dir check). */
  readonly ids = new Set<string>()
  /** Entries of the runtime's default root before this world existed. */
  private readonly preexisting = new Set<string>(fs.existsSync(defaultStateRoot()) ? fs.readdirSync(defaultStateRoot()) : [])

  /** What is left of this world's containers on the host. Empty = clean. */
  leftovers(): { states: string[]; cgroups: string[]; procs: number[]; rootfsMounts: string[] } {
    const cgroups: string[] = []
    for (const top of cgroupDirs(this.cgParent))
      for (const e of fs.readdirSync(top)) if (e.startsWith('libpod-')) cgroups.push(path.join(top, e))
    const procs = new Set<number>(procsUnderCgroup(this.cgParent))
    for (const p of procsMatching(this.dir)) procs.add(p) // conmon, cleanup processes
    // container rootfs mounts (overlay merged dirs); podman's own bind of <graph>/overlay stays
    const rootfsMounts = mountsUnder(this.dir).filter(m => m !== path.join(this.graph, 'overlay'))
    return { states: this.runtimeStates(), cgroups, procs: [...procs], rootfsMounts }
  }

  async assertNothingLeft(t: any, what: string, ms = 10000): Promise<void> {
    const clean = (l: ReturnType<Podman['leftovers']>) =>
      !l.states.length && !l.cgroups.length && !l.procs.length && !l.rootfsMounts.length
    let l = this.leftovers()
    if (!clean(l)) l = (await waitFor(() => (clean(this.leftovers()) ? this.leftovers() : null), ms, 100)) || this.leftovers()
    t.same(l.states, [], `${what}: no runtime state under ${this.stateRoot}`)
    t.same(l.cgroups, [], `${what}: no container cgroup under ${this.cgParent}`)
    t.same(describeProcs(l.procs), [], `${what}: no container, conmon or cleanup process`)
    t.same(l.rootfsMounts, [], `${what}: no container rootfs mount`)
  }

  /** rm -f every named container (best effort, fast). */
  async removeAll(): Promise<void> {
    if (this.names.size) await this.p(['rm', '-f', '-t', '0', '-i', ...this.names], { timeoutMs: 60000 })
    this.names.clear()
  }

  /** End of the file: remove everything podman made, assert nothing is left, then force-clean. */
  async teardown(t: any): Promise<void> {
    await this.removeAll()
    const all = await this.p(['ps', '-aq', '--no-trunc'])
    if (all.stdout.trim()) await this.p(['rm', '-f', '-t', '0', ...all.stdout.trim().split('\n')], { timeoutMs: 60000 })
    await this.assertNothingLeft(t, 'end of file')
    await this.p(['rmi', '-f', IMAGE])
    this.destroy()
  }

  /** Force-clean (no assertions): processes, runtime state, cgroups, mounts, the temp dir. */
  destroy(): void {
    const l = this.leftovers()
    for (const p of l.procs) safeKill(p, 'SIGKILL')
    for (const s of l.states) {
      spawnSync(RUNTIME, ['delete', '--force', path.basename(s)], { stdio: 'ignore', cwd: '/' })
      fs.rmSync(s, { recursive: true, force: true })
    }
    removeCgroupTree(this.cgParent)
    unmountUnder(this.dir)
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}
