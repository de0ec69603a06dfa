/* c8 ignore start */ // test helpers, not code under test
// A private containerd 1.6 for one test file: generated config.toml (own root, state, sockets,
// CRI and the exotic snapshotters off), a hand-made busybox OCI image archive (layer tar, config,
// manifest, index.json; no registry) imported with `ctr images import`, and a namespace
// hull-e2e-<rand>, so every container's cgroup is /hull-e2e-<rand>/<id>. The runtime under test
// is handed to the runc v2 shim with --runc-binary / --runc-root. Also a minimal gRPC client
// (Node's http2) for Tasks.Update, which ctr 1.6 has no command for.
import { ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http2 from 'node:http2'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  cgroupDirs,
  describeProcs,
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
  safeKill,
  sq,
  tarDir,
  unmountUnder,
  waitFor,
  which,
} from './common'

export const IMAGE = 'localhost/hull-e2e-busybox:latest'

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** An OCI image layout holding one busybox image, tarred as `ctr images import` wants it. */
export function makeOciArchive(work: string, out: string, ref: string): void {
  const rootfs = path.join(work, 'rootfs')
  const layout = path.join(work, 'layout')
  const blobs = path.join(layout, 'blobs', 'sha256')
  fs.mkdirSync(blobs, { recursive: true })
  makeBusyboxRootfs(rootfs)
  const layerTar = path.join(work, 'layer.tar')
  tarDir(rootfs, layerTar)
  const blob = (b: Buffer, mediaType: string) => {
    const d = sha256(b)
    fs.writeFileSync(path.join(blobs, d), b)
    return { mediaType, digest: `sha256:${d}`, size: b.length }
  }
  const layer = blob(fs.readFileSync(layerTar), 'application/vnd.oci.image.layer.v1.tar')
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: GOARCH[process.arch] || process.arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] }, // uncompressed: diff id = digest
        history: [{ created_by: 'hull conformance/engines' }],
      }),
    ),
    'application/vnd.oci.image.config.v1+json',
  )
  const manifest = blob(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })),
    'application/vnd.oci.image.manifest.v1+json',
  )
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...manifest, annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  )
  tarDir(layout, out)
  fs.rmSync(rootfs, { recursive: true, force: true })
  fs.rmSync(layout, { recursive: true, force: true })
  fs.rmSync(layerTar, { force: true })
}

// ---------------------------------------------------------------- a tiny gRPC client

function varint(n: number): Buffer {
  const b: number[] = []
  while (n > 127) {
    b.push((n & 127) | 128)
    n = Math.floor(n / 128)
  }
  b.push(n)
  return Buffer.from(b)
}
/** protobuf length-delimited field */
function pbBytes(no: number, v: Buffer | string): Buffer {
  const b = Buffer.isBuffer(v) ? v : Buffer.from(v)
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b])
}

/** Unary gRPC call over a unix socket; resolves to grpc-status and grpc-message. */
export function grpcCall(sock: string, method: string, body: Buffer, meta: Record<string, string>, ms = 20000): Promise<{ status: number; message: string }> {
  return new Promise(res => {
    const c = http2.connect('http://localhost', { createConnection: () => net.connect(sock) })
    const done = (status: number, message: string) => {
      clearTimeout(timer)
      c.close()
      res({ status, message })
    }
    const timer = setTimeout(() => {
      c.destroy()
      res({ status: -1, message: 'timeout' })
    }, ms)
    c.on('error', e => done(-1, String(e)))
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1)
    body.copy(frame, 5)
    const req = c.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers', ...meta })
    let h: http2.IncomingHttpHeaders = {}
    req.on('response', x => (h = { ...h, ...x }))
    req.on('trailers', x => (h = { ...h, ...x }))
    req.on('data', () => {})
    req.on('error', e => done(-1, String(e)))
    req.on('end', () => done(Number(h['grpc-status'] ?? -1), decodeURIComponent(String(h['grpc-message'] ?? ''))))
    req.end(frame)
  })
}

// ---------------------------------------------------------------- the daemon

export class Containerd {
  readonly dir: string
  readonly sock: string
  readonly ns = `hull-e2e-${rand()}`
  readonly runcRoot: string
  readonly fifoDir: string
  readonly version: string
  daemon: ChildProcess | null = null
  private hadRunContainerd = fs.existsSync('/run/containerd')
  private constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-e2e-ctd-'))
    this.sock = path.join(this.dir, 'containerd.sock')
    this.runcRoot = path.join(this.dir, 'runc-root')
    this.fifoDir = path.join(this.dir, 'fifo')
    fs.mkdirSync(this.fifoDir)
    this.version = spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout?.trim() || ''
  }

  /** Start a private daemon and import the image; a string is the reason it cannot start here. */
  static setup(): Containerd | string {
    for (const b of ['containerd', 'ctr', 'containerd-shim-runc-v2']) if (!which(b)) return `${b} not installed`
    if (!fs.existsSync(RUNTIME)) return `runtime ${RUNTIME} not found`
    const cd = new Containerd()
    const d = cd.dir
    const toml = [
      'version = 2',
      `root = "${d}/root"`,
      `state = "${d}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]',
      '[grpc]',
      `  address = "${cd.sock}"`,
      '[ttrpc]',
      `  address = "${cd.sock}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${d}/opt"`,
      '',
    ].join('\n')
    fs.writeFileSync(path.join(d, 'config.toml'), toml)
    const log = fs.openSync(path.join(d, 'containerd.log'), 'a')
    cd.daemon = spawn('containerd', ['--config', path.join(d, 'config.toml')], { stdio: ['ignore', log, log], cwd: d })
    fs.closeSync(log)
    cd.daemon.unref()
    let up = false
    for (let i = 0; i < 100 && !up; i++) {
      if (cd.daemon.exitCode !== null) break
      up = fs.existsSync(cd.sock) && spawnSync('ctr', ['-a', cd.sock, 'version'], { stdio: 'ignore' }).status === 0
      if (!up) spawnSync('sleep', ['0.1'])
    }
    if (!up) {
      const why = `containerd did not start: ${readText(path.join(d, 'containerd.log')).split('\n').slice(-5).join(' | ')}`
      cd.destroy()
      return why
    }
    const archive = path.join(d, 'busybox-oci.tar')
    makeOciArchive(path.join(d, 'img'), archive, IMAGE)
    const imp = spawnSync('ctr', ['-a', cd.sock, '-n', cd.ns, 'images', 'import', archive], { encoding: 'utf8', cwd: d })
    if (imp.status !== 0) {
      const why = `ctr images import failed: ${imp.stderr}`
      cd.destroy()
      return why
    }
    return cd
  }

  /** ctr -a <sock> -n <ns> ARGS */
  ctr(args: string[], o: RunOpts = {}): Promise<Out> {
    return run(this.dir, 'ctr', ['-a', this.sock, '-n', this.ns, ...this.withFifoDir(args)], o)
  }

  /** ctr makes its IO fifos under /run/containerd/fifo unless told otherwise (and may leave the dirs). */
  private withFifoDir(args: string[]): string[] {
    const [a, b] = args
    if ((a === 'task' || a === 'tasks' || a === 't') && (b === 'exec' || b === 'start') && !args.includes('--fifo-dir'))
      return [a, b, '--fifo-dir', this.fifoDir, ...args.slice(2)]
    return args
  }

  /** Any other command, from the scratch dir. */
  run0(cmd: string, args: string[], o: RunOpts = {}): Promise<Out> {
    return run(this.dir, cmd, args, o)
  }

  /** The full argv of a ctr call (for `script -c`). */
  ctrCmdline(args: string[]): string {
    return ['ctr', '-a', this.sock, '-n', this.ns, ...this.withFifoDir(args)].map(sq).join(' ')
  }

  /** Flags for `ctr run` that put the runtime under test behind the runc v2 shim. */
  runtimeFlags(binary = RUNTIME): string[] {
    return ['--runtime', 'io.containerd.runc.v2', '--runc-binary', binary, '--runc-root', this.runcRoot, '--fifo-dir', this.fifoDir]
  }

  /** ctr run FLAGS <runtime flags> IMAGE ID CMD... */
  runCtr(id: string, flags: string[], cmd: string[], o: RunOpts & { binary?: string } = {}): Promise<Out> {
    return this.ctr(['run', ...flags, ...this.runtimeFlags(o.binary), IMAGE, id, ...cmd], o)
  }

  /** cgroup of a container: ctr's default /<namespace>/<id> */
  ctrCgroup(id: string): string {
    return `/${this.ns}/${id}`
  }

  /** Where the shim's --root points for our namespace. */
  get stateRoot(): string {
    return path.join(this.runcRoot, this.ns)
  }

  /** Tasks.Update: LinuxResources JSON in a typeurl Any, as containerd's client sends it. */
  update(id: string, resources: object): Promise<{ status: number; message: string }> {
    const any = Buffer.concat([
      pbBytes(1, 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources'),
      pbBytes(2, JSON.stringify(resources)),
    ])
    const req = Buffer.concat([pbBytes(1, id), pbBytes(2, any)])
    return grpcCall(this.sock, '/containerd.services.tasks.v1.Tasks/Update', req, { 'containerd-namespace': this.ns })
  }

  /** What is left on the host of this namespace's containers. Empty = clean. */
  leftovers(): { states: string[]; cgroups: string[]; procs: number[]; mounts: string[] } {
    let states: string[] = []
    try {
      // hull keeps a cache of compiled seccomp programs in <root>/@seccomp: never a container ('@' is not allowed in ids)
      states = fs
        .readdirSync(this.stateRoot)
        .filter(e => !e.startsWith('@'))
        .map(e => path.join(this.stateRoot, e))
    } catch {
      /* none */
    }
    const cgroups: string[] = []
    for (const top of cgroupDirs(`/${this.ns}`)) for (const e of fs.readdirSync(top, { withFileTypes: true })) if (e.isDirectory()) cgroups.push(path.join(top, e.name))
    const procs = new Set<number>(procsUnderCgroup(`/${this.ns}`))
    // shims of this namespace (the daemon itself is expected to run)
    for (const p of procsMatching(`-namespace ${this.ns} `)) procs.add(p)
    const mounts = mountsUnder(this.dir)
    return { states, cgroups, procs: [...procs], mounts }
  }

  async assertNothingLeft(t: any, what: string, ms = 10000): Promise<void> {
    const clean = () => {
      const l = this.leftovers()
      return !l.states.length && !l.cgroups.length && !l.procs.length && !l.mounts.length ? l : null
    }
    const l = (await waitFor(clean, ms, 100)) || this.leftovers()
    t.same(l.states, [], `${what}: no runtime state under --runc-root`)
    t.same(l.cgroups, [], `${what}: no container cgroup under /${this.ns}`)
    t.same(describeProcs(l.procs), [], `${what}: no container or shim process`)
    t.same(l.mounts, [], `${what}: no rootfs mount`)
  }

  /** Kill and delete every task, remove every container (best effort). */
  async removeAll(): Promise<void> {
    const tasks = (await this.ctr(['task', 'ls', '-q'])).stdout.split('\n').filter(Boolean)
    for (const id of tasks) {
      await this.ctr(['task', 'resume', id])
      await this.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id])
    }
    for (const id of tasks) await this.ctr(['task', 'delete', '-f', id])
    const ctrs = (await this.ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean)
    if (ctrs.length) await this.ctr(['container', 'rm', ...ctrs])
  }

  /** End of the file: remove everything, assert nothing is left, stop the daemon, force-clean. */
  async teardown(t: any): Promise<void> {
    await this.removeAll()
    await this.assertNothingLeft(t, 'end of file')
    const left = (await this.ctr(['container', 'ls', '-q'])).stdout.trim()
    t.equal(left, '', 'containerd knows no container')
    await this.stopDaemon()
    this.destroy()
    // a shim removes its socket as it exits, a moment after the task is gone
    await waitFor(() => this.removeRunDirs(), 5000, 100)
  }

  async stopDaemon(): Promise<void> {
    const d = this.daemon
    if (!d || d.exitCode !== null || d.signalCode !== null) return
    const exited = new Promise<void>(r => d.once('exit', () => r()))
    d.kill('SIGTERM')
    await Promise.race([exited, new Promise(r => setTimeout(r, 10000))])
    if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL')
  }

  /** Force-clean (no assertions). */
  destroy(): void {
    const l = this.leftovers()
    for (const p of l.procs) safeKill(p, 'SIGKILL')
    if (this.daemon && this.daemon.exitCode === null && this.daemon.signalCode === null) this.daemon.kill('SIGKILL')
    for (const s of l.states) {
      spawnSync(RUNTIME, ['--root', this.stateRoot, 'delete', '--force', path.basename(s)], { stdio: 'ignore', cwd: '/' })
      fs.rmSync(s, { recursive: true, force: true })
    }
    removeCgroupTree(`/${this.ns}`)
    unmountUnder(this.dir)
    fs.rmSync(this.dir, { recursive: true, force: true })
    this.removeRunDirs()
  }

  /** The shims' sockets live in /run/containerd/s whatever the config says; drop the dirs we made. */
  removeRunDirs(): boolean {
    if (this.hadRunContainerd) return true
    for (const d of ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd']) {
      try {
        fs.rmdirSync(d)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false // a socket still there
      }
    }
    return true
  }
}
