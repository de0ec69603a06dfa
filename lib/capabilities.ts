// Capability names <-> bit numbers, and what this host can grant at all (its bounding set).
import * as fs from 'node:fs';

import { CAPS } from './kernel-names';

export { CAPS };

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
