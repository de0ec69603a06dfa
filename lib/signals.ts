import { constants } from 'node:os';
import { HullError } from './errors';

const SIGNALS = constants.signals as Record<string, number>;

/** Accepts "9", "KILL", "SIGKILL", "sigkill"; default SIGTERM. Realtime signals: "RTMIN+3". */
export function parseSignal(input: string | number | undefined): number {
  if (input === undefined || input === '') return SIGNALS.SIGTERM;
  const s = String(input).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
    throw new HullError(`invalid signal: ${s}`);
  }
  let name = s.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) || /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const base = name.startsWith('SIGRTMIN') ? 34 : 64;
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? base + off : base - off;
    if (n >= 34 && n <= 64) return n;
  }
  const n = SIGNALS[name];
  if (typeof n === 'number') return n;
  throw new HullError(`unknown signal "${s}"`);
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n) return k;
  return String(n);
}
