// Planning: linux.resources -> the ordered cgroup writes the bootstrap performs at create time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupDirs } from './paths';
import { Planner, Write, readOpt } from './plan';
import { DeviceRule, parseDeviceRule, parseResources } from './spec';
import { mapV1 } from './v1';
import { mapV2 } from './v2';

/**
 * Device rules every container gets after its own (runc's AllowedDevices): mknod of any node,
 * and the standard nodes the runtime creates in /dev.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
]);

export interface ResourceWritesOptions {
  /**
   * Device rules: true (the default, for create) always writes them: deny all, the config's
   * rules, rules allowing `linuxDevices`, then DEFAULT_DEVICE_RULES. false (for update) writes
   * them only when resources.devices is given.
   */
  create?: boolean;
  /** spec linux.devices: each gets an allow rule (type c/b/u/p, major, minor) */
  linuxDevices?: unknown[];
}

function linuxDeviceRules(devs: unknown[] | undefined): DeviceRule[] {
  const out: DeviceRule[] = [];
  (devs ?? []).forEach((d, i) => {
    const o = (d ?? {}) as Record<string, unknown>;
    if (o.type === 'p') return; // fifos are not subject to the device cgroup
    const type = o.type === 'u' ? 'c' : o.type;
    out.push(parseDeviceRule({ allow: true, type, major: o.major, minor: o.minor, access: 'rwm' }, `linux.devices[${i}]`));
  });
  return out;
}

/**
 * The ordered writes that apply `resources` (OCI linux.resources) to the container's dirs.
 * v1 and hybrid hosts: v1 controllers (the v2 dir on hybrid is only joined). v2: the one dir.
 * Reads the live dirs where order or defaults depend on current values (memory limit vs memsw,
 * cpu burst vs quota, cpuset parents); a dir that does not exist yet counts as fresh.
 */
export function resourceWrites(dirs: CgroupDirs, resources: unknown, opts: ResourceWritesOptions = {}): Write[] {
  const r = parseResources(resources);
  const p = new Planner(dirs);
  if (p.v2) {
    mapV2(p, r);
  } else {
    const create = opts.create ?? true;
    const rules = create || r.devices
      ? [...(r.devices ?? []), ...linuxDeviceRules(opts.linuxDevices), ...DEFAULT_DEVICE_RULES]
      : undefined;
    mapV1(p, r, rules);
  }
  return p.writes;
}

function mkdirOne(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`mkdir ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Create the missing ancestors of each container dir (never the dir itself: the bootstrap
 * mkdirs that) so the bootstrap's writes can work:
 * - v1 cpuset: a new ancestor gets cpus/mems copied from its parent, or no task could join below;
 * - v2: every controller available at each level is enabled in the ancestors' subtree_control,
 *   or the container dir would have no controller files.
 * Returns the ancestors it created, deepest last.
 */
export function prepareParents(dirs: CgroupDirs): string[] {
  const created: string[] = [];
  dirs.hierarchies.forEach((h, i) => {
    const leaf = dirs.dirs[i]!;
    const rel = path.relative(h.mountpoint, leaf);
    if (rel === '' || rel.startsWith('..')) throw new Error(`cgroup dir ${leaf} is not below ${h.mountpoint}`);
    let dir = h.mountpoint;
    const parts = rel.split('/');
    parts.slice(0, -1).forEach((part) => {
      const parent = dir;
      dir = path.join(dir, part);
      const isNew = mkdirOne(dir);
      if (isNew) created.push(dir);
      if (h.kind === 'v1' && h.controllers.includes('cpuset')) {
        // Also repairs an empty ancestor someone else made with a plain mkdir.
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (readOpt(path.join(dir, f))) continue;
          const v = readOpt(path.join(parent, f));
          if (v) fs.writeFileSync(path.join(dir, f), v);
        }
      }
      if (h.kind === 'v2' && dirs.hierarchies.every((x) => x.kind === 'v2')) enableControllers(parent);
    });
    if (h.kind === 'v2' && dirs.hierarchies.every((x) => x.kind === 'v2') && parts.length > 0) enableControllers(dir);
  });
  return created;
}

/** Enable every available controller for the children of `dir` (idempotent). */
function enableControllers(dir: string): void {
  const available = (readOpt(path.join(dir, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean);
  const enabled = new Set((readOpt(path.join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/).filter(Boolean));
  const missing = available.filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  try {
    fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  } catch {
    // One controller may be refused (e.g. cpu with realtime tasks); enable the others one by one.
    for (const c of missing) {
      try {
        fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
      } catch {
        /* left disabled: writes needing it fail later, naming the file */
      }
    }
  }
}

export type { Write };
