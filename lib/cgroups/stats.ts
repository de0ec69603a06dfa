// Resource usage in the shape of runc's `events --stats` data (types.Stats), omitempty as runc.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownerIndex } from './layout';
import { CgroupDirs } from './paths';
import { readOpt } from './plan';

const USER_HZ = 100; // cpuacct.stat ticks; fixed at 100 on Linux
const MAX_UINT64 = 18446744073709551615; // JSON number of an unlimited limit (runc prints the uint64)

function n(text: string | undefined): number {
  if (text === undefined || text === '' || text === 'max') return 0;
  const v = Number(text);
  return Number.isFinite(v) ? v : 0;
}

function limitOf(text: string | undefined): number {
  return text === 'max' ? MAX_UINT64 : n(text);
}

/** "key value" lines -> map (memory.stat, cpu.stat, cpuacct.stat, memory.events, ...). */
function flatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = n(v);
  }
  return out;
}

function omitEmpty<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === 0 || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

function hugePageSizes(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  return names.flatMap((f) => {
    const m = /^hugepages-(\d+)kB$/.exec(f);
    if (!m) return [];
    const kb = Number(m[1]);
    return [kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`];
  });
}

interface BlkioEntry { major?: number; minor?: number; op?: string; value?: number }

function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue; // the "Total N" line
    const [maj, min] = f[0]!.split(':').map(Number);
    out.push(omitEmpty({ major: maj, minor: min, op: f[1], value: n(f[2]) }) as BlkioEntry);
  }
  return out;
}

function statsV1(dirs: CgroupDirs): Record<string, unknown> {
  const dirOf = (c: string): string | undefined => {
    const i = ownerIndex(dirs.hierarchies, c);
    return i < 0 ? undefined : dirs.dirs[i];
  };
  const rd = (c: string, f: string): string | undefined => {
    const d = dirOf(c);
    return d === undefined ? undefined : readOpt(path.join(d, f));
  };
  const acct = flatKeyed(rd('cpuacct', 'cpuacct.stat'));
  const percpu = (rd('cpuacct', 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(Number);
  const thr = flatKeyed(rd('cpu', 'cpu.stat'));
  const cpu = {
    usage: {
      ...omitEmpty({ total: n(rd('cpuacct', 'cpuacct.usage')), percpu }),
      kernel: (acct.system ?? 0) * (1e9 / USER_HZ),
      user: (acct.user ?? 0) * (1e9 / USER_HZ),
    },
    throttling: omitEmpty({ periods: thr.nr_periods, throttledPeriods: thr.nr_throttled, throttledTime: thr.throttled_time }),
  };
  const entry = (prefix: string): Record<string, unknown> => ({
    limit: n(rd('memory', `${prefix}.limit_in_bytes`)),
    ...omitEmpty({ usage: n(rd('memory', `${prefix}.usage_in_bytes`)), max: n(rd('memory', `${prefix}.max_usage_in_bytes`)) }),
    failcnt: n(rd('memory', `${prefix}.failcnt`)),
  });
  const raw = flatKeyed(rd('memory', 'memory.stat'));
  const memory = dirOf('memory') === undefined ? {} : omitEmpty({
    cache: raw.cache ?? 0,
    usage: entry('memory'),
    swap: entry('memory.memsw'),
    kernel: entry('memory.kmem'),
    kernelTCP: entry('memory.kmem.tcp'),
    raw,
  });
  const hugetlb: Record<string, unknown> = {};
  if (dirOf('hugetlb') !== undefined) {
    for (const size of hugePageSizes()) {
      hugetlb[size] = {
        ...omitEmpty({ usage: n(rd('hugetlb', `hugetlb.${size}.usage_in_bytes`)), max: n(rd('hugetlb', `hugetlb.${size}.max_usage_in_bytes`)) }),
        failcnt: n(rd('hugetlb', `hugetlb.${size}.failcnt`)),
      };
    }
  }
  const pidsMax = rd('pids', 'pids.max');
  return {
    cpu,
    memory,
    pids: omitEmpty({ current: n(rd('pids', 'pids.current')), limit: pidsMax === 'max' ? 0 : n(pidsMax) }),
    blkio: omitEmpty({
      ioServiceBytesRecursive: blkioEntries(rd('blkio', 'blkio.throttle.io_service_bytes_recursive')),
      ioServicedRecursive: blkioEntries(rd('blkio', 'blkio.throttle.io_serviced_recursive')),
    }),
    hugetlb,
  };
}

function statsV2(dir: string): Record<string, unknown> {
  const rd = (f: string): string | undefined => readOpt(path.join(dir, f));
  const c = flatKeyed(rd('cpu.stat'));
  const cpu = {
    usage: {
      ...omitEmpty({ total: (c.usage_usec ?? 0) * 1000 }),
      kernel: (c.system_usec ?? 0) * 1000,
      user: (c.user_usec ?? 0) * 1000,
    },
    throttling: omitEmpty({ periods: c.nr_periods, throttledPeriods: c.nr_throttled, throttledTime: (c.throttled_usec ?? 0) * 1000 }),
  };
  const raw = flatKeyed(rd('memory.stat'));
  const usage = n(rd('memory.current'));
  const swapCur = n(rd('memory.swap.current'));
  const memory = rd('memory.current') === undefined ? {} : omitEmpty({
    cache: raw.file ?? 0,
    usage: { limit: limitOf(rd('memory.max')), ...omitEmpty({ usage, max: n(rd('memory.peak')) }), failcnt: flatKeyed(rd('memory.events')).max ?? 0 },
    // runc reports swap as memory+swap, like v1's memsw
    swap: { limit: limitOf(rd('memory.swap.max')), ...omitEmpty({ usage: usage + swapCur, max: n(rd('memory.swap.peak')) }), failcnt: flatKeyed(rd('memory.swap.events')).max ?? 0 },
    raw,
  });
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (rd('io.stat') ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(':')) continue;
    const [major, minor] = dev.split(':').map(Number);
    const v = Object.fromEntries(kv.map((x) => x.split('=') as [string, string]));
    bytes.push({ major, minor, op: 'Read', value: n(v.rbytes) }, { major, minor, op: 'Write', value: n(v.wbytes) });
    ios.push({ major, minor, op: 'Read', value: n(v.rios) }, { major, minor, op: 'Write', value: n(v.wios) });
  }
  const hugetlb: Record<string, unknown> = {};
  for (const size of hugePageSizes()) {
    if (rd(`hugetlb.${size}.current`) === undefined) continue;
    hugetlb[size] = { ...omitEmpty({ usage: n(rd(`hugetlb.${size}.current`)) }), failcnt: flatKeyed(rd(`hugetlb.${size}.events`)).max ?? 0 };
  }
  const pidsMax = rd('pids.max');
  return {
    cpu,
    memory,
    pids: omitEmpty({ current: n(rd('pids.current')), limit: pidsMax === 'max' ? 0 : n(pidsMax) }),
    blkio: omitEmpty({ ioServiceBytesRecursive: bytes.map((e) => omitEmpty({ ...e }) as BlkioEntry), ioServicedRecursive: ios.map((e) => omitEmpty({ ...e }) as BlkioEntry) }),
    hugetlb,
  };
}

/** Usage of the container's cgroups: v1 controllers on v1 and hybrid hosts, else the v2 dir. */
export function stats(dirs: CgroupDirs): unknown {
  if (dirs.hierarchies.some((h) => h.kind === 'v1')) return statsV1(dirs);
  const i = dirs.hierarchies.findIndex((h) => h.kind === 'v2');
  return i < 0 ? {} : statsV2(dirs.dirs[i]!);
}
