// OCI mount options -> mount(2) flags, propagation and data, the way runc reads them.
import { HullError } from './errors';

export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20, MANDLOCK: 0x40,
  DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800, BIND: 0x1000, MOVE: 0x2000,
  REC: 0x4000, SILENT: 0x8000, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20,
  RELATIME: 1 << 21, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

const SET: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS,
  dirsync: MS.DIRSYNC, mand: MS.MANDLOCK, noatime: MS.NOATIME, nodiratime: MS.NODIRATIME,
  bind: MS.BIND, rbind: MS.BIND | MS.REC, relatime: MS.RELATIME, strictatime: MS.STRICTATIME,
  lazytime: MS.LAZYTIME, nosymfollow: MS.NOSYMFOLLOW, silent: MS.SILENT, remount: MS.REMOUNT,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK, atime: MS.NOATIME, diratime: MS.NODIRATIME, norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME, nolazytime: MS.LAZYTIME, symfollow: MS.NOSYMFOLLOW, loud: MS.SILENT,
  defaults: 0,
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};
// Recursive attributes (mount_setattr) and runc/crun extensions: recognised, not implemented yet.
const UNSUPPORTED = new Set([
  'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime', 'rdiratime',
  'rrelatime', 'rnorelatime', 'rnoatime', 'ratime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow',
  'rsymfollow', 'idmap', 'ridmap', 'copy-symlink', 'src-nofollow', 'dest-nofollow',
]);

export interface ParsedMount {
  flags: number;
  propagation: number;
  data: string;
  bind: boolean;
  /** copy what the destination held into the new tmpfs (runc/crun extension; podman --read-only) */
  tmpcopyup: boolean;
}

export function parseMountOptions(type: string | undefined, options: string[] | undefined, where: string): ParsedMount {
  let flags = 0;
  let propagation = 0;
  let tmpcopyup = false;
  const data: string[] = [];
  for (const opt of options ?? []) {
    if (opt in SET) flags |= SET[opt];
    else if (opt in CLEAR) flags &= ~CLEAR[opt];
    else if (opt in PROPAGATION) propagation = PROPAGATION[opt];
    else if (opt === 'tmpcopyup') tmpcopyup = true;
    else if (UNSUPPORTED.has(opt)) throw new HullError(`${where}: mount option "${opt}" is not supported by hull yet`);
    else data.push(opt);
  }
  if (type === 'bind') flags |= MS.BIND;
  return { flags, propagation, data: data.join(','), bind: (flags & MS.BIND) !== 0, tmpcopyup };
}

export const ROOTFS_PROPAGATION: Record<string, number> = {
  shared: MS.SHARED | MS.REC, slave: MS.SLAVE | MS.REC, private: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE | MS.REC, rshared: MS.SHARED | MS.REC, rslave: MS.SLAVE | MS.REC,
  rprivate: MS.PRIVATE | MS.REC, runbindable: MS.UNBINDABLE | MS.REC,
};
