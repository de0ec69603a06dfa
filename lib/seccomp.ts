// OCI linux.seccomp -> plan records. The C side builds the filter with libseccomp.
import { HullError } from './errors';
import { PlanRecord, Rec, rec, str, u32, u64 } from './plan';
import { OCI_VERSION } from './state';

export const SECCOMP_ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0, SCMP_ACT_KILL_THREAD: 0, SCMP_ACT_KILL_PROCESS: 1, SCMP_ACT_TRAP: 2,
  SCMP_ACT_ERRNO: 3, SCMP_ACT_TRACE: 4, SCMP_ACT_ALLOW: 5, SCMP_ACT_LOG: 6, SCMP_ACT_NOTIFY: 7,
};
export const SECCOMP_OPS: Record<string, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
export const SECCOMP_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1, SECCOMP_FILTER_FLAG_LOG: 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 8,
};
const EPERM = 1;

/** SCMP_ARCH_X86_64 -> "x86_64": libseccomp's own arch names. */
export function archName(oci: string): string {
  if (!oci.startsWith('SCMP_ARCH_')) throw new HullError(`seccomp: unknown architecture ${oci}`);
  return oci.slice('SCMP_ARCH_'.length).toLowerCase();
}

interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo?: number; op: string }[] }[];
}

function action(name: string, where: string): number {
  const a = SECCOMP_ACTIONS[name];
  if (a === undefined) throw new HullError(`${where}: unknown seccomp action ${name}`);
  return a;
}

export interface SeccompPlanOptions {
  /** runtime-spec "state" of the container, for a notify listener (pid and status are filled in) */
  state?: { id: string; bundle: string; annotations?: Record<string, string> };
  /** where the bootstrap may cache compiled programs (best effort) */
  cacheDir?: string;
}

/**
 * The container process state a notify listener receives (runtime-spec config-linux.md "Seccomp"):
 * compact JSON where `"pid":0` marks the places the bootstrap puts the init's pid.
 */
export function listenerState(s: OciSeccomp, st: NonNullable<SeccompPlanOptions['state']>): string {
  return JSON.stringify({
    ociVersion: OCI_VERSION, fds: ['seccompFd'], pid: 0, metadata: s.listenerMetadata ?? '',
    state: { ociVersion: OCI_VERSION, id: st.id, status: 'creating', pid: 0, bundle: st.bundle, ...(st.annotations ? { annotations: st.annotations } : {}) },
  });
}

export function seccompRecords(s: OciSeccomp, o: SeccompPlanOptions = {}): PlanRecord[] {
  const out: PlanRecord[] = [];
  let flags = 0;
  for (const f of s.flags ?? []) {
    const bit = SECCOMP_FLAGS[f];
    if (bit === undefined) throw new HullError(`seccomp: unknown flag ${f}`);
    flags |= bit;
  }
  const def = action(s.defaultAction, 'linux.seccomp.defaultAction');
  const usesNotify = def === 7 || (s.syscalls ?? []).some((c) => c.action === 'SCMP_ACT_NOTIFY');
  if (usesNotify && !s.listenerPath) throw new HullError('seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath');
  out.push(rec(Rec.SECCOMP, u32(def), u32(s.defaultErrnoRet ?? EPERM), u32(flags), str(s.listenerPath ?? ''), str(s.listenerMetadata ?? '')));
  if (usesNotify) {
    if (!o.state) throw new HullError('seccomp: SCMP_ACT_NOTIFY needs the container state for the listener');
    out.push(rec(Rec.SECCOMP_LISTENER_STATE, str(listenerState(s, o.state))));
  }
  if (o.cacheDir) out.push(rec(Rec.SECCOMP_CACHE, str(o.cacheDir)));
  for (const a of s.architectures ?? []) out.push(rec(Rec.SECCOMP_ARCH, str(archName(a))));
  (s.syscalls ?? []).forEach((call, i) => {
    const act = action(call.action, `linux.seccomp.syscalls[${i}]`);
    const args = call.args ?? [];
    const fields = [u32(act), u32(call.errnoRet ?? EPERM), u32(args.length)];
    for (const a of args) {
      const op = SECCOMP_OPS[a.op];
      if (op === undefined) throw new HullError(`linux.seccomp.syscalls[${i}]: unknown operator ${a.op}`);
      fields.push(u32(a.index), u32(op), u64(BigInt(a.value)), u64(BigInt(a.valueTwo ?? 0)));
    }
    for (const name of call.names) out.push(rec(Rec.SECCOMP_RULE, ...fields, str(name)));
  });
  return out;
}
