// The plan: one compact, versioned, length-checked binary message from TS to the C bootstrap.
// Format and record types: addon/README.md. The encoder refuses anything the decoder would reject,
// so an oversized config fails with a clear error instead of being truncated (CVE-2021-43784 class).

export const PLAN_MAGIC = 0x504c5548; // "HULP" little-endian
export const PLAN_VERSION = 1;
export const PLAN_MAX_BYTES = 4 << 20;
export const PLAN_MAX_RECORDS = 65536;
export const PATH_MAX = 4096;
export const ID_MAP_MAX = 4096;

export const enum Rec {
  ROOTFS = 1, ROOTFS_READONLY = 2, ROOTFS_PROPAGATION = 3, NO_PIVOT = 4, NAMESPACE = 5,
  UID_MAP = 6, GID_MAP = 7, SETGROUPS_DENY = 8, CGROUP = 9, CGROUP_WRITE = 10, MOUNT = 11,
  MASKED_PATH = 12, READONLY_PATH = 13, DEVICE = 14, SYMLINK = 15, HOSTNAME = 16, DOMAINNAME = 17,
  SYSCTL = 18, CAPS = 19, NO_NEW_PRIVS = 20, RLIMIT = 21, OOM_SCORE_ADJ = 22, USER = 23, CWD = 24,
  ARG = 25, ENV = 26, EXEC_FIFO = 27, NO_NEW_KEYRING = 28, PRESERVE_FDS = 29, SECCOMP = 30,
  SECCOMP_ARCH = 31, SECCOMP_RULE = 32, DEBUG = 33, CONSOLE_SOCKET = 34, CONSOLE_SIZE = 35,
  CONTAINER_ID = 36, TERMINAL = 37, TIME_OFFSET = 38,
  HOOK_STATE = 40, HOOK = 41,
  // process and security: 50-69
  SECCOMP_LISTENER_STATE = 50, SECCOMP_CACHE = 51, SCHEDULER = 52, IO_PRIORITY = 53, PERSONALITY = 54,
  CPU_AFFINITY = 55, MEMORY_POLICY = 56, DEVCG_PROG = 57, DEVCG_RULE = 58,
}

export type Field =
  | { u32: number }
  | { i32: number }
  | { u64: bigint }
  | { str: string };

export interface PlanRecord {
  type: Rec;
  fields: Field[];
}

export class PlanError extends Error {
  override name = 'PlanError';
}

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;

/** Checks one field and returns its encoded size (a string: its UTF-8 bytes and the NUL). */
function fieldSize(f: Field): number {
  if ('u32' in f) {
    if (!Number.isInteger(f.u32) || f.u32 < 0 || f.u32 > U32_MAX) throw new PlanError(`value ${f.u32} does not fit in 32 bits`);
    return 4;
  }
  if ('i32' in f) {
    if (!Number.isInteger(f.i32) || f.i32 < -0x80000000 || f.i32 > 0x7fffffff) throw new PlanError(`value ${f.i32} does not fit in 32 bits`);
    return 4;
  }
  if ('u64' in f) {
    if (f.u64 < 0n || f.u64 > U64_MAX) throw new PlanError(`value ${f.u64} does not fit in 64 bits`);
    return 8;
  }
  if (f.str.includes('\0')) throw new PlanError(`string contains a NUL byte: ${JSON.stringify(f.str.slice(0, 64))}`);
  return Buffer.byteLength(f.str, 'utf8') + 1;
}

/**
 * Encode records into one plan. Throws PlanError when any limit would be exceeded. Two passes: the
 * first checks every field and sizes every record (same checks, same order, same errors as a
 * one-pass encoder), the second writes into one Buffer of exactly that size.
 */
export function encodePlan(records: PlanRecord[]): Buffer {
  if (records.length > PLAN_MAX_RECORDS) throw new PlanError(`plan has ${records.length} records (max ${PLAN_MAX_RECORDS})`);
  const sizes = new Uint32Array(records.length);
  let total = 16;
  for (let i = 0; i < records.length; i++) {
    let size = 0;
    for (const f of records[i].fields) size += fieldSize(f);
    const type = records[i].type;
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new PlanError(`record type ${type} does not fit in 16 bits`);
    sizes[i] = size;
    total += 8 + size;
    if (total > PLAN_MAX_BYTES) throw new PlanError(`plan is larger than ${PLAN_MAX_BYTES} bytes`);
  }
  const buf = Buffer.allocUnsafe(total);
  // DataView setters are engine built-ins: cheaper than Buffer's checked writers on a cold start
  const dv = new DataView(buf.buffer, buf.byteOffset, total);
  dv.setUint32(0, PLAN_MAGIC, true);
  dv.setUint16(4, PLAN_VERSION, true);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, records.length, true);
  let off = 16;
  for (let i = 0; i < records.length; i++) {
    dv.setUint16(off, records[i].type, true);
    dv.setUint16(off + 2, 0, true);
    dv.setUint32(off + 4, sizes[i], true);
    off += 8;
    for (const f of records[i].fields) {
      if ('u32' in f) { dv.setUint32(off, f.u32, true); off += 4; }
      else if ('i32' in f) { dv.setInt32(off, f.i32, true); off += 4; }
      else if ('u64' in f) { dv.setBigUint64(off, f.u64, true); off += 8; }
      else {
        off += buf.write(f.str, off, 'utf8');
        buf[off++] = 0;
      }
    }
  }
  if (off !== total) throw new PlanError(`plan encoder wrote ${off} of ${total} bytes`);
  return buf;
}

/** Decode a plan back into records (tests, `hull check --plan`); mirrors the C decoder's checks. */
export function decodePlan(buf: Buffer): { type: number; payload: Buffer }[] {
  if (buf.length < 16) throw new PlanError('plan shorter than its header');
  if (buf.readUInt32LE(0) !== PLAN_MAGIC) throw new PlanError('bad plan magic');
  if (buf.readUInt16LE(4) !== PLAN_VERSION) throw new PlanError(`unsupported plan version ${buf.readUInt16LE(4)}`);
  const total = buf.readUInt32LE(8);
  if (total !== buf.length || total > PLAN_MAX_BYTES) throw new PlanError('plan length mismatch');
  const count = buf.readUInt32LE(12);
  const out: { type: number; payload: Buffer }[] = [];
  let off = 16;
  for (let i = 0; i < count; i++) {
    if (off + 8 > total) throw new PlanError(`record ${i} header out of bounds`);
    const type = buf.readUInt16LE(off);
    const len = buf.readUInt32LE(off + 4);
    if (off + 8 + len > total) throw new PlanError(`record ${i} payload out of bounds`);
    out.push({ type, payload: buf.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  if (off !== total) throw new PlanError('trailing bytes after the last record');
  return out;
}

export const u32 = (v: number): Field => ({ u32: v });
export const i32 = (v: number): Field => ({ i32: v });
export const u64 = (v: bigint | number): Field => ({ u64: BigInt(v) });
export const str = (v: string): Field => ({ str: v });
export const rec = (type: Rec, ...fields: Field[]): PlanRecord => ({ type, fields });
