// Process and security settings -> plan records 50-69 (addon/README.md): scheduler, ioPriority,
// execCPUAffinity, personality, memoryPolicy, the v2 device-cgroup program; and the LSM fields,
// which this host cannot apply (a profile is an error, a label is ignored with a debug line).
import * as fs from 'node:fs';
import { HullError } from './errors';
import { logDebug } from './log';
import { PlanRecord, Rec, rec, str, u32, u64 } from './plan';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Spec = any;

export const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
export const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08, SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
export const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
export const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
export const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MPOL_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15,
};

const LIST_RE = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function named(table: Record<string, number>, name: unknown, where: string): number {
  const v = typeof name === 'string' ? table[name] : undefined;
  if (v === undefined) throw new HullError(`${where}: unknown value ${JSON.stringify(name)} (one of ${Object.keys(table).join(', ')})`);
  return v;
}

function list(v: unknown, where: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !LIST_RE.test(v.replace(/\s+/g, ''))) throw new HullError(`${where}: ${JSON.stringify(v)} is not a list like 0-3,7`);
  const s = v.replace(/\s+/g, '');
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (b !== undefined && b < a) throw new HullError(`${where}: range ${part} is backwards`);
  }
  return s;
}

/** AppArmor is enabled when the kernel module says so; hull never applies profiles itself. */
function apparmorEnabled(): boolean {
  try {
    return fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/** process.{scheduler, ioPriority, execCPUAffinity, apparmorProfile, selinuxLabel}: create and exec. */
export function processSecurityRecords(proc: Spec, where = 'config.json'): PlanRecord[] {
  const out: PlanRecord[] = [];
  const s = proc.scheduler;
  if (s) {
    const policy = named(SCHED_POLICIES, s.policy, `${where}: process.scheduler.policy`);
    if (policy === SCHED_POLICIES.SCHED_ISO) throw new HullError(`${where}: process.scheduler.policy SCHED_ISO is not implemented by Linux`);
    let flags = 0;
    for (const f of s.flags ?? []) flags |= named(SCHED_FLAGS, f, `${where}: process.scheduler.flags`);
    const nice = s.nice ?? 0;
    if (!Number.isInteger(nice) || nice < -20 || nice > 19) throw new HullError(`${where}: process.scheduler.nice must be between -20 and 19`);
    const prio = s.priority ?? 0;
    const rt = policy === SCHED_POLICIES.SCHED_FIFO || policy === SCHED_POLICIES.SCHED_RR;
    if (rt && (prio < 1 || prio > 99)) throw new HullError(`${where}: process.scheduler.priority must be between 1 and 99 for ${s.policy}`);
    if (!rt && prio !== 0) throw new HullError(`${where}: process.scheduler.priority must be 0 for ${s.policy}`);
    out.push(rec(Rec.SCHEDULER, u32(policy), u32(nice >>> 0), u32(prio), u32(flags), u64(s.runtime ?? 0), u64(s.deadline ?? 0), u64(s.period ?? 0)));
  }
  const io = proc.ioPriority;
  if (io) {
    const cls = named(IOPRIO_CLASSES, io.class, `${where}: process.ioPriority.class`);
    const prio = io.priority ?? 0;
    if (!Number.isInteger(prio) || prio < 0 || prio > 7) throw new HullError(`${where}: process.ioPriority.priority must be between 0 and 7`);
    out.push(rec(Rec.IO_PRIORITY, u32(cls), u32(prio)));
  }
  const aff = proc.execCPUAffinity;
  if (aff && (aff.initial || aff.final)) {
    // The bootstrap applies it only when joining a running container (exec): not for the init.
    out.push(rec(Rec.CPU_AFFINITY, str(list(aff.initial, `${where}: process.execCPUAffinity.initial`)),
      str(list(aff.final, `${where}: process.execCPUAffinity.final`))));
  }
  if (proc.apparmorProfile) {
    throw new HullError(apparmorEnabled()
      ? `${where}: apparmor profile "${proc.apparmorProfile}" is set but hull does not apply AppArmor profiles`
      : `${where}: apparmor profile "${proc.apparmorProfile}" is set but AppArmor is not enabled on this host`);
  }
  if (proc.selinuxLabel) logDebug(`selinux label "${proc.selinuxLabel}" ignored: SELinux is not enabled on this host`);
  return out;
}

/** linux.{personality, memoryPolicy, mountLabel}: create only. */
export function linuxSecurityRecords(linux: Spec): PlanRecord[] {
  const out: PlanRecord[] = [];
  const per = linux.personality;
  if (per) {
    const domain = named(PERSONALITY_DOMAINS, per.domain, 'config.json: linux.personality.domain');
    if ((per.flags ?? []).length) throw new HullError('config.json: linux.personality.flags: no flags are supported');
    out.push(rec(Rec.PERSONALITY, u32(domain)));
  }
  const mp = linux.memoryPolicy;
  if (mp) {
    const mode = named(MPOL_MODES, mp.mode, 'config.json: linux.memoryPolicy.mode');
    let flags = 0;
    for (const f of mp.flags ?? []) flags |= named(MPOL_FLAGS, f, 'config.json: linux.memoryPolicy.flags');
    out.push(rec(Rec.MEMORY_POLICY, u32(mode), u32(flags), str(list(mp.nodes, 'config.json: linux.memoryPolicy.nodes'))));
  }
  if (linux.mountLabel) logDebug(`mount label "${linux.mountLabel}" ignored: SELinux is not enabled on this host`);
  return out;
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
  'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** The namespace a sysctl key belongs to (ipc, network, uts), or undefined when it is not namespaced. */
export function sysctlNamespace(key: string): 'ipc' | 'network' | 'uts' | undefined {
  const k = key.replace(/\//g, '.');
  if (k.startsWith('net.')) return 'network';
  if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) return 'ipc';
  if (k === 'kernel.hostname' || k === 'kernel.domainname') return 'uts';
  return undefined;
}

function sameNamespace(a: string, b: string): boolean {
  try {
    const x = fs.statSync(a), y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * A sysctl is written inside the container's namespace of its kind; it must have one of its own.
 * Validation already refuses keys that are not namespaced and ones whose namespace is not in the
 * config; this refuses the namespace joined by path when that path is hull's own (the host's), where
 * the write would change the host (runc refuses net.* in the host's network namespace the same way).
 */
export function checkSysctlNamespaces(sysctl: Record<string, unknown> | undefined, namespaces: Record<string, string>): void {
  for (const key of Object.keys(sysctl ?? {})) {
    const ns = sysctlNamespace(key);
    if (!ns) throw new HullError(`config.json: sysctl "${key}" is not namespaced: setting it would change the host`);
    if (!(ns in namespaces)) throw new HullError(`config.json: sysctl "${key}" needs ${ns === 'ipc' ? 'an' : 'a'} ${ns} namespace`);
    const p = namespaces[ns];
    const self = `/proc/self/ns/${ns === 'network' ? 'net' : ns}`;
    if (p && sameNamespace(p, self)) throw new HullError(`config.json: sysctl "${key}" is not allowed in the host's ${ns} namespace (${p})`);
  }
}

/**
 * Where the bootstrap caches compiled seccomp programs: outside every --root (engines expect nothing
 * but container dirs there), on the boot-lifetime /run, root's only; undefined (no cache) for others.
 */
export const SECCOMP_CACHE_DIR = '/run/hull-cache/seccomp';
export function seccompCacheDir(): string | undefined {
  return process.getuid?.() === 0 ? SECCOMP_CACHE_DIR : undefined;
}

export interface DeviceRule { allow: boolean; type: string; major: number; minor: number; access: string }

const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

/**
 * The v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) on the container's v2
 * dir, built by the bootstrap from these rules (last match wins, no match denies: the v1 files'
 * semantics). `rules` are the same ones the v1 devices.allow/deny writes get.
 */
export function deviceProgramRecords(cgroupIndex: number, rules: readonly DeviceRule[]): PlanRecord[] {
  const out: PlanRecord[] = [rec(Rec.DEVCG_PROG, u32(cgroupIndex))];
  for (const r of rules) {
    let access = 0;
    for (const c of r.access) access |= ACCESS_BITS[c] ?? 0;
    if (!access) continue;
    out.push(rec(Rec.DEVCG_RULE, u32(r.allow ? 1 : 0), u32(r.type.charCodeAt(0)), u32(r.major >>> 0), u32(r.minor >>> 0), u32(access)));
  }
  return out;
}
