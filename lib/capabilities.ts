// Capability names <-> bit numbers, and what this host can grant at all (its bounding set).
import * as fs from 'node:fs';

export const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const INDEX = new Map<string, number>(CAPS.map((c, i) => [c, i]));

export function capNumber(name: string): number | undefined {
  return INDEX.get(name.toUpperCase());
}

/** The host's bounding set (CapBnd of this process): a capability outside it cannot be granted. */
export function hostBounding(): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt('0x' + m[1]) : (1n << BigInt(CAPS.length)) - 1n;
}

export interface CapSets { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint }

/**
 * Names -> masks. Names this host cannot grant are warnings and skipped (runtime-spec: MUST warn,
 * SHOULD NOT fail); `warn` receives each once. Unknown names are skipped (validation warns).
 */
export function capSets(caps: Partial<Record<keyof CapSets, string[]>>, warn: (msg: string) => void): CapSets {
  const host = hostBounding();
  const warned = new Set<string>();
  const mask = (names: string[] | undefined): bigint => {
    let m = 0n;
    for (const name of names ?? []) {
      const n = capNumber(name);
      // Unknown names were already warned about by validation; skip them quietly here.
      if (n === undefined) continue;
      const bit = 1n << BigInt(n);
      if ((host & bit) === 0n) {
        if (!warned.has(name)) warn(`capability "${name}" is not in this host's bounding set; skipped`);
        warned.add(name);
        continue;
      }
      m |= bit;
    }
    return m;
  };
  return {
    bounding: mask(caps.bounding),
    effective: mask(caps.effective),
    permitted: mask(caps.permitted),
    inheritable: mask(caps.inheritable),
    ambient: mask(caps.ambient),
  };
}
