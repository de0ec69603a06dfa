// Operations on a live container cgroup: writes, pids, freezer, kill, update, removal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoText } from '../errors';
import { ownerIndex } from './layout';
import { CgroupDirs, DEFAULT_PARENT } from './paths';
import { Write, readOpt } from './plan';
import { resourceWrites } from './resources';

const SIGKILL = 9;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Block the (synchronous) caller for `ms`; used only between polls of a changing state. */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Poll `done` with a short growing interval until true or `timeoutMs` passes. */
function pollUntil(done: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  let interval = 1;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    pause(interval);
    interval = Math.min(interval * 2, 20);
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** One write(2) of the whole value, as cgroupfs requires; the file must already exist. */
function writeCgroupFile(file: string, value: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  try {
    fs.writeSync(fd, value);
  } finally {
    fs.closeSync(fd);
  }
}

function writeError(file: string, value: string, e: unknown): Error {
  return new Error(`failed to write ${JSON.stringify(value)} to ${file}: ${errnoText(e)}`);
}

function target(dirs: CgroupDirs, w: Write): string {
  const dir = dirs.dirs[w.index];
  if (dir === undefined) throw new Error(`cgroup write index ${w.index} has no dir`);
  if (w.file.includes('/') || w.file === '' || w.file === '.' || w.file === '..') throw new Error(`invalid cgroup file name ${JSON.stringify(w.file)}`);
  return path.join(dir, w.file);
}

/** Perform writes in order (what the bootstrap does at create; used by tests and update). */
export function applyWrites(dirs: CgroupDirs, writes: Write[]): void {
  for (const w of writes) {
    const file = target(dirs, w);
    try {
      writeCgroupFile(file, w.value);
    } catch (e) {
      throw writeError(file, w.value, e);
    }
  }
}

function procsIn(dir: string, out: Set<number>): void {
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return;
    if (code(e) !== 'EOPNOTSUPP' && code(e) !== 'ENOTSUP') throw e;
    text = readOpt(path.join(dir, 'cgroup.threads')) ?? ''; // threaded v2 cgroup
  }
  for (const line of text.split('\n')) if (line !== '') out.add(Number(line));
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // removed meanwhile
  }
  for (const e of entries) if (e.isDirectory()) procsIn(path.join(dir, e.name), out);
}

/** Every pid in the container's cgroups (sub-cgroups included), sorted, deduplicated. */
export function readPids(dirs: CgroupDirs): number[] {
  const out = new Set<number>();
  for (const d of dirs.dirs) procsIn(d, out);
  return [...out].sort((a, b) => a - b);
}

type Freezer = { kind: 'v1' | 'v2'; dir: string };

/** v1 freezer whenever v1 is mounted (hybrid too); cgroup.freeze on a pure v2 host. */
function freezer(dirs: CgroupDirs): Freezer | undefined {
  if (dirs.hierarchies.some((h) => h.kind === 'v1')) {
    const i = ownerIndex(dirs.hierarchies, 'freezer');
    return i < 0 ? undefined : { kind: 'v1', dir: dirs.dirs[i]! };
  }
  const i = dirs.hierarchies.findIndex((h) => h.kind === 'v2');
  return i < 0 ? undefined : { kind: 'v2', dir: dirs.dirs[i]! };
}

function requireFreezer(dirs: CgroupDirs): Freezer {
  const f = freezer(dirs);
  if (!f) throw new Error('cgroup controller "freezer" is not mounted');
  return f;
}

function v2Frozen(dir: string): boolean {
  const events = readOpt(path.join(dir, 'cgroup.events')) ?? '';
  return /^frozen 1$/m.test(events);
}

const FREEZE_TIMEOUT_MS = 10_000;

function setFrozen(f: Freezer, frozen: boolean): void {
  const file = path.join(f.dir, f.kind === 'v1' ? 'freezer.state' : 'cgroup.freeze');
  const value = f.kind === 'v1' ? (frozen ? 'FROZEN' : 'THAWED') : (frozen ? '1' : '0');
  const reached = (): boolean =>
    f.kind === 'v1' ? readOpt(file) === value : v2Frozen(f.dir) === frozen;
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  for (;;) {
    try {
      writeCgroupFile(file, value);
    } catch (e) {
      throw writeError(file, value, e);
    }
    // A v1 freeze can stall in FREEZING (a task in an uninterruptible sleep): write again.
    if (pollUntil(reached, Math.min(500, Math.max(0, deadline - Date.now())))) return;
    if (Date.now() >= deadline) break;
  }
  if (frozen) {
    try { writeCgroupFile(file, f.kind === 'v1' ? 'THAWED' : '0'); } catch { /* reporting the freeze failure */ }
    throw new Error(`unable to freeze cgroup ${f.dir}: it did not reach the frozen state in ${FREEZE_TIMEOUT_MS} ms`);
  }
  throw new Error(`unable to thaw cgroup ${f.dir}: it did not reach the thawed state in ${FREEZE_TIMEOUT_MS} ms`);
}

/** Freeze every task of the container and wait until the kernel reports it frozen. */
export function freeze(dirs: CgroupDirs): void {
  setFrozen(requireFreezer(dirs), true);
}

/** Thaw the container and wait until the kernel reports it thawed. */
export function thaw(dirs: CgroupDirs): void {
  setFrozen(requireFreezer(dirs), false);
}

export function isFrozen(dirs: CgroupDirs): boolean {
  const f = freezer(dirs);
  if (!f) return false;
  if (f.kind === 'v1') return readOpt(path.join(f.dir, 'freezer.state')) === 'FROZEN';
  return readOpt(path.join(f.dir, 'cgroup.freeze')) === '1' && v2Frozen(f.dir);
}

function signalAll(dirs: CgroupDirs, signal: number): void {
  for (const pid of readPids(dirs)) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (code(e) !== 'ESRCH') throw new Error(`kill ${pid}: ${errnoText(e)}`);
    }
  }
}

/**
 * Signal every process of the container, frozen ones included. The cgroup is frozen while
 * signalling so no task can fork past the list. SIGKILL leaves it thawed (killed tasks die only
 * once thawed); any other signal restores the previous frozen state.
 */
export function killAll(dirs: CgroupDirs, signal: number): void {
  const f = freezer(dirs);
  if (f?.kind === 'v2' && signal === SIGKILL && fs.existsSync(path.join(f.dir, 'cgroup.kill'))) {
    try {
      writeCgroupFile(path.join(f.dir, 'cgroup.kill'), '1');
      return;
    } catch (e) {
      if (code(e) === 'ENOENT') return; // the cgroup is already gone
      throw writeError(path.join(f.dir, 'cgroup.kill'), '1', e);
    }
  }
  const exists = f !== undefined && fs.existsSync(f.dir);
  if (!exists) {
    signalAll(dirs, signal);
    return;
  }
  const wasFrozen = isFrozen(dirs);
  if (!wasFrozen) setFrozen(f, true);
  try {
    signalAll(dirs, signal);
  } finally {
    if (signal === SIGKILL || !wasFrozen) setFrozen(f, false);
  }
}

function rmdirQuiet(dir: string): string | undefined {
  try {
    fs.rmdirSync(dir);
    return undefined;
  } catch (e) {
    return code(e) === 'ENOENT' ? undefined : (code(e) ?? 'EIO');
  }
}

function removeTree(dir: string, deadline: number): void {
  if (rmdirQuiet(dir) === undefined) return;
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === 'ENOENT') return;
    throw new Error(`rmdir ${dir}: ${errnoText(e)}`);
  }
  for (const e of entries) if (e.isDirectory()) removeTree(path.join(dir, e.name), deadline);
  let last: string | undefined;
  // EBUSY lasts until exiting tasks are reaped: retry until the deadline.
  const done = pollUntil(() => {
    last = rmdirQuiet(dir);
    return last === undefined || (last !== 'EBUSY' && last !== 'ENOTEMPTY');
  }, Math.max(0, deadline - Date.now()));
  if (!done || last !== undefined) throw new Error(`rmdir ${dir}: ${errnoText({ code: last })}`);
}

/**
 * Remove the container's cgroup dirs (sub-cgroups first), retrying EBUSY until `timeoutMs`;
 * a missing dir is fine. Then remove hull's default parent (`/hull`) when it became empty.
 */
export function removeDirs(dirs: CgroupDirs, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const errors: string[] = [];
  dirs.dirs.forEach((dir, i) => {
    try {
      removeTree(dir, deadline);
    } catch (e) {
      errors.push((e as Error).message);
      return;
    }
    const parent = path.dirname(dir);
    const h = dirs.hierarchies[i];
    if (h && parent === path.join(h.mountpoint, DEFAULT_PARENT)) rmdirQuiet(parent); // busy or not empty: another container
  });
  if (errors.length) throw new Error(`unable to remove cgroups: ${errors.join('; ')}`);
}

const KEYED_RESET: [RegExp, (key: string) => string][] = [
  [/^blkio\.(throttle\..*_device|.*weight_device)$/, (k) => `${k} 0`],
  [/^io\.max$/, (k) => `${k} rbps=max wbps=max riops=max wiops=max`],
  [/^io\.(bfq\.)?weight$/, (k) => `${k} default`],
  [/^rdma\.max$/, (k) => `${k} hca_handle=max hca_object=max`],
  [/^net_prio\.ifpriomap$/, (k) => `${k} 0`],
];

/** What to write to undo `newValue` given the file's `old` content; undefined: cannot undo. */
export function restoreValue(file: string, old: string | undefined, newValue: string): string | undefined {
  if (old === undefined || file.startsWith('devices.')) return undefined;
  if (file === 'memory.oom_control') return /^oom_kill_disable (\d)/m.exec(old)?.[1];
  const keyed = KEYED_RESET.find(([re]) => re.test(file));
  if (keyed) {
    const key = newValue.split(' ')[0]!;
    const line = old.split('\n').find((l) => l.split(' ')[0] === key);
    if (line !== undefined) return line.trim();
    return key === 'default' ? undefined : keyed[1](key);
  }
  return old;
}

function memoryError(dirs: CgroupDirs, w: Write, file: string, e: unknown): Error | undefined {
  const what = w.file === 'memory.limit_in_bytes' || w.file === 'memory.max' ? 'memory'
    : w.file === 'memory.memsw.limit_in_bytes' || w.file === 'memory.swap.max' ? 'swap' : undefined;
  if (!what) return undefined;
  const dir = dirs.dirs[w.index]!;
  const v2 = w.file.endsWith('.max');
  const usage = readOpt(path.join(dir, v2 ? 'memory.current' : 'memory.usage_in_bytes')) ?? 'unknown';
  const peak = readOpt(path.join(dir, v2 ? 'memory.peak' : 'memory.max_usage_in_bytes')) ?? 'unknown';
  return new Error(`unable to set ${what} limit to ${w.value} (current usage: ${usage}, peak usage: ${peak}): ` +
    `write ${file}: ${errnoText(e)}`);
}

/**
 * `hull update`: apply resources live, in an order the kernel accepts (memory limit vs memsw,
 * cpu burst vs quota). On a failed write, undo the writes already made (newest first), then
 * throw an Error naming the file and value. Device rules are only rewritten when given.
 */
export function applyUpdate(dirs: CgroupDirs, resources: unknown): void {
  const writes = resourceWrites(dirs, resources, { create: false });
  const undo: { file: string; value: string }[] = [];
  for (const w of writes) {
    const file = target(dirs, w);
    let old: string | undefined;
    try {
      old = fs.readFileSync(file, 'utf8').trim();
    } catch {
      old = undefined; // write-only or missing: the write below reports a missing file
    }
    try {
      writeCgroupFile(file, w.value);
    } catch (e) {
      for (const u of undo.reverse()) {
        try { writeCgroupFile(u.file, u.value); } catch { /* best effort; the original error matters */ }
      }
      throw memoryError(dirs, w, file, e) ?? writeError(file, w.value, e);
    }
    const back = restoreValue(w.file, old, w.value);
    if (back !== undefined) undo.push({ file, value: back });
  }
}
