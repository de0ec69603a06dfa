// linux.resources -> cgroup v2 file writes (Documentation/admin-guide/cgroup-v2.rst).
// Device rules are not files on v2 (an eBPF program attached to the cgroup does that; another
// engineer's work), so v2 produces no device writes at all.
import { Planner } from './plan';
import { checkMemoryBeforeUpdate, swappinessUnset } from './v1';
import { BlockIO, Cpu, Memory, Resources, num } from './spec';

/**
 * cpu.shares [2, 262144] (default 1024) -> cpu.weight [1, 10000] (default 100): the log-quadratic
 * curve runc (>= 1.3.2, opencontainers/cgroups) and crun (>= 1.23) use, which maps 1024 to 100.
 */
export function sharesToWeight(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** blkio weight [10, 1000] -> io.weight [1, 10000], linearly (as runc). */
export function blkioToIOWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** OCI swap is memory+swap; memory.swap.max is swap alone (runc's ConvertMemorySwapToCgroupV2Value). */
export function swapToV2(swap: number | undefined, limit: number | undefined): number | undefined {
  const mem = limit ?? 0;
  const s = swap ?? 0;
  if (mem === -1 && s === 0) return -1;
  if (s === -1 || s === 0) return s === 0 ? undefined : -1;
  if (mem === -1) return s;
  if (mem === 0) throw new Error('unable to set linux.resources.memory.swap without memory.limit on cgroup v2');
  if (mem < 0) throw new Error(`invalid linux.resources.memory.limit ${mem}`);
  if (s < mem) throw new Error(`invalid linux.resources.memory: memory+swap limit (swap ${num(s)}) should be >= memory limit ${num(mem)}`);
  return s - mem;
}

function maxValue(n: number): string {
  return n < 0 ? 'max' : num(n);
}

function unsupported(field: string): never {
  throw new Error(`${field} is not supported on cgroup v2`);
}

function memory(p: Planner, m: Memory): void {
  const f = 'linux.resources.memory';
  checkMemoryBeforeUpdate(p, m, 'memory.current');
  const limit = m.limit === 0 ? undefined : m.limit;
  const swap = swapToV2(m.swap, limit);
  if (swap !== undefined) p.emit('memory', `${f}.swap`, 'memory.swap.max', maxValue(swap));
  if (limit !== undefined) p.emit('memory', `${f}.limit`, 'memory.max', maxValue(limit));
  if (m.reservation !== undefined && m.reservation !== 0) p.emit('memory', `${f}.reservation`, 'memory.low', maxValue(m.reservation));
  // kernel and kernelTCP are deprecated and have no v2 file: ignored, as runc does.
  if (!swappinessUnset(m.swappiness)) unsupported(`${f}.swappiness`);
  if (m.disableOOMKiller) unsupported(`${f}.disableOOMKiller`);
  if (m.useHierarchy === false) unsupported(`${f}.useHierarchy=false`); // v2 is always hierarchical
}

function cpu(p: Planner, c: Cpu): void {
  const f = 'linux.resources.cpu';
  if (c.idle !== undefined) p.emit('cpu', `${f}.idle`, 'cpu.idle', String(c.idle));
  // An idle cgroup has no weight of its own.
  if (c.shares !== undefined && c.shares !== 0 && c.idle !== 1) {
    p.emit('cpu', `${f}.shares`, 'cpu.weight', String(sharesToWeight(c.shares)));
  }
  const quota = c.quota ?? 0;
  const period = c.period ?? 0;
  if (quota !== 0 || period !== 0) {
    // "$MAX $PERIOD"; without a period only the max changes.
    let v = quota > 0 ? num(quota) : 'max';
    if (period !== 0) v += ` ${num(period)}`;
    p.emit('cpu', `${f}.quota`, 'cpu.max', v);
  }
  if (c.burst !== undefined) p.emit('cpu', `${f}.burst`, 'cpu.max.burst', num(c.burst));
  if ((c.realtimePeriod ?? 0) !== 0 || (c.realtimeRuntime ?? 0) !== 0) unsupported(`${f}.realtimePeriod/realtimeRuntime`);
  if (c.cpus) p.emit('cpuset', `${f}.cpus`, 'cpuset.cpus', c.cpus);
  if (c.mems) p.emit('cpuset', `${f}.mems`, 'cpuset.mems', c.mems);
}

function io(p: Planner, b: BlockIO): void {
  const f = 'linux.resources.blockIO';
  // BFQ has its own file with blkio's range; otherwise io.weight (iocost) with the converted value.
  // The container dir may not exist yet: look at its nearest existing non-root ancestor.
  const bfq = p.fileExists('io', 'io.bfq.weight', { skipRoot: true });
  const conv = (w: number): string => String(bfq ? w : blkioToIOWeight(w));
  const file = bfq ? 'io.bfq.weight' : 'io.weight';
  if (b.weight !== undefined && b.weight !== 0) p.emit('io', `${f}.weight`, file, bfq ? conv(b.weight) : `default ${conv(b.weight)}`);
  if ((b.leafWeight ?? 0) !== 0) unsupported(`${f}.leafWeight`);
  for (const d of b.weightDevice) {
    if ((d.leafWeight ?? 0) !== 0) unsupported(`${f}.weightDevice[].leafWeight`);
    if (d.weight !== undefined && d.weight !== 0) p.emit('io', `${f}.weightDevice`, file, `${d.major}:${d.minor} ${conv(d.weight)}`);
  }
  const throttles = [
    ['throttleReadBpsDevice', 'rbps'], ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'], ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [key, name] of throttles) {
    // v1 used 0 for "no limit"; v2 spells it max.
    for (const d of b[key]) p.emit('io', `${f}.${key}`, 'io.max', `${d.major}:${d.minor} ${name}=${d.rate === 0 ? 'max' : num(d.rate)}`);
  }
}

// Keys of `unified` that would move processes or change state instead of setting a limit.
const FORBIDDEN_UNIFIED = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.kill', 'cgroup.freeze', 'cgroup.subtree_control', 'cgroup.type']);

export function mapV2(p: Planner, r: Resources): void {
  if (r.memory) memory(p, r.memory);
  if (r.cpu) cpu(p, r.cpu);
  if (r.pids?.limit !== undefined) p.emit('pids', 'linux.resources.pids.limit', 'pids.max', maxValue(r.pids.limit));
  if (r.blockIO) io(p, r.blockIO);
  for (const h of r.hugepageLimits) {
    const f = 'linux.resources.hugepageLimits';
    p.emit('hugetlb', f, `hugetlb.${h.pageSize}.max`, num(h.limit));
    p.emit('hugetlb', f, `hugetlb.${h.pageSize}.rsvd.max`, num(h.limit)); // kernel >= 5.7
  }
  if (r.network && (r.network.classID !== undefined || r.network.priorities.length > 0)) {
    unsupported('linux.resources.network (net_cls/net_prio)');
  }
  for (const [dev, l] of r.rdma) {
    const parts: string[] = [];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${num(l.hcaHandles)}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${num(l.hcaObjects)}`);
    if (parts.length) p.emit('rdma', 'linux.resources.rdma', 'rdma.max', `${dev} ${parts.join(' ')}`);
  }
  // Raw keys last, so they override the mapped values (runc's order).
  for (const [key, value] of r.unified) {
    if (!/^[a-z0-9_]+\.[A-Za-z0-9_.-]+$/.test(key) || key.includes('..') || FORBIDDEN_UNIFIED.has(key)) {
      throw new Error(`linux.resources.unified: invalid key ${JSON.stringify(key)}`);
    }
    p.emit(key.slice(0, key.indexOf('.')), `linux.resources.unified[${JSON.stringify(key)}]`, key, value);
  }
}
