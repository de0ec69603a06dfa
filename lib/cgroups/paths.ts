// Where the container's cgroup lives in each hierarchy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hierarchy, Layout, hierarchyKey, parseProcCgroup } from './layout';

export interface CgroupDirs {
  hierarchies: Hierarchy[];
  /** dirs[i] is the container's absolute cgroup directory in hierarchies[i] */
  dirs: string[];
}

export interface ContainerDirsOptions {
  systemd: boolean;
  /** /proc/self/cgroup text, used for relative cgroupsPath (read when absent and needed) */
  ownCgroup?: string;
}

/** Name of hull's default parent cgroup (`/hull/<id>`); removeDirs may rmdir it when empty. */
export const DEFAULT_PARENT = 'hull';

/** Split a cgroup path into clean components, refusing `..` (it could leave the hierarchy). */
function components(p: string, what: string): string[] {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new Error(`invalid ${what} ${JSON.stringify(p)}: ".." is not allowed`);
    out.push(c);
  }
  return out;
}

/**
 * Systemd slice name -> its path: `a-b.slice` -> `/a.slice/a-b.slice`, `-.slice` -> `/`.
 * The rules are systemd's unit naming: no `/`, no leading/trailing or doubled `-`.
 */
export function expandSlice(slice: string): string {
  const suffix = '.slice';
  if (!slice.endsWith(suffix) || slice.length === suffix.length) {
    throw new Error(`invalid systemd slice name ${JSON.stringify(slice)}: must end in ".slice"`);
  }
  if (slice.includes('/')) throw new Error(`invalid systemd slice name ${JSON.stringify(slice)}: contains "/"`);
  if (slice === '-.slice') return '/';
  const base = slice.slice(0, -suffix.length);
  if (base.startsWith('-') || base.endsWith('-') || base.includes('--')) {
    throw new Error(`invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  let out = '';
  let prefix = '';
  for (const part of base.split('-')) {
    prefix = prefix === '' ? part : `${prefix}-${part}`;
    out += `/${prefix}${suffix}`;
  }
  return out;
}

/** `slice:prefix:name` (systemd cgroupsPath) -> cgroup path relative to the hierarchy root. */
export function systemdPath(cgroupsPath: string): string {
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) {
    throw new Error(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)}`);
  }
  const [slice, prefix, name] = parts as [string, string, string];
  if (name === '') throw new Error(`invalid systemd cgroupsPath ${JSON.stringify(cgroupsPath)}: empty name`);
  for (const p of [slice, prefix, name]) {
    if (p.includes('/')) throw new Error(`invalid systemd cgroupsPath ${JSON.stringify(cgroupsPath)}: contains "/"`);
  }
  const parent = expandSlice(slice === '' ? 'system.slice' : slice);
  if (name.endsWith('.slice')) {
    // The unit is itself a slice: its name already encodes its ancestry, which must be the parent.
    const own = expandSlice(name);
    if (parent !== '/' && !own.startsWith(parent + '/')) {
      throw new Error(`invalid systemd cgroupsPath ${JSON.stringify(cgroupsPath)}: ${name} is not a child of ${slice}`);
    }
    return own;
  }
  const unit = prefix === '' ? `${name}.scope` : `${prefix}-${name}.scope`;
  return path.posix.join(parent, unit);
}

/** The calling process's cgroup in `h`, relative to what the mount shows at its mountpoint. */
function ownPathIn(h: Hierarchy, own: Map<string, string>): string {
  const p = own.get(hierarchyKey(h));
  if (p === undefined) throw new Error(`cannot find own cgroup for hierarchy at ${h.mountpoint}`);
  // Outside a cgroup namespace the path includes the mount's root; strip it.
  if (h.root !== '/' && (p === h.root || p.startsWith(h.root + '/'))) return p.slice(h.root.length) || '/';
  return p;
}

/**
 * The container's cgroup dir in every hierarchy of `layout`.
 * - systemd: `slice:prefix:name` -> `<slice path>/<prefix>-<name>.scope` (empty: system.slice:hull:<id>)
 * - absolute cgroupsPath -> `<mountpoint><path>`
 * - relative -> under the caller's own cgroup of each hierarchy (runc's fs manager)
 * - empty -> `/hull/<id>`
 */
export function containerDirs(
  layout: Layout, cgroupsPath: string | undefined, id: string, opts: ContainerDirsOptions,
): CgroupDirs {
  if (id === '' || id.includes('/') || id === '.' || id === '..') throw new Error(`invalid container id ${JSON.stringify(id)}`);
  let rel: string | undefined; // path from each hierarchy's mountpoint, when the same for all
  let relative: string[] | undefined; // components under the own cgroup
  if (opts.systemd) {
    rel = systemdPath(cgroupsPath === undefined || cgroupsPath === '' ? `system.slice:hull:${id}` : cgroupsPath);
  } else if (cgroupsPath === undefined || cgroupsPath === '') {
    rel = `/${DEFAULT_PARENT}/${id}`;
  } else if (cgroupsPath.startsWith('/')) {
    const c = components(cgroupsPath, 'cgroupsPath');
    if (c.length === 0) throw new Error(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}: the root cgroup cannot be used`);
    rel = '/' + c.join('/');
  } else {
    relative = components(cgroupsPath, 'cgroupsPath');
    if (relative.length === 0) throw new Error(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}`);
  }
  if (rel === '/') throw new Error(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}: the root cgroup cannot be used`);
  let own: Map<string, string> | undefined;
  const dirs = layout.hierarchies.map((h) => {
    if (rel !== undefined) return rel === '/' ? h.mountpoint : h.mountpoint + rel;
    own ??= parseProcCgroup(opts.ownCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8'));
    const base = components(ownPathIn(h, own), 'own cgroup');
    return path.posix.join(h.mountpoint, ...base, ...relative!);
  });
  return { hierarchies: layout.hierarchies, dirs };
}
