// `hull features`: the runtime-spec features document (features.md, features-linux.md), saying only
// what this build really does. Lists come from the modules that implement them (mount options are
// whatever lib/mounts.ts turns into flags; capabilities lib/capabilities.ts; hook kinds lib/hooks.ts),
// and the seccomp part from the bootstrap, which asks the libseccomp it is linked with and the
// kernel (`hull-bootstrap --features`, addon/bootstrap/features.c).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPS } from './capabilities';
import { HullError } from './errors';
import { HOOK_KINDS } from './hooks';
import { parseMountOptions } from './mounts';
import { bootstrapPath } from './native';
import { CLONE_FLAGS } from './planner';
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPS } from './seccomp';
import { SPEC_VERSION_MAX, SPEC_VERSION_MIN } from './validate';

/** The seccomp notify action (and listenerPath) is refused by the bootstrap for now. */
export const SECCOMP_NOTIFY_SUPPORTED = false;

/**
 * Every mount option runc or crun know. `features` lists those lib/mounts.ts turns into mount
 * flags or propagation; one it refuses or would pass to the filesystem as data is left out.
 */
const MOUNT_OPTION_CANDIDATES = [
  'acl', 'async', 'atime', 'bind', 'copy-symlink', 'defaults', 'dest-nofollow', 'dev', 'diratime',
  'dirsync', 'exec', 'idmap', 'iversion', 'lazytime', 'loud', 'mand', 'noacl', 'noatime', 'nodev',
  'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime',
  'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount',
  'rexec', 'ridmap', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime',
  'rnosuid', 'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave',
  'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave',
  'src-nofollow', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
];

function handled(option: string): boolean {
  try {
    return parseMountOptions(undefined, [option], 'features').data === '';
  } catch {
    return false;
  }
}

export interface SeccompProbe { libseccomp: string; apiLevel: number; archs: string[]; actions: string[]; flags: string[] }

/** What the bootstrap's libseccomp and this kernel support. */
export function seccompProbe(): SeccompProbe {
  let out: string;
  try {
    out = execFileSync(bootstrapPath(), ['--features'], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new HullError(`features: ${bootstrapPath()} --features: ${(e as Error).message}`);
  }
  return JSON.parse(out) as SeccompProbe;
}

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commit(): string | undefined {
  for (const dir of [__dirname, path.join(__dirname, '..', 'dist')]) {
    try {
      return (JSON.parse(fs.readFileSync(path.join(dir, 'buildinfo.json'), 'utf8')) as { commit?: string }).commit;
    } catch { /* not there */ }
  }
  return undefined;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export function features(probe: SeccompProbe = seccompProbe()): any {
  const actions = Object.keys(SECCOMP_ACTIONS)
    .filter((a) => probe.actions.includes(a) && (SECCOMP_NOTIFY_SUPPORTED || a !== 'SCMP_ACT_NOTIFY'));
  const annotations: Record<string, string> = {
    'io.github.hull.version': version(),
    'io.github.hull.spec': SPEC_VERSION_MAX,
    'io.github.seccomp.libseccomp.version': probe.libseccomp,
  };
  const c = commit();
  if (c) annotations['io.github.hull.commit'] = c;
  return {
    ociVersionMin: SPEC_VERSION_MIN,
    ociVersionMax: SPEC_VERSION_MAX,
    hooks: [...HOOK_KINDS],
    mountOptions: MOUNT_OPTION_CANDIDATES.filter(handled),
    linux: {
      namespaces: Object.keys(CLONE_FLAGS).sort(),
      capabilities: [...CAPS],
      // systemd: the D-Bus driver (lib/cgroups/systemd.ts) is usable where systemd runs, the same
      // test --systemd-cgroup makes before it refuses; the user instance is not supported.
      cgroup: { v1: true, v2: true, systemd: fs.existsSync('/run/systemd/system'), systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions,
        operators: Object.keys(SECCOMP_OPS),
        archs: probe.archs.map((a) => `SCMP_ARCH_${a.toUpperCase()}`),
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS).filter((f) => probe.flags.includes(f)),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: handled('idmap') } },
      netDevices: { enabled: false },
    },
    potentiallyUnsafeConfigAnnotations: [],
    annotations,
  };
}
