// Which cgroup hierarchies are mounted, found from mountinfo (never by listing /sys/fs/cgroup:
// podman mkdirs unmounted controller names there as plain directories).
import * as fs from 'node:fs';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface Hierarchy {
  kind: 'v1' | 'v2';
  /** v1 controllers of this mount, e.g. ['cpu', 'cpuacct'] or ['name=systemd']; [] for v2 */
  controllers: string[];
  mountpoint: string;
  /** the mountinfo root field: which cgroup of the hierarchy is visible at mountpoint */
  root: string;
}

export interface Layout {
  mode: CgroupMode;
  hierarchies: Hierarchy[];
}

// Super options of a v1 cgroup mount that are not controller names.
const V1_NON_CONTROLLER_OPTIONS = new Set([
  'rw', 'ro', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'all', 'none',
]);

/** Undo mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`). */
export function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

interface MountinfoEntry {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

function parseMountinfoLine(line: string): MountinfoEntry | undefined {
  const fields = line.split(' ');
  // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
  const sep = fields.indexOf('-', 6);
  if (sep < 0 || fields.length < sep + 4) return undefined;
  return {
    root: unescapeMountinfo(fields[3]!),
    mountpoint: unescapeMountinfo(fields[4]!),
    fstype: fields[sep + 1]!,
    superOptions: fields[sep + 3]!.split(','),
  };
}

function v1Controllers(superOptions: string[]): string[] {
  const out: string[] = [];
  for (const opt of superOptions) {
    if (V1_NON_CONTROLLER_OPTIONS.has(opt)) continue;
    if (opt.includes('=') && !opt.startsWith('name=')) continue; // release_agent=..., etc.
    if (opt === '') continue;
    out.push(opt);
  }
  return out.sort();
}

/**
 * Parse mountinfo (default: one read of /proc/self/mountinfo) into the cgroup layout.
 * The first mount of a given controller set wins (later ones are bind mounts or nested views).
 */
export function detectLayout(mountinfo?: string): Layout {
  const text = mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const v1: Hierarchy[] = [];
  let v2: Hierarchy | undefined;
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const e = parseMountinfoLine(line);
    if (!e) continue;
    if (e.fstype === 'cgroup2') {
      if (!v2) v2 = { kind: 'v2', controllers: [], mountpoint: e.mountpoint, root: e.root };
    } else if (e.fstype === 'cgroup') {
      const controllers = v1Controllers(e.superOptions);
      if (controllers.length === 0) continue;
      // A controller can be mounted only once per set; skip any mount that repeats one.
      if (controllers.some((c) => seen.has(c))) continue;
      for (const c of controllers) seen.add(c);
      v1.push({ kind: 'v1', controllers, mountpoint: e.mountpoint, root: e.root });
    }
  }
  if (v1.length === 0) return { mode: 'v2', hierarchies: v2 ? [v2] : [] };
  return { mode: v2 ? 'hybrid' : 'v1', hierarchies: v2 ? [...v1, v2] : v1 };
}

/** /proc/<pid>/cgroup text -> cgroup path keyed by sorted controller list ('' for v2). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) throw new Error(`invalid cgroup entry: ${JSON.stringify(line)}`);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    const key = controllers === '' ? '' : controllers.split(',').sort().join(',');
    out.set(key, path);
  }
  return out;
}

/** Key of a hierarchy in parseProcCgroup's map. */
export function hierarchyKey(h: Hierarchy): string {
  return h.kind === 'v2' ? '' : [...h.controllers].sort().join(',');
}

/** Index of the hierarchy that owns a controller; resources go to v1 on hybrid hosts. */
export function ownerIndex(hierarchies: Hierarchy[], controller: string): number {
  const hasV1 = hierarchies.some((h) => h.kind === 'v1');
  for (let i = 0; i < hierarchies.length; i++) {
    const h = hierarchies[i]!;
    if (h.kind === 'v1' && h.controllers.includes(controller)) return i;
    if (h.kind === 'v2' && !hasV1) return i;
  }
  return -1;
}
