// validated spec -> plan. Everything the bootstrap needs is decided here, in one pass, so the C side
// only executes. Host facts (cgroup layout, bounding set) are read here too, once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capSets } from './capabilities';
import { CgroupDirs, Write } from './cgroups';
import { HullError } from './errors';
import { MS, parseMountOptions, ROOTFS_PROPAGATION } from './mounts';
import { i32, PlanRecord, Rec, rec, str, u32, u64 } from './plan';
import { seccompRecords, SeccompPlanOptions } from './seccomp';
import { hookRecords } from './hooks';
import {
  checkSysctlNamespaces, DeviceRule, deviceProgramRecords, linuxSecurityRecords, processSecurityRecords, seccompCacheDir,
} from './security';
import { DEFAULT_DEVICE_RULES } from './cgroups/resources';
import { parseDeviceRule } from './cgroups/spec';
import { RLIMITS } from './kernel-names';
import { logDebug } from './log';

export const CLONE_FLAGS: Record<string, number> = {
  mount: 0x00020000, uts: 0x04000000, ipc: 0x08000000, user: 0x10000000, pid: 0x20000000,
  network: 0x40000000, cgroup: 0x02000000, time: 0x00000080,
};


// runc's defaults: the devices every container gets, and the /dev symlinks.
const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 }, { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 }, { path: '/dev/tty', major: 5, minor: 0 },
  { path: '/dev/urandom', major: 1, minor: 9 }, { path: '/dev/random', major: 1, minor: 8 },
];
const DEV_SYMLINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'], ['/proc/self/fd/0', '/dev/stdin'], ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Spec = any;

export interface PlanInput {
  id: string;
  spec: Spec;
  bundle: string;
  fifo: string;
  cgroups: CgroupDirs;
  cgroupWrites: Write[];
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  consoleSocket?: string;
  debug: boolean;
  warn: (msg: string) => void;
}

export interface PlanResult {
  records: PlanRecord[];
  rootfs: string;
  /** namespace type -> path given in the config (joined) or '' (new) */
  namespaces: Record<string, string>;
}

function resolveRootfs(spec: Spec, bundle: string): string {
  const p = path.resolve(bundle, spec.root?.path ?? 'rootfs');
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch {
    throw new HullError(`rootfs (${p}) does not exist`);
  }
  if (!fs.statSync(real).isDirectory()) throw new HullError(`rootfs (${p}) is not a directory`);
  return real;
}

function idMapText(maps: { containerID: number; hostID: number; size: number }[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function hasMountAt(spec: Spec, dest: string): boolean {
  return (spec.mounts ?? []).some((m: Spec) => path.posix.normalize(m.destination) === dest);
}

/** The `cgroup` mount type: what the container sees at e.g. /sys/fs/cgroup. */
function cgroupMountRecords(m: Spec, flags: number, cg: CgroupDirs, cgroupns: boolean): PlanRecord[] {
  const dest = m.destination;
  const ro = flags & MS.RDONLY;
  const baseFlags = flags & ~MS.RDONLY;
  const out: PlanRecord[] = [];
  const v2Only = cg.hierarchies.length === 1 && cg.hierarchies[0].kind === 'v2';
  if (v2Only) {
    if (cgroupns) out.push(mountRec(flags, 0, 0, 'cgroup2', 'cgroup2', dest, ''));
    else out.push(mountRec(MS.BIND | MS.REC | flags, 0, 1, 'bind', cg.dirs[0], dest, ''));
    return out;
  }
  // v1/hybrid: a tmpfs holding one directory per hierarchy, each the container's own cgroup.
  out.push(mountRec(MS.NOSUID | MS.NODEV | MS.NOEXEC, 0, 0, 'tmpfs', 'tmpfs', dest, 'mode=755'));
  cg.hierarchies.forEach((h, i) => {
    const name = h.kind === 'v2' ? 'unified' : h.controllers.map((c) => c.replace(/^name=/, '')).join(',');
    const sub = path.posix.join(dest, name);
    if (cgroupns) {
      const type = h.kind === 'v2' ? 'cgroup2' : 'cgroup';
      out.push(mountRec(baseFlags | ro, 0, 0, type, type, sub, h.kind === 'v2' ? '' : h.controllers.join(',')));
    } else {
      out.push(mountRec(MS.BIND | MS.REC | baseFlags | ro, 0, 1, 'bind', cg.dirs[i], sub, ''));
    }
  });
  if (ro) out.push(mountRec(MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, 0, 0, 'tmpfs', 'tmpfs', dest, 'mode=755'));
  return out;
}

/** Absolute and normalised; a relative destination is taken as relative to "/" (deprecated in spec 1.2+). */
function mountDestination(dest: unknown, where: string): string {
  if (typeof dest !== 'string' || dest === '') throw new HullError(`${where}: mount destination must not be empty`);
  return path.posix.resolve('/', dest);
}

function mountRec(flags: number, propagation: number, hflags: number, type: string, source: string, dest: string, data: string): PlanRecord {
  return rec(Rec.MOUNT, u32(flags >>> 0), u32(propagation >>> 0), u32(hflags), str(type), str(source), str(dest), str(data));
}

export function buildPlan(inp: PlanInput): PlanResult {
  const { spec, bundle, warn } = inp;
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new HullError('config.json: process is required to create a container');
  const records: PlanRecord[] = [];
  const add = (r: PlanRecord) => records.push(r);

  if (inp.debug) add(rec(Rec.DEBUG));
  add(rec(Rec.CONTAINER_ID, str(inp.id)));
  const rootfs = resolveRootfs(spec, bundle);
  add(rec(Rec.ROOTFS, str(rootfs)));

  // Namespaces: user first (the C side also orders setns that way).
  const namespaces: Record<string, string> = {};
  const nsList = [...(linux.namespaces ?? [])].sort((a: Spec, b: Spec) => (a.type === 'user' ? -1 : b.type === 'user' ? 1 : 0));
  for (const ns of nsList) {
    const flag = CLONE_FLAGS[ns.type];
    if (flag === undefined) throw new HullError(`config.json: unknown namespace type ${ns.type}`);
    namespaces[ns.type] = ns.path ?? '';
    add(rec(Rec.NAMESPACE, u32(flag), str(ns.path ?? '')));
  }
  const newUserns = namespaces.user === '';
  const hasMountNs = 'mount' in namespaces;
  if (!hasMountNs) throw new HullError('config.json: hull needs a mount namespace (linux.namespaces must include "mount")');
  if ((spec.hostname !== undefined && spec.hostname !== '') && !('uts' in namespaces)) {
    throw new HullError('unable to set hostname without a private UTS namespace');
  }
  if (spec.domainname && !('uts' in namespaces)) throw new HullError('unable to set domainname without a private UTS namespace');
  const offsets = linux.timeOffsets ?? {};
  if (Object.keys(offsets).length && namespaces.time !== '') {
    throw new HullError('config.json: linux.timeOffsets needs a new time namespace');
  }
  for (const [clock, id] of [['monotonic', 1], ['boottime', 7]] as const) {
    const o = offsets[clock];
    if (o) add(rec(Rec.TIME_OFFSET, u32(id), u64(BigInt.asUintN(64, BigInt(o.secs ?? 0))), u32(o.nanosecs ?? 0)));
  }
  if (newUserns) {
    if (!linux.uidMappings?.length || !linux.gidMappings?.length) {
      throw new HullError('config.json: a new user namespace needs linux.uidMappings and linux.gidMappings');
    }
    add(rec(Rec.UID_MAP, str(idMapText(linux.uidMappings))));
    add(rec(Rec.GID_MAP, str(idMapText(linux.gidMappings))));
  }

  // Cgroups: dirs + limit writes, created and joined by the bootstrap's host side.
  for (const d of inp.cgroups.dirs) add(rec(Rec.CGROUP, str(d)));
  for (const w of inp.cgroupWrites) add(rec(Rec.CGROUP_WRITE, u32(w.index), str(w.file), str(w.value)));

  // Root filesystem.
  const prop = linux.rootfsPropagation ? ROOTFS_PROPAGATION[linux.rootfsPropagation] : MS.SLAVE | MS.REC;
  if (prop === undefined) throw new HullError(`config.json: invalid rootfsPropagation ${linux.rootfsPropagation}`);
  add(rec(Rec.ROOTFS_PROPAGATION, u32(prop >>> 0)));
  if (inp.noPivot) add(rec(Rec.NO_PIVOT));

  const cgroupns = 'cgroup' in namespaces;
  (spec.mounts ?? []).forEach((orig: Spec, i: number) => {
    const where = `mounts[${i}] (${orig.destination})`;
    const m = { ...orig, destination: mountDestination(orig.destination, where) };
    const parsed = parseMountOptions(m.type, m.options, where);
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      for (const r of cgroupMountRecords(m, parsed.flags, inp.cgroups, cgroupns)) add(r);
      return;
    }
    let source = m.source ?? '';
    if (parsed.bind) {
      if (!source) throw new HullError(`${where}: a bind mount needs a source`);
      source = path.resolve(bundle, source);
      try {
        fs.statSync(source);
      } catch {
        throw new HullError(`mount ${source} to ${m.destination}: no such file or directory`);
      }
    }
    const type = parsed.bind ? 'bind' : m.type ?? '';
    if (parsed.tmpcopyup && type !== 'tmpfs') throw new HullError(`${where}: tmpcopyup is only for tmpfs mounts`);
    const hflags = (parsed.bind ? 1 : 0) | (parsed.tmpcopyup ? 2 : 0);
    add(mountRec(parsed.flags, parsed.propagation, hflags, type, source, m.destination, parsed.data));
  });

  // Devices: the config's, then the defaults it does not name. In a new user ns mknod is not
  // allowed: bind the host's node instead.
  const devHflags = newUserns ? 1 : 0;
  const named = new Set<string>();
  // A /dev bound from elsewhere (often the host's) is used as it is: no node or link goes into it (runc).
  const devBound = (spec.mounts ?? []).some((m: Spec) => typeof m.destination === 'string' &&
    path.posix.resolve('/', m.destination) === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o: string) => o === 'bind' || o === 'rbind')));
  if (!devBound) for (const d of linux.devices ?? []) {
    named.add(d.path);
    const kind = d.type === 'u' ? 'c' : d.type;
    const typeBits = kind === 'b' ? 0o060000 : kind === 'p' ? 0o010000 : 0o020000;
    const mode = ((d.fileMode ?? 0o666) & 0o7777) | typeBits;
    add(rec(Rec.DEVICE, u32(kind.charCodeAt(0)), u32(d.major ?? 0), u32(d.minor ?? 0), u32(mode), u32(d.uid ?? 0), u32(d.gid ?? 0), u32(devHflags), str(d.path)));
  }
  for (const d of DEFAULT_DEVICES) {
    if (named.has(d.path) || devBound) continue;
    add(rec(Rec.DEVICE, u32('c'.charCodeAt(0)), u32(d.major), u32(d.minor), u32(0o020666), u32(0), u32(0), u32(devHflags), str(d.path)));
  }
  if (!devBound) for (const [target, link] of DEV_SYMLINKS) add(rec(Rec.SYMLINK, str(target), str(link)));
  if (!devBound && hasMountAt(spec, '/dev/pts')) add(rec(Rec.SYMLINK, str('pts/ptmx'), str('/dev/ptmx')));

  for (const p of linux.maskedPaths ?? []) add(rec(Rec.MASKED_PATH, str(p)));
  for (const p of linux.readonlyPaths ?? []) add(rec(Rec.READONLY_PATH, str(p)));
  if (spec.root?.readonly) add(rec(Rec.ROOTFS_READONLY));

  if (spec.hostname) add(rec(Rec.HOSTNAME, str(spec.hostname)));
  if (spec.domainname) add(rec(Rec.DOMAINNAME, str(spec.domainname)));
  checkSysctlNamespaces(linux.sysctl, namespaces);
  for (const [k, v] of Object.entries(linux.sysctl ?? {})) add(rec(Rec.SYSCTL, str(k), str(String(v))));
  if (inp.noNewKeyring) add(rec(Rec.NO_NEW_KEYRING));

  // Process (shared with exec).
  for (const r of processRecords(proc, {
    seccomp: linux.seccomp, consoleSocket: inp.consoleSocket, warn,
    seccompState: { id: inp.id, bundle, annotations: spec.annotations }, seccompCacheDir: seccompCacheDir(),
  })) add(r);
  for (const r of linuxSecurityRecords(linux)) add(r);
  // v2-only hosts: the device rules are an eBPF program. On v1/hybrid hosts the v1 devices files are
  // the enforcement (as with runc), and `update` rewrites only those.
  const hs = inp.cgroups.hierarchies;
  if (hs.length === 1 && hs[0].kind === 'v2') for (const r of deviceProgramRecords(0, containerDeviceRules(linux))) add(r);
  add(rec(Rec.EXEC_FIFO, str(inp.fifo)));
  // prestart, createRuntime, createContainer, startContainer: run by the bootstrap (lib/hooks.ts)
  if (spec.hooks) for (const r of hookRecords(spec.hooks, { id: inp.id, bundle, annotations: spec.annotations })) add(r);
  if (inp.preserveFds > 0) add(rec(Rec.PRESERVE_FDS, u32(inp.preserveFds)));

  return { records, rootfs, namespaces };
}

/** The device rules of the v1 devices.deny/allow writes, for the v2 eBPF program. */
function containerDeviceRules(linux: Spec): DeviceRule[] {
  const rules: DeviceRule[] = ((linux.resources?.devices ?? []) as unknown[]).map((d, i) => parseDeviceRule(d, `linux.resources.devices[${i}]`));
  for (const d of linux.devices ?? []) {
    if (d.type === 'p') continue; // fifos are not subject to the device cgroup
    rules.push({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major ?? -1, minor: d.minor ?? -1, access: 'rwm' });
  }
  return [...rules, ...DEFAULT_DEVICE_RULES];
}

export interface ProcessPlanOptions {
  /** linux.seccomp of the container */
  seccomp?: Spec;
  consoleSocket?: string;
  warn: (msg: string) => void;
  /** prefix of error messages (default `config.json`) */
  where?: string;
  /** the container's id, bundle and annotations: what a seccomp notify listener is sent */
  seccompState?: SeccompPlanOptions['state'];
  /** cache of compiled seccomp programs (lib/security.ts seccompCacheDir()) */
  seccompCacheDir?: string;
}

/** The process part of a plan, shared by create and exec: rlimits, oom, user, caps, nnp, seccomp, terminal, cwd, args, env. */
export function processRecords(proc: Spec, o: ProcessPlanOptions): PlanRecord[] {
  const where = o.where ?? 'config.json';
  const out: PlanRecord[] = [];
  const add = (r: PlanRecord) => out.push(r);
  const seenRlimit = new Set<string>();
  for (const r of proc.rlimits ?? []) {
    const n = RLIMITS[r.type];
    if (n === undefined) throw new HullError(`${where}: unknown rlimit type ${r.type}`);
    if (seenRlimit.has(r.type)) throw new HullError(`${where}: duplicate rlimit type ${r.type}`);
    seenRlimit.add(r.type);
    add(rec(Rec.RLIMIT, u32(n), u64(BigInt(r.soft)), u64(BigInt(r.hard))));
  }
  if (proc.oomScoreAdj !== undefined) add(rec(Rec.OOM_SCORE_ADJ, i32(proc.oomScoreAdj)));
  const user = proc.user ?? { uid: 0, gid: 0 };
  const gids: number[] = user.additionalGids ?? [];
  add(rec(Rec.USER, u32(user.uid ?? 0), u32(user.gid ?? 0), u32(user.umask ?? 0xffffffff), u32(gids.length), ...gids.map((g) => u32(g))));
  if (proc.capabilities) {
    const c = capSets(proc.capabilities, o.warn);
    // The kernel only raises an ambient capability that is permitted and inheritable; runc's
    // default spec asks for ambient ones without inheritable, so drop those quietly.
    const ambient = c.ambient & c.permitted & c.inheritable;
    if (ambient !== c.ambient) logDebug(`ambient capabilities not both permitted and inheritable are dropped (mask 0x${(c.ambient & ~ambient).toString(16)})`);
    c.ambient = ambient;
    add(rec(Rec.CAPS, u64(c.bounding), u64(c.effective), u64(c.permitted), u64(c.inheritable), u64(c.ambient)));
  }
  if (proc.noNewPrivileges) add(rec(Rec.NO_NEW_PRIVS));
  if (o.seccomp) for (const r of seccompRecords(o.seccomp, { state: o.seccompState, cacheDir: o.seccompCacheDir })) add(r);
  for (const r of processSecurityRecords(proc, where)) add(r);
  if (proc.terminal) {
    add(rec(Rec.TERMINAL));
    if (o.consoleSocket) add(rec(Rec.CONSOLE_SOCKET, str(o.consoleSocket)));
    if (proc.consoleSize) add(rec(Rec.CONSOLE_SIZE, u32(proc.consoleSize.height), u32(proc.consoleSize.width)));
  }
  if (!proc.cwd || !proc.cwd.startsWith('/')) throw new HullError(`${where}: process.cwd must be an absolute path`);
  add(rec(Rec.CWD, str(proc.cwd)));
  if (!Array.isArray(proc.args) || proc.args.length === 0) throw new HullError(`${where}: process.args must not be empty`);
  for (const a of proc.args) add(rec(Rec.ARG, str(a)));
  for (const e of proc.env ?? []) add(rec(Rec.ENV, str(e)));
  return out;
}
