// The systemd cgroup driver (--systemd-cgroup), as runc's systemd manager: the container's cgroup is
// a transient unit that systemd's manager creates over D-Bus (StartTransientUnit with the init's pid,
// Delegate=true) and stops at delete (StopUnit). hull still makes and joins the cgroupfs directories
// at the same path (systemd adopts a scope whose cgroup exists; on v1 the controllers systemd does
// not manage are only reachable that way), so this module only talks to the manager.
// Loaded only when --systemd-cgroup is given: dbus-next (dist/vendor/dbus-next.js, ~15 ms to load on
// this host) is not part of any other command's start-up.
import * as fs from 'node:fs';
import { HullError } from '../errors';

type DBus = typeof import('dbus-next');
type Bus = import('dbus-next').MessageBus;
type Msg = import('dbus-next').Message;

const DEST = 'org.freedesktop.systemd1';
const PATH = '/org/freedesktop/systemd1';
const IFACE = 'org.freedesktop.systemd1.Manager';
/** How long a job may take before hull gives up on it (runc waits for JobRemoved too). */
export const JOB_TIMEOUT_MS = 5000;

function dbusLib(): DBus {
  return require('dbus-next') as DBus;
}

/** The address dbus-next's systemBus() connects to (and so hull). */
export function systemBusAddress(): string {
  return process.env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket';
}

export interface SystemdUnit {
  /** `<prefix>-<name>.scope`, `<name>.scope` without a prefix, or `<name>` when it is a slice */
  unit: string;
  /** the parent slice (default system.slice) */
  slice: string;
  isSlice: boolean;
}

/** `slice:prefix:name` (empty: system.slice:hull:<id>) -> the unit systemd manages. */
export function unitFor(cgroupsPath: string | undefined, id: string): SystemdUnit {
  const cp = cgroupsPath === undefined || cgroupsPath === '' ? `system.slice:hull:${id}` : cgroupsPath;
  const parts = cp.split(':');
  if (parts.length !== 3) {
    throw new HullError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cp)}`);
  }
  const [slice, prefix, name] = parts as [string, string, string];
  const parent = slice === '' ? 'system.slice' : slice;
  if (name.endsWith('.slice')) return { unit: name, slice: parent, isSlice: true };
  return { unit: prefix === '' ? `${name}.scope` : `${prefix}-${name}.scope`, slice: parent, isSlice: false };
}

/** runc's rule: the flag needs a running systemd. */
export function requireSystemd(): void {
  if (!fs.existsSync('/run/systemd/system')) {
    throw new HullError('systemd cgroup flag passed, but systemd support for managing cgroups is not available: systemd is not running (no /run/systemd/system)');
  }
}

/** One connection to the system bus, with JobRemoved signals collected from before each call. */
export class Manager {
  private jobs = new Map<string, string>(); // job path -> result, for jobs removed before we wait
  private waiters = new Map<string, (result: string) => void>();
  private constructor(private readonly bus: Bus, private readonly dbus: DBus) {}

  /** Connect (Hello) and subscribe to JobRemoved; a clear error naming the address on failure. */
  static async connect(timeoutMs = JOB_TIMEOUT_MS): Promise<Manager> {
    const addr = systemBusAddress();
    const dbus = dbusLib();
    let bus: Bus;
    try {
      bus = dbus.systemBus();
    } catch (e) {
      throw new HullError(`systemd cgroup driver: cannot reach the system bus at ${addr}: ${(e as Error).message}`);
    }
    const m = new Manager(bus, dbus);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        bus.once('connect', () => { clearTimeout(timer); resolve(); });
        bus.once('error', (e: Error) => { clearTimeout(timer); reject(e); });
      });
      bus.on('error', () => { /* reported through the pending call */ });
      bus.on('message', (msg: Msg) => m.onMessage(msg));
      await m.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's',
        [`type='signal',sender='${DEST}',path='${PATH}',interface='${IFACE}',member='JobRemoved'`]);
    } catch (e) {
      m.close();
      throw new HullError(`systemd cgroup driver: cannot reach the system bus at ${addr}: ${(e as Error).message}`);
    }
    return m;
  }

  private onMessage(msg: Msg): void {
    if (msg.type !== this.dbus.MessageType.SIGNAL || msg.interface !== IFACE || msg.member !== 'JobRemoved') return;
    const [, job, , result] = msg.body as [number, string, string, string];
    const w = this.waiters.get(job);
    if (w) w(result);
    else this.jobs.set(job, result);
  }

  /** A method call with a deadline: a bus that dies mid-call must fail the command, not hang it. */
  private call(destination: string, path: string, iface: string, member: string, signature: string, body: unknown[], timeoutMs = JOB_TIMEOUT_MS): Promise<Msg> {
    const msg = new this.dbus.Message({ destination, path, interface: iface, member, signature, body });
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${member}: no reply in ${timeoutMs} ms`)), timeoutMs);
      (this.bus.call(msg) as Promise<Msg>).then(
        (r) => { clearTimeout(timer); resolve(r); },
        (e) => { clearTimeout(timer); reject(e); });
    });
  }

  /** The result of a job ("done", "failed", "canceled", ...), or "timeout". */
  private waitJob(job: string, timeoutMs: number): Promise<string> {
    const early = this.jobs.get(job);
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiters.delete(job); resolve('timeout'); }, timeoutMs);
      this.waiters.set(job, (r) => { clearTimeout(timer); this.waiters.delete(job); resolve(r); });
    });
  }

  /** StartTransientUnit and wait for its job: anything but "done" is an error naming unit and result. */
  async start(u: SystemdUnit, pid: number, description: string, timeoutMs = JOB_TIMEOUT_MS): Promise<void> {
    const V = this.dbus.Variant;
    const props: [string, InstanceType<typeof V>][] = [['Description', new V('s', description)]];
    if (u.isSlice) {
      // A slice's parent is its name's prefix; runc orders it after the slice asked for with Wants=.
      props.push(['Wants', new V('as', [u.slice])]);
    } else {
      props.push(['Slice', new V('s', u.slice)], ['Delegate', new V('b', true)], ['PIDs', new V('au', [pid])]);
    }
    props.push(['DefaultDependencies', new V('b', false)]);
    let reply: Msg;
    try {
      reply = await this.call(DEST, PATH, IFACE, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [u.unit, 'replace', props, []]);
    } catch (e) {
      throw new HullError(`systemd: starting unit ${u.unit}: ${(e as Error).message}`);
    }
    const job = String(reply.body[0]);
    const result = await this.waitJob(job, timeoutMs);
    if (result !== 'done') {
      throw new HullError(`systemd: starting unit ${u.unit}: job ${job} ${result === 'timeout' ? `did not finish in ${timeoutMs} ms` : `ended with result "${result}"`}`);
    }
  }

  /**
   * StopUnit and wait: returns null when stopped or already gone (NoSuchUnit), else what went wrong
   * (delete goes on with the cgroupfs removal either way, as runc does).
   */
  async stop(unit: string, timeoutMs = JOB_TIMEOUT_MS): Promise<string | null> {
    let reply: Msg;
    try {
      reply = await this.call(DEST, PATH, IFACE, 'StopUnit', 'ss', [unit, 'replace']);
    } catch (e) {
      const name = (e as { type?: string }).type;
      if (name === 'org.freedesktop.systemd1.NoSuchUnit') return null;
      return `stopping unit ${unit}: ${(e as Error).message}`;
    }
    const job = String(reply.body[0]);
    const result = await this.waitJob(job, timeoutMs);
    return result === 'done' ? null : `stopping unit ${unit}: job ${job} ${result === 'timeout' ? `did not finish in ${timeoutMs} ms` : `ended with result "${result}"`}`;
  }

  close(): void {
    try {
      this.bus.disconnect();
    } catch { /* already closed */ }
  }
}

/** delete: stop the unit (best effort: a failure is returned as a warning text, never thrown). */
export async function stopUnit(unit: string): Promise<string | null> {
  let m: Manager;
  try {
    m = await Manager.connect();
  } catch (e) {
    return (e as Error).message;
  }
  try {
    return await m.stop(unit);
  } finally {
    m.close();
  }
}
