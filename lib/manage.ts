// Commands that manage a running container through its cgroups: pause, resume, ps, update, events.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as cg from './cgroups';
import { HullError } from './errors';
import { GlobalOptions, statusOf } from './lifecycle';
import { Store, StoredState } from './state';

function out(text: string): void {
  fs.writeSync(1, text);
}

function withLocked<T>(g: GlobalOptions, id: string, fn: (store: Store, st: StoredState) => T): T {
  const store = new Store(g.root);
  const fd = store.lock(id);
  try {
    return fn(store, store.load(id));
  } finally {
    store.unlock(fd);
  }
}

export function pause(g: GlobalOptions, id: string): void {
  withLocked(g, id, (store, st) => {
    const status = statusOf(store, st);
    if (status === 'paused') return;
    if (status !== 'running' && status !== 'created') throw new HullError('container not running');
    cg.freeze(st.hull.cgroup);
  });
}

export function resume(g: GlobalOptions, id: string): void {
  withLocked(g, id, (store, st) => {
    if (statusOf(store, st) !== 'paused') throw new HullError('container not paused');
    cg.thaw(st.hull.cgroup);
  });
}

/** `ps --format json` prints exactly a JSON array of host pids: the shim unmarshals all output. */
export function ps(g: GlobalOptions, id: string, format: string, psArgs: string[]): void {
  const store = new Store(g.root);
  const st = store.load(id);
  const pids = statusOf(store, st) === 'stopped' && st.hull.pidNamespace === 'new' ? [] : cg.readPids(st.hull.cgroup);
  if (format === 'json') {
    out(JSON.stringify(pids) + '\n');
    return;
  }
  const args = psArgs.length ? psArgs : ['-ef'];
  const r = spawnSync('ps', args, { encoding: 'utf8', env: { PATH: process.env.PATH || '/usr/bin:/bin' } });
  if (r.error || r.status !== 0) throw new HullError(`ps ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  const col = lines[0].trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new HullError('couldn\'t find PID field in ps output');
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((l) => l.trim() && wanted.has(Number(l.trim().split(/\s+/)[col])));
  out([lines[0], ...rows].join('\n') + '\n');
}

/** "128m" -> bytes, as runc's --memory flags accept; "-1" stays -1 (unlimited). */
export function parseBytes(v: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new HullError(`invalid size: ${v}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.round(Number(m[1]) * mult[m[2].toLowerCase()]);
}

export interface UpdateFlags {
  resources?: string;
  [flag: string]: unknown;
}

function int(v: unknown, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new HullError(`invalid value for --${flag}: ${v}`);
  return n;
}

/** runc's update flags -> a LinuxResources object (merged over --resources when both are given). */
export function resourcesFromFlags(f: UpdateFlags, stdin: () => string): Record<string, any> {
  let r: Record<string, any> = {};
  if (f.resources) {
    const text = f.resources === '-' ? stdin() : fs.readFileSync(f.resources, 'utf8');
    try {
      r = JSON.parse(text);
    } catch (e) {
      throw new HullError(`invalid resources JSON: ${(e as Error).message}`);
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new HullError('resources must be a JSON object');
  }
  const set = (section: string, key: string, value: unknown) => {
    r[section] = { ...(r[section] ?? {}), [key]: value };
  };
  const has = (k: string) => f[k] !== undefined && f[k] !== '';
  if (has('blkio-weight')) set('blockIO', 'weight', int(f['blkio-weight'], 'blkio-weight'));
  if (has('cpu-period')) set('cpu', 'period', int(f['cpu-period'], 'cpu-period'));
  if (has('cpu-quota')) set('cpu', 'quota', int(f['cpu-quota'], 'cpu-quota'));
  if (has('cpu-share')) set('cpu', 'shares', int(f['cpu-share'], 'cpu-share'));
  if (has('cpu-rt-period')) set('cpu', 'realtimePeriod', int(f['cpu-rt-period'], 'cpu-rt-period'));
  if (has('cpu-rt-runtime')) set('cpu', 'realtimeRuntime', int(f['cpu-rt-runtime'], 'cpu-rt-runtime'));
  if (has('cpu-burst')) set('cpu', 'burst', int(f['cpu-burst'], 'cpu-burst'));
  if (has('cpu-idle')) set('cpu', 'idle', int(f['cpu-idle'], 'cpu-idle'));
  if (has('cpuset-cpus')) set('cpu', 'cpus', String(f['cpuset-cpus']));
  if (has('cpuset-mems')) set('cpu', 'mems', String(f['cpuset-mems']));
  if (has('memory')) set('memory', 'limit', parseBytes(String(f.memory)));
  if (has('memory-reservation')) set('memory', 'reservation', parseBytes(String(f['memory-reservation'])));
  if (has('memory-swap')) set('memory', 'swap', parseBytes(String(f['memory-swap'])));
  if (has('pids-limit')) set('pids', 'limit', int(f['pids-limit'], 'pids-limit'));
  if (has('l3-cache-schema') || has('mem-bw-schema')) throw new HullError('Intel RDT is not supported by hull');
  return r;
}

export function update(g: GlobalOptions, id: string, flags: UpdateFlags): void {
  const resources = resourcesFromFlags(flags, () => fs.readFileSync(0, 'utf8'));
  withLocked(g, id, (store, st) => {
    if (statusOf(store, st) === 'stopped') throw new HullError('container not running');
    cg.applyUpdate(st.hull.cgroup, resources);
  });
}

/** `events --stats`: one stats object. Otherwise a stats line every interval, until the container stops. */
export async function events(g: GlobalOptions, id: string, statsOnly: boolean, intervalMs: number): Promise<void> {
  const store = new Store(g.root);
  const st = store.load(id);
  const line = () => out(JSON.stringify({ type: 'stats', id, data: cg.stats(st.hull.cgroup) }) + '\n');
  if (statsOnly) {
    if (statusOf(store, st) === 'stopped') throw new HullError('container not running');
    line();
    return;
  }
  let lastOom = oomKills(st);
  const oomTimer = setInterval(() => {
    const n = oomKills(st);
    if (n > lastOom) out(JSON.stringify({ type: 'oom', id }) + '\n');
    lastOom = n;
  }, 200);
  try {
    for (;;) {
      if (statusOf(store, st) === 'stopped') return;
      line();
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    clearInterval(oomTimer);
  }
}

/** The memory controller's OOM-kill counter (v1 memory.oom_control, v2 memory.events). */
function oomKills(st: StoredState): number {
  const d = st.hull.cgroup;
  for (let i = 0; i < d.hierarchies.length; i++) {
    const h = d.hierarchies[i];
    const file = h.kind === 'v1' ? (h.controllers.includes('memory') ? 'memory.oom_control' : '') : 'memory.events';
    if (!file) continue;
    try {
      const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(`${d.dirs[i]}/${file}`, 'utf8'));
      if (m) return Number(m[1]);
    } catch { /* controller absent */ }
  }
  return 0;
}

/** "5s", "500ms", "1m" or bare seconds -> milliseconds. */
export function parseInterval(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new HullError(`invalid interval: ${v}`);
  const mult: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const ms = Number(m[1]) * mult[m[2] ?? 's'];
  if (ms <= 0) throw new HullError('duration must be greater than 0');
  return ms;
}
