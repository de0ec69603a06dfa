// linux.resources -> cgroup v1 file writes (Documentation/admin-guide/cgroup-v1/*).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Planner, readOpt } from './plan';
import { BlockIO, Cpu, DeviceRule, Memory, Resources, num } from './spec';

// Memory limits read back as this (PAGE_COUNTER_MAX * PAGE_SIZE) when unlimited.
const UNLIMITED = Number.MAX_SAFE_INTEGER;

function bytes(text: string | undefined): number {
  if (text === undefined || text === '' || text === 'max' || text === '-1') return UNLIMITED;
  const n = Number(text);
  return Number.isFinite(n) ? n : UNLIMITED;
}

function memValue(n: number): string {
  return n < 0 ? '-1' : num(n);
}

/** Docker sends swappiness -1 (or 2^64-1 as uint64) for "unset". */
export function swappinessUnset(s: number | undefined): boolean {
  return s === undefined || s === -1 || s >= 2 ** 63;
}

export function checkMemoryBeforeUpdate(p: Planner, m: Memory, usageFile: string): void {
  if (!m.checkBeforeUpdate || m.limit === undefined || m.limit <= 0) return;
  const usage = p.current('memory', usageFile);
  if (usage === undefined) return; // not created yet: nothing is charged
  if (m.limit < Number(usage)) {
    throw new Error(`rejecting memory limit ${num(m.limit)} below current usage ${usage}`);
  }
}

function memory(p: Planner, m: Memory): void {
  const f = 'linux.resources.memory';
  checkMemoryBeforeUpdate(p, m, 'memory.usage_in_bytes');
  // runc: 0 means unset; memory -1 with swap unset means "both unlimited".
  const limit = m.limit === 0 ? undefined : m.limit;
  let swap = m.swap === 0 ? undefined : m.swap;
  if (limit === -1 && swap === undefined) swap = -1;
  if (limit !== undefined && limit > 0 && swap !== undefined && swap > 0 && swap < limit) {
    throw new Error(`invalid ${f}: memory+swap limit (swap ${num(swap)}) should be >= memory limit ${num(limit)}`);
  }
  if (swap !== undefined && p.has('memory') && !p.fileExists('memory', 'memory.memsw.limit_in_bytes')) {
    // No swap accounting: unlimited is the only behaviour there is.
    if (swap >= 0) throw new Error(`cannot set ${f}.swap: swap accounting is disabled (no memory.memsw.limit_in_bytes)`);
    swap = undefined;
  }
  const writeLimit = (): void => {
    if (limit !== undefined) p.emit('memory', `${f}.limit`, 'memory.limit_in_bytes', memValue(limit), limit < 0);
  };
  const writeSwap = (): void => {
    if (swap !== undefined) p.emit('memory', `${f}.swap`, 'memory.memsw.limit_in_bytes', memValue(swap), swap < 0);
  };
  // The kernel keeps limit <= memsw at every step: raise memsw first when it is above the
  // current limit (or unlimited), else lower the limit first.
  const curLimit = bytes(p.current('memory', 'memory.limit_in_bytes'));
  if (limit !== undefined && swap !== undefined && (swap < 0 || curLimit < swap)) {
    writeSwap();
    writeLimit();
  } else {
    writeLimit();
    writeSwap();
  }
  if (m.reservation !== undefined && m.reservation !== 0) {
    p.emit('memory', `${f}.reservation`, 'memory.soft_limit_in_bytes', memValue(m.reservation));
  }
  if (m.kernel !== undefined && m.kernel !== 0) p.emit('memory', `${f}.kernel`, 'memory.kmem.limit_in_bytes', memValue(m.kernel));
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) {
    p.emit('memory', `${f}.kernelTCP`, 'memory.kmem.tcp.limit_in_bytes', memValue(m.kernelTCP));
  }
  if (!swappinessUnset(m.swappiness)) {
    if (m.swappiness! < 0 || m.swappiness! > 100) {
      throw new Error(`invalid ${f}.swappiness ${m.swappiness}: valid memory swappiness range is 0-100`);
    }
    p.emit('memory', `${f}.swappiness`, 'memory.swappiness', String(m.swappiness));
  }
  if (m.disableOOMKiller) p.emit('memory', `${f}.disableOOMKiller`, 'memory.oom_control', '1');
  if (m.useHierarchy !== undefined) p.emit('memory', `${f}.useHierarchy`, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0');
}

/** Nearest non-empty value of a cpuset file in the container dir or its ancestors. */
function inheritedCpuset(p: Planner, file: string): string | undefined {
  const i = p.owner('cpuset', 'cpuset');
  const top = p.dirs.hierarchies[i]!.mountpoint;
  let dir = path.dirname(p.dirs.dirs[i]!);
  for (;;) {
    const v = readOpt(path.join(dir, file));
    if (v) return v;
    if (dir === top || dir === path.dirname(dir)) return undefined;
    dir = path.dirname(dir);
  }
}

/**
 * A v1 cpuset cgroup starts with empty cpus/mems and refuses tasks until both are set, so fill
 * whatever the config leaves out from the parent (runc does the same).
 */
function cpuset(p: Planner, c: Cpu | undefined): void {
  if (!p.has('cpuset')) {
    if (c?.cpus || c?.mems) p.owner('cpuset', 'linux.resources.cpu.cpus/mems');
    return;
  }
  for (const [key, file] of [['cpus', 'cpuset.cpus'], ['mems', 'cpuset.mems']] as const) {
    const wanted = c?.[key];
    if (wanted) {
      p.emit('cpuset', `linux.resources.cpu.${key}`, file, wanted);
      continue;
    }
    if (p.current('cpuset', file)) continue; // already populated (live update)
    const parent = inheritedCpuset(p, file);
    if (parent) p.emit('cpuset', 'cpuset', file, parent);
  }
}

function cpu(p: Planner, c: Cpu): void {
  const f = 'linux.resources.cpu';
  if (c.shares !== undefined && c.shares !== 0) p.emit('cpu', `${f}.shares`, 'cpu.shares', num(c.shares));
  if (c.period !== undefined && c.period !== 0) p.emit('cpu', `${f}.period`, 'cpu.cfs_period_us', num(c.period));
  const quota = c.quota === 0 ? undefined : c.quota;
  // The kernel keeps burst <= quota: shrink burst before a quota that is below the current burst.
  const curBurst = Number(p.current('cpu', 'cpu.cfs_burst_us') ?? '0');
  const burstFirst = c.burst !== undefined && quota !== undefined && quota > 0 && curBurst > quota;
  if (burstFirst) p.emit('cpu', `${f}.burst`, 'cpu.cfs_burst_us', num(c.burst!));
  if (quota !== undefined) p.emit('cpu', `${f}.quota`, 'cpu.cfs_quota_us', quota < 0 ? '-1' : num(quota), quota < 0);
  if (c.burst !== undefined && !burstFirst) p.emit('cpu', `${f}.burst`, 'cpu.cfs_burst_us', num(c.burst));
  // rt_runtime must fit in rt_period: period first.
  if (c.realtimePeriod !== undefined && c.realtimePeriod !== 0) {
    p.emit('cpu', `${f}.realtimePeriod`, 'cpu.rt_period_us', num(c.realtimePeriod));
  }
  if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== 0) {
    p.emit('cpu', `${f}.realtimeRuntime`, 'cpu.rt_runtime_us', c.realtimeRuntime < 0 ? '-1' : num(c.realtimeRuntime));
  }
  if (c.idle !== undefined) p.emit('cpu', `${f}.idle`, 'cpu.idle', String(c.idle));
}

function weightFiles(p: Planner): { weight: string; device: string } | undefined {
  // CFQ (gone since 5.0) had blkio.weight; BFQ provides blkio.bfq.weight with the same range.
  if (p.fileExists('blkio', 'blkio.weight')) return { weight: 'blkio.weight', device: 'blkio.weight_device' };
  if (p.fileExists('blkio', 'blkio.bfq.weight')) return { weight: 'blkio.bfq.weight', device: 'blkio.bfq.weight_device' };
  return undefined;
}

function blkio(p: Planner, b: BlockIO): void {
  const f = 'linux.resources.blockIO';
  const needWeight = (b.weight ?? 0) !== 0 || b.weightDevice.some((d) => (d.weight ?? 0) !== 0);
  const files = needWeight ? weightFiles(p) : undefined;
  if (needWeight && !files) {
    p.owner('blkio', `${f}.weight`);
    throw new Error(`cannot set ${f}.weight: this kernel has neither blkio.weight nor blkio.bfq.weight (no CFQ/BFQ)`);
  }
  if (b.weight !== undefined && b.weight !== 0) p.emit('blkio', `${f}.weight`, files!.weight, num(b.weight));
  if (b.leafWeight !== undefined && b.leafWeight !== 0) {
    if (!p.fileExists('blkio', 'blkio.leaf_weight')) throw new Error(`cannot set ${f}.leafWeight: no blkio.leaf_weight on this kernel`);
    p.emit('blkio', `${f}.leafWeight`, 'blkio.leaf_weight', num(b.leafWeight));
  }
  for (const d of b.weightDevice) {
    if (d.weight !== undefined && d.weight !== 0) {
      p.emit('blkio', `${f}.weightDevice`, files!.device, `${d.major}:${d.minor} ${num(d.weight)}`);
    }
    if (d.leafWeight !== undefined && d.leafWeight !== 0) {
      if (!p.fileExists('blkio', 'blkio.leaf_weight_device')) {
        throw new Error(`cannot set ${f}.weightDevice leafWeight: no blkio.leaf_weight_device on this kernel`);
      }
      p.emit('blkio', `${f}.weightDevice`, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${num(d.leafWeight)}`);
    }
  }
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [key, file] of throttles) {
    // One device per write; rate 0 removes the rule.
    for (const d of b[key]) p.emit('blkio', `${f}.${key}`, file, `${d.major}:${d.minor} ${num(d.rate)}`);
  }
}

export function deviceRuleText(d: DeviceRule): string {
  const n = (x: number): string => (x < 0 ? '*' : String(x));
  return `${d.type} ${n(d.major)}:${n(d.minor)} ${d.access}`;
}

/** Deny everything, then replay the rules in order (later rules win, as in the kernel). */
function devices(p: Planner, rules: DeviceRule[]): void {
  const f = 'linux.resources.devices';
  p.emit('devices', f, 'devices.deny', 'a');
  for (const d of rules) {
    if (d.access === '') continue;
    p.emit('devices', f, d.allow ? 'devices.allow' : 'devices.deny', deviceRuleText(d));
  }
}

/** Whether a hugetlb file is provided for this page size (looked up at the hierarchy root). */
function hugetlbHas(p: Planner, file: string): boolean {
  const i = p.owner('hugetlb', 'linux.resources.hugepageLimits');
  return fs.existsSync(path.join(p.dirs.hierarchies[i]!.mountpoint, file));
}

export function mapV1(p: Planner, r: Resources, deviceRules: DeviceRule[] | undefined): void {
  cpuset(p, r.cpu);
  if (r.memory) memory(p, r.memory);
  if (r.cpu) cpu(p, r.cpu);
  if (r.pids?.limit !== undefined) {
    // runtime-spec v1.3.0: 0 is a real limit, negative is unlimited.
    const unlimited = r.pids.limit < 0;
    p.emit('pids', 'linux.resources.pids.limit', 'pids.max', unlimited ? 'max' : num(r.pids.limit), unlimited);
  }
  if (r.blockIO) blkio(p, r.blockIO);
  for (const h of r.hugepageLimits) {
    const f = 'linux.resources.hugepageLimits';
    p.emit('hugetlb', f, `hugetlb.${h.pageSize}.limit_in_bytes`, num(h.limit));
    const rsvd = `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`;
    if (hugetlbHas(p, rsvd)) p.emit('hugetlb', f, rsvd, num(h.limit));
  }
  if (r.network?.classID !== undefined && r.network.classID !== 0) {
    p.emit('net_cls', 'linux.resources.network.classID', 'net_cls.classid', num(r.network.classID));
  }
  for (const pr of r.network?.priorities ?? []) {
    p.emit('net_prio', 'linux.resources.network.priorities', 'net_prio.ifpriomap', `${pr.name} ${num(pr.priority)}`);
  }
  for (const [dev, l] of r.rdma) {
    const parts: string[] = [];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${num(l.hcaHandles)}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${num(l.hcaObjects)}`);
    if (parts.length) p.emit('rdma', 'linux.resources.rdma', 'rdma.max', `${dev} ${parts.join(' ')}`);
  }
  if (r.unified.length > 0) {
    throw new Error('linux.resources.unified is set, but unified resources are not supported on cgroup v1 (resources go to v1 controllers on this host)');
  }
  if (deviceRules) devices(p, deviceRules);
}
