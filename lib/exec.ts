// `hull exec`: one more process inside a created, running (or, with --ignore-paused, paused)
// container. It joins every namespace of the container (user first; paths saved in state.json at
// create), its cgroup (or a sub-cgroup, --cgroup) and gets the container's seccomp profile; user,
// env, cwd, capabilities, rlimits and no_new_privs come from the process: `--process F` (the whole
// OCI process, other process flags ignored, as in runc), or the container's own process with the
// args and flags on top. The bootstrap's exec mode does the work. Not detached, hull waits as the
// process's subreaper, relays its terminal if it has one, and exits with its code (128+N for signal N).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capNumber } from './capabilities';
import { encodePlan, PlanRecord, Rec, rec, str, u32 } from './plan';
import { HullError } from './errors';
import { validateId } from './ids';
import type { GlobalOptions } from './lifecycle';
import { logDebug, logWarn } from './log';
import { initAlive, Store, StoredState } from './state';

export interface ExecOptions {
  id: string;
  /** --process: a file holding the whole OCI process, or '-' for stdin */
  process?: string;
  /** the command after the id (ignored with --process) */
  args: string[];
  /** --tty: undefined when not given */
  tty?: boolean;
  consoleSocket?: string;
  detach: boolean;
  pidFile?: string;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  caps: string[];
  /** --no-new-privs: undefined when not given */
  noNewPrivs?: boolean;
  preserveFds: number;
  ignorePaused: boolean;
  cgroup: string[];
  apparmor?: string;
  processLabel?: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Proc = any;

/** runc refuses ids outside 0..2^31-1 (and -1 would mean "unchanged" to setresuid). */
const ID_MAX = 2147483647;
const RANGE_ERROR = 'uids and gids must be in range 0-2147483647';

function parseId(text: string, what: 'uid' | 'gid'): number {
  if (!/^[0-9]+$/.test(text)) throw new HullError(`parsing ${text} as int for ${what} failed: invalid syntax`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v > ID_MAX) throw new HullError(RANGE_ERROR);
  return v;
}

/** `--user uid[:gid]`: numbers only, as runc's exec. */
export function parseUser(text: string): { uid: number; gid?: number } {
  const i = text.indexOf(':');
  if (i < 0) return { uid: parseId(text, 'uid') };
  const gid = parseId(text.slice(i + 1), 'gid');
  return { uid: parseId(text.slice(0, i), 'uid'), gid };
}

/** `--additional-gids`: runc parses them as int64, then refuses negatives. */
export function parseAdditionalGid(text: string): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new HullError(`invalid value "${text}" for flag -g: invalid syntax`);
  const v = Number(text);
  if (v < 0) throw new HullError(`additional-gids must be a positive number ${text.replace(/^\+/, '')}`);
  if (!Number.isSafeInteger(v) || v > ID_MAX) throw new HullError(RANGE_ERROR);
  return v;
}

/** Append `K=V` entries: a later value of a name replaces the earlier one in place (Go's Setenv). */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const e of [...base, ...extra]) {
    const eq = e.indexOf('=');
    if (eq < 0) throw new HullError(`invalid environment variable: ${JSON.stringify(e)}`);
    const name = e.slice(0, eq);
    if (!name) throw new HullError(`invalid environment variable: name cannot be empty: ${JSON.stringify(e)}`);
    const i = at.get(name);
    if (i === undefined) {
      at.set(name, out.length);
      out.push(e);
    } else {
      out[i] = e;
    }
  }
  return out;
}

const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrArray = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isId = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** The checks runc makes (same texts), plus the shapes the planner relies on. */
export function validateProcess(p: Proc): void {
  if (!isObj(p)) throw new HullError('process property must not be empty');
  if (p.cwd === undefined || p.cwd === '') throw new HullError('Cwd property must not be empty');
  if (typeof p.cwd !== 'string' || !p.cwd.startsWith('/')) throw new HullError('Cwd must be an absolute path');
  if (!Array.isArray(p.args) || p.args.length === 0) throw new HullError('args must not be empty');
  if (!isStrArray(p.args)) throw new HullError('process.args must be strings');
  if (p.env !== undefined && !isStrArray(p.env)) throw new HullError('process.env must be an array of strings');
  if (p.terminal !== undefined && typeof p.terminal !== 'boolean') throw new HullError('process.terminal must be a boolean');
  if (p.noNewPrivileges !== undefined && typeof p.noNewPrivileges !== 'boolean') throw new HullError('process.noNewPrivileges must be a boolean');
  if (p.consoleSize !== undefined) {
    const c = p.consoleSize;
    if (!isObj(c) || !Number.isInteger(c.height) || !Number.isInteger(c.width) || c.height < 0 || c.width < 0 || c.height > 65535 || c.width > 65535) {
      throw new HullError('process.consoleSize needs integer height and width (0-65535)');
    }
  }
  if (p.user !== undefined) {
    const u = p.user;
    if (!isObj(u)) throw new HullError('process.user must be an object');
    for (const k of ['uid', 'gid'] as const) {
      if (u[k] === undefined) continue;
      if (!isId(u[k])) throw new HullError(`process.user.${k} must be an integer`);
      if (u[k] > ID_MAX) throw new HullError(RANGE_ERROR);
    }
    if (u.umask !== undefined && !isId(u.umask)) throw new HullError('process.user.umask must be an integer');
    if (u.additionalGids !== undefined) {
      if (!Array.isArray(u.additionalGids) || !u.additionalGids.every(isId)) throw new HullError('process.user.additionalGids must be integers');
      if (u.additionalGids.some((g: number) => g > ID_MAX)) throw new HullError(RANGE_ERROR);
    }
  }
  if (p.capabilities !== undefined) {
    if (!isObj(p.capabilities)) throw new HullError('process.capabilities must be an object');
    for (const [k, v] of Object.entries(p.capabilities)) {
      if (!isStrArray(v)) throw new HullError(`process.capabilities.${k} must be an array of strings`);
    }
  }
  if (p.rlimits !== undefined) {
    if (!Array.isArray(p.rlimits)) throw new HullError('process.rlimits must be an array');
    for (const r of p.rlimits) {
      if (!isObj(r) || typeof r.type !== 'string' || !Number.isInteger(r.soft) || !Number.isInteger(r.hard) || r.soft < 0 || r.hard < 0) {
        throw new HullError('process.rlimits entries need a type and integer soft and hard limits');
      }
    }
  }
  if (p.oomScoreAdj !== undefined && (!Number.isInteger(p.oomScoreAdj) || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    throw new HullError('process.oomScoreAdj must be an integer in -1000..1000');
  }
  if (p.apparmorProfile !== undefined && typeof p.apparmorProfile !== 'string') throw new HullError('process.apparmorProfile must be a string');
  if (p.selinuxLabel !== undefined && typeof p.selinuxLabel !== 'string') throw new HullError('process.selinuxLabel must be a string');
}

function readProcessFile(file: string): Proc {
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HullError(`open ${file}: no such file or directory`);
    throw new HullError(`read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HullError(`process ${file}: invalid JSON: ${(e as Error).message}`);
  }
}

interface ContainerConfig { process: Proc; seccomp?: unknown; noNewKeyring: boolean }

/** What create saved; a container from before `hull.config` existed falls back to its bundle. */
function containerConfig(st: StoredState): ContainerConfig {
  const c = st.hull.config;
  if (c && c.process) return { process: c.process, seccomp: c.seccomp, noNewKeyring: !!c.noNewKeyring };
  const { loadConfig } = require('./lifecycle') as typeof import('./lifecycle');
  const spec = loadConfig(st.bundle) as Proc;
  return { process: spec.process ?? {}, seccomp: spec.linux?.seccomp, noNewKeyring: false };
}

/**
 * The process to run: `--process F` as it is (runc ignores the other process flags then), else
 * the container's process with the args and flags applied. Missing capabilities, rlimits and
 * oomScoreAdj default to the container's (runc's init does the same).
 */
export function execProcess(o: ExecOptions, container: Proc): Proc {
  let p: Proc;
  if (o.process) {
    p = readProcessFile(o.process);
    validateProcess(p);
  } else {
    if (o.args.length === 0) throw new HullError('process args cannot be empty');
    p = JSON.parse(JSON.stringify(container ?? {}));
    p.args = [...o.args];
    if (o.cwd) p.cwd = o.cwd;
    if (o.apparmor) p.apparmorProfile = o.apparmor;
    if (o.processLabel) p.selinuxLabel = o.processLabel;
    if (o.caps.length && p.capabilities) {
      const c = p.capabilities;
      for (const cap of o.caps) {
        for (const set of ['bounding', 'effective', 'permitted'] as const) (c[set] ??= []).push(cap);
        // Never inheritable (CVE-2022-29162); ambient only when the process already has an
        // inheritable set, since the kernel needs both.
        if (c.inheritable) (c.ambient ??= []).push(cap);
      }
    }
    p.env = [...(p.env ?? []), ...o.env];
    p.terminal = o.tty ?? false;
    if (o.noNewPrivs !== undefined) p.noNewPrivileges = o.noNewPrivs;
    if (o.user) {
      const u = parseUser(o.user);
      p.user = { ...(p.user ?? {}), uid: u.uid };
      if (u.gid !== undefined) p.user.gid = u.gid;
    }
    if (o.additionalGids.length) {
      p.user = p.user ?? { uid: 0, gid: 0 };
      p.user.additionalGids = [...(p.user.additionalGids ?? []), ...o.additionalGids.map(parseAdditionalGid)];
    }
    validateProcess(p);
  }
  p.env = mergeEnv(p.env ?? [], []);
  if (p.capabilities === undefined && container?.capabilities) p.capabilities = container.capabilities;
  if ((p.rlimits === undefined || p.rlimits.length === 0) && container?.rlimits) p.rlimits = container.rlimits;
  if (p.oomScoreAdj === undefined && container?.oomScoreAdj !== undefined) p.oomScoreAdj = container.oomScoreAdj;
  const unknown = new Set<string>();
  for (const v of Object.values(p.capabilities ?? {})) for (const name of v as string[]) if (capNumber(name) === undefined) unknown.add(name);
  if (unknown.size) logWarn(`ignoring unknown or unavailable capabilities: [${[...unknown].join(' ')}]`);
  if (p.apparmorProfile) {
    throw new HullError(`apparmor profile "${p.apparmorProfile}" cannot be applied: no AppArmor support on this host`);
  }
  if (p.selinuxLabel) logDebug(`process label "${p.selinuxLabel}" ignored: no SELinux on this host`);
  return p;
}

/** runc's --cgroup: `path` (every hierarchy) or `ctrl[,ctrl]:path`; always below the container's cgroup. */
export function subCgroupDirs(cg: StoredState['hull']['cgroup'], args: string[]): string[] {
  const dirs = [...cg.dirs];
  if (!args.length) return dirs;
  const paths = new Map<string, string>();
  for (const a of args) {
    const parts = a.split(':');
    if (parts.length > 2) throw new HullError(`invalid --cgroup argument: ${a}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new HullError(`invalid --cgroup argument: ${a} (missing <controller>: prefix)`);
      paths.set('', a);
      continue;
    }
    for (const ctrl of parts[0].split(',')) {
      if (!ctrl) throw new HullError(`invalid --cgroup argument: ${a} (empty <controller> prefix)`);
      if (paths.has(ctrl)) throw new HullError(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`);
      paths.set(ctrl, parts[1]);
    }
  }
  const below = (base: string, sub: string) => {
    const d = path.posix.join(base, sub);
    if (d !== base && !d.startsWith(base + '/')) throw new HullError(`${sub} is not a sub cgroup path`);
    return d;
  };
  if (paths.has('')) return dirs.map((d) => below(d, paths.get('')!));
  for (const [ctrl, sub] of paths) {
    const i = cg.hierarchies.findIndex((h) => h.kind === 'v1' && h.controllers.some((c) => c === ctrl || c === `name=${ctrl}` || c.replace(/^name=/, '') === ctrl));
    if (i < 0) throw new HullError(`unknown controller ${ctrl} in SubCgroupPaths`);
    dirs[i] = below(cg.dirs[i], sub);
  }
  return dirs;
}

const NS_ORDER = ['user', 'mount', 'pid', 'ipc', 'uts', 'network', 'cgroup', 'time'];

/** The exec plan: the container's namespaces and cgroups, then the process (shared with create). */
export function execRecords(g: GlobalOptions, st: StoredState, proc: Proc, o: {
  cgroupDirs: string[]; seccomp?: unknown; consoleSocket?: string; noNewKeyring: boolean; preserveFds: number;
}): PlanRecord[] {
  const { CLONE_FLAGS, processRecords } = require('./planner') as typeof import('./planner');
  const out: PlanRecord[] = [];
  if (g.debug) out.push(rec(Rec.DEBUG));
  out.push(rec(Rec.CONTAINER_ID, str(st.id)));
  out.push(rec(Rec.ROOTFS, str(st.rootfs)));
  const ns = Object.entries(st.hull.namespaces ?? {}).sort(([a], [b]) => NS_ORDER.indexOf(a) - NS_ORDER.indexOf(b));
  if (!ns.some(([t]) => t === 'mount')) throw new HullError('container has no mount namespace to join');
  for (const [type, p] of ns) {
    const flag = CLONE_FLAGS[type];
    if (flag === undefined || !p) throw new HullError(`state.json: bad namespace ${type}`);
    out.push(rec(Rec.NAMESPACE, u32(flag), str(p)));
  }
  for (const d of o.cgroupDirs) out.push(rec(Rec.CGROUP, str(d)));
  const { seccompCacheDir } = require('./security') as typeof import('./security');
  out.push(...processRecords(proc, {
    seccomp: o.seccomp, consoleSocket: o.consoleSocket, warn: logWarn, where: 'exec',
    // Same compiled filter as the container's (cache hit), and what a NOTIFY listener is told.
    seccompState: { id: st.id, bundle: st.bundle, annotations: st.annotations }, seccompCacheDir: seccompCacheDir(),
  }));
  if (o.noNewKeyring) out.push(rec(Rec.NO_NEW_KEYRING));
  if (o.preserveFds > 0) out.push(rec(Rec.PRESERVE_FDS, u32(o.preserveFds)));
  return out;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function exec(g: GlobalOptions, o: ExecOptions): Promise<number> {
  const id = validateId(o.id);
  const store = new Store(g.root);
  const lc = require('./lifecycle') as typeof import('./lifecycle');
  let lockFd = store.lock(id);
  const unlock = () => {
    if (lockFd >= 0) store.unlock(lockFd);
    lockFd = -1;
  };
  let receiver: import('./terminal').ConsoleReceiver | undefined;
  try {
    const st = store.load(id);
    const status = lc.statusOf(store, st);
    if (status === 'stopped') throw new HullError('cannot exec in a stopped container: container not running');
    if (status === 'creating') throw new HullError('cannot exec in a container that is still being created');
    if (status === 'paused' && !o.ignorePaused) throw new HullError('cannot exec in a paused container (use --ignore-paused to override)');
    const cfg = containerConfig(st);
    const proc = execProcess(o, cfg.process);
    // runc's terminal rules: a detached terminal needs a socket; a socket needs both.
    if (o.detach && proc.terminal && !o.consoleSocket) throw new HullError('cannot allocate tty if hull will detach without setting console socket');
    if ((!o.detach || !proc.terminal) && o.consoleSocket) throw new HullError('cannot use console socket if hull will not detach or allocate tty');
    const cgroupDirs = subCgroupDirs(st.hull.cgroup, o.cgroup);
    for (const d of cgroupDirs) {
      if (!fs.existsSync(d)) throw new HullError(`error adding the process to cgroup ${d}: no such file or directory`);
    }
    const n = (require('./native') as typeof import('./native')).native();
    if (!o.detach) n.setChildSubreaper();
    let consoleSocket = o.consoleSocket;
    if (proc.terminal && !consoleSocket) {
      const term = require('./terminal') as typeof import('./terminal');
      receiver = new term.ConsoleReceiver();
      consoleSocket = receiver.path;
      // The process runs as soon as the bootstrap is done: give the pty hull's size from the start.
      const ws = proc.consoleSize ? null : term.hostSize();
      if (ws) proc.consoleSize = { height: ws.rows, width: ws.cols };
    }
    const records = execRecords(g, st, proc, { cgroupDirs, seccomp: cfg.seccomp, consoleSocket, noNewKeyring: cfg.noNewKeyring, preserveFds: o.preserveFds });
    const encoded = encodePlan(records);
    // A paused container's exec waits in the frozen cgroup until `resume`, which needs the lock.
    if (status === 'paused') unlock();
    const { runBootstrap } = require('./bootstrap') as typeof import('./bootstrap');
    const { pid } = await runBootstrap(encoded, o.preserveFds);
    unlock();
    // The namespaces were opened as /proc/<init>/ns/*: had the init died and its pid been reused
    // meanwhile, they were someone else's. Still the same init now means they were the container's.
    if (!initAlive(st)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      throw new HullError('container init exited during exec: container not running');
    }
    if (o.pidFile) lc.writePidFile(o.pidFile, pid);
    if (o.detach) return 0;
    return await waitProcess(pid, receiver, proc);
  } finally {
    unlock();
    receiver?.close();
  }
}

/** Foreground: relay the terminal if hull holds it, forward signals, reap, return the exit code. */
export async function waitProcess(pid: number, receiver: import('./terminal').ConsoleReceiver | undefined, proc: Proc): Promise<number> {
  const n = (require('./native') as typeof import('./native')).native();
  let relay: import('./terminal').Relay | undefined;
  if (receiver) {
    const master = receiver.receive();
    logDebug(`terminal: ${master.name}`);
    relay = (require('./terminal') as typeof import('./terminal')).startRelay(master.fd, { consoleSize: proc.consoleSize });
  }
  const handlers = FORWARDED.filter((s) => !(relay && s === 'SIGWINCH')).map((sig) => {
    const h = () => {
      try { process.kill(pid, sig); } catch { /* already gone */ }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  try {
    const ws = await n.waitpid(pid);
    if (relay) await relay.drain();
    return ws.signal !== null ? 128 + ws.signal : ws.code ?? 255;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    relay?.stop();
  }
}

const list = (v: unknown): string[] => (v === undefined || v === null ? [] : ([] as unknown[]).concat(v).map(String));
const last = (v: unknown): string | undefined => {
  const l = list(v);
  return l.length ? l[l.length - 1] : undefined;
};

/** yargs' argv for `exec` (lib/cli.ts) -> ExecOptions; `args` is what followed the id. */
export function execOptionsFromArgv(a: Record<string, unknown>, args: string[]): ExecOptions {
  const pfds = last(a['preserve-fds']) ?? '0';
  if (!/^[0-9]+$/.test(pfds)) throw new HullError(`invalid value "${pfds}" for flag --preserve-fds`);
  return {
    id: String(a.id),
    process: last(a.process) || undefined,
    args,
    tty: a.tty === undefined ? undefined : !!a.tty,
    consoleSocket: last(a['console-socket']) || undefined,
    detach: !!a.detach,
    pidFile: last(a['pid-file']) || undefined,
    cwd: last(a.cwd) || undefined,
    env: list(a.env),
    user: last(a.user) || undefined,
    additionalGids: list(a['additional-gids']),
    caps: list(a.cap),
    noNewPrivs: a['no-new-privs'] === undefined ? undefined : !!a['no-new-privs'],
    preserveFds: Number(pfds),
    ignorePaused: !!a['ignore-paused'],
    cgroup: list(a.cgroup),
    apparmor: last(a.apparmor) || undefined,
    processLabel: last(a['process-label']) || undefined,
  };
}

