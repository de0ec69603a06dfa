// The state store: <root>/<id>/state.json (atomic temp+rename), exec.fifo beside it, and a flock on
// the directory that serialises commands on one id. Status is derived from the live system, never
// trusted from the file: the init's pid AND its start time must still match (pids are reused).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from './errors';
import { validateId } from './ids';

export const OCI_VERSION = '1.3.0';
export const STATE_FORMAT = 1;

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface CgroupRecord { hierarchies: { kind: 'v1' | 'v2'; controllers: string[]; mountpoint: string; root: string }[]; dirs: string[] }

/** What hull keeps for itself; never printed by `state`. Versioned so older files stay readable. */
export interface Internal {
  format: number;
  initStartTime: string;
  cgroup: CgroupRecord;
  namespaces: Record<string, string>;
  pidNamespace: 'new' | 'host' | 'joined';
  systemd: boolean;
  /** --systemd-cgroup: the transient unit StartTransientUnit made (delete stops it) */
  systemdUnit?: string;
  rootless: boolean;
  hooks?: unknown;
  config?: { process?: unknown; seccomp?: unknown; capabilities?: unknown; noNewKeyring?: boolean };
}

export interface StoredState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  hull: Internal;
}

/** What `state` prints: the OCI state (runtime-spec state.md). */
export type PublicState = Omit<StoredState, 'hull'>;

export function defaultRoot(): string {
  return '/run/hull';
}

export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, validateId(id));
  }
  fifo(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }
  stateFile(id: string): string {
    return path.join(this.dir(id), 'state.json');
  }

  /** mkdir <root>/<id>; a clash means the id is taken (or a half-made container waits for delete --force). */
  createDir(id: string): string {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = this.dir(id);
    try {
      fs.mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new HullError(`container with id exists: ${id}`);
      throw e;
    }
    return dir;
  }

  exists(id: string): boolean {
    return fs.existsSync(this.dir(id));
  }

  load(id: string): StoredState {
    let text: string;
    try {
      text = fs.readFileSync(this.stateFile(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HullError(`container ${id} does not exist`);
      throw e;
    }
    let st: StoredState;
    try {
      st = JSON.parse(text) as StoredState;
    } catch {
      throw new HullError(`container ${id}: state.json is corrupt`);
    }
    if (!st.hull || typeof st.hull.format !== 'number' || st.hull.format > STATE_FORMAT) {
      throw new HullError(`container ${id}: state.json has an unsupported format`);
    }
    return st;
  }

  /** Atomic: readers (list, state) only ever see a whole file. */
  save(st: StoredState): void {
    const file = this.stateFile(st.id);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(st), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.filter((n) => n !== '.' && n !== '..' && /^[A-Za-z0-9_+\-.]+$/.test(n)).sort();
  }

  /** Exclusive flock on the container dir for the life of the process (released at exit). */
  lock(id: string): number {
    let fd: number;
    try {
      fd = fs.openSync(this.dir(id), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new HullError(`container ${id} does not exist`);
      throw e;
    }
    // Lazy: the addon is loaded only by commands that change a container.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { native } = require('./native') as typeof import('./native');
    native().flock(fd, 'ex', false);
    return fd;
  }

  unlock(fd: number): void {
    fs.closeSync(fd);
  }
}

/** /proc/<pid>/stat: state letter and start time (field 22), or null when the pid is gone. */
export function procStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], startTime: rest[19] };
}

/** Alive means: same start time (not a reused pid) and not a zombie. */
export function initAlive(st: StoredState): boolean {
  if (!st.pid) return false;
  const s = procStat(st.pid);
  return !!s && s.startTime === st.hull.initStartTime && s.state !== 'Z' && s.state !== 'X';
}

export function deriveStatus(st: StoredState, store: Store, isFrozen: () => boolean): Status {
  if (!initAlive(st)) return 'stopped';
  // As runc: a frozen container is paused even before it was started.
  if (isFrozen()) return 'paused';
  if (fs.existsSync(store.fifo(st.id))) return 'created';
  return 'running';
}

export function publicState(st: StoredState, status: Status): PublicState {
  const out: PublicState = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: status === 'stopped' ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
  };
  if (st.annotations && Object.keys(st.annotations).length) out.annotations = st.annotations;
  return out;
}

/** User name for a uid from /etc/passwd (runc shows the owner by name). */
export function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid) return f[0];
    }
  } catch {
    /* fall through */
  }
  return String(uid);
}
