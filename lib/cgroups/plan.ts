// Shared machinery for turning resources into an ordered list of cgroup file writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hierarchy, ownerIndex } from './layout';
import { CgroupDirs } from './paths';

export interface Write {
  /** index into CgroupDirs.dirs / hierarchies */
  index: number;
  /** file name inside that dir (never contains `/`) */
  file: string;
  value: string;
}

/** Read a cgroup file, trimmed; undefined when it (or its dir) does not exist or cannot be read. */
export function readOpt(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && ['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EINVAL', 'EOPNOTSUPP', 'ENODEV'].includes(code)) return undefined;
    throw e;
  }
}

export class Planner {
  readonly writes: Write[] = [];
  readonly v2: boolean;

  constructor(readonly dirs: CgroupDirs) {
    // Resources go to v1 controllers whenever any are mounted (hybrid joins v2 only).
    this.v2 = dirs.hierarchies.length > 0 && dirs.hierarchies.every((h: Hierarchy) => h.kind === 'v2');
  }

  /** Index of the hierarchy owning `controller`, or an Error naming it. */
  owner(controller: string, field: string): number {
    const i = ownerIndex(this.dirs.hierarchies, controller);
    if (i < 0) throw new Error(`cgroup controller "${controller}" is not mounted, but ${field} needs it`);
    return i;
  }

  has(controller: string): boolean {
    return ownerIndex(this.dirs.hierarchies, controller) >= 0;
  }

  /** Queue a write; `noop` marks a default value that is fine to drop when the controller is absent. */
  emit(controller: string, field: string, file: string, value: string, noop = false): void {
    if (noop && !this.has(controller)) return;
    this.writes.push({ index: this.owner(controller, field), file, value });
  }

  /** The container dir's current value of a file (undefined before the dir exists). */
  current(controller: string, file: string): string | undefined {
    const i = ownerIndex(this.dirs.hierarchies, controller);
    return i < 0 ? undefined : readOpt(path.join(this.dirs.dirs[i]!, file));
  }

  /** The dir of `controller` itself when it exists, else its nearest existing ancestor. */
  existingDir(controller: string): string | undefined {
    const i = ownerIndex(this.dirs.hierarchies, controller);
    if (i < 0) return undefined;
    const top = this.dirs.hierarchies[i]!.mountpoint;
    let dir = this.dirs.dirs[i]!;
    for (;;) {
      if (fs.existsSync(dir)) return dir;
      if (dir === top || dir === path.dirname(dir)) return undefined;
      dir = path.dirname(dir);
    }
  }

  /** Whether a controller file is provided by this kernel (looked up in the nearest existing dir). */
  fileExists(controller: string, file: string, opts: { skipRoot?: boolean } = {}): boolean {
    const i = ownerIndex(this.dirs.hierarchies, controller);
    if (i < 0) return false;
    const dir = this.existingDir(controller);
    if (dir === undefined) return false;
    if (opts.skipRoot && dir === this.dirs.hierarchies[i]!.mountpoint) return false;
    return fs.existsSync(path.join(dir, file));
  }
}
