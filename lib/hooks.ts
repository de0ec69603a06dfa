// OCI lifecycle hooks (runtime-spec config.md "POSIX-platform Hooks"; runtime.md "Lifecycle").
//
//   kind             run by                          where                          state status
//   prestart         bootstrap P, during create      runtime namespaces             creating
//   createRuntime    bootstrap P, during create      runtime namespaces             creating
//   createContainer  bootstrap C2, before pivot      container namespaces           creating
//   startContainer   bootstrap C2, after exec.fifo   container namespaces and root  created
//   poststart        `hull start` (here)             runtime namespaces             running
//   poststop         `hull delete` (here)            runtime namespaces             stopped
//
// The first four travel in the plan (HOOK_STATE + HOOK records, addon/README.md); the bootstrap puts
// the init's host pid into the state. Every hook gets the state JSON on stdin, only its own env, and
// is SIGKILLed when its timeout (seconds) expires. A failing prestart/createRuntime/createContainer
// hook fails create, a failing startContainer hook makes the init exit 1 before exec (message on the
// container's stderr), a failing poststart hook fails start and stops the container (runtime-spec
// 1.3; runc 1.1 runs poststart inside `create`, before the process starts, and only later runc
// moved it to `start`), a failing poststop hook is a warning and the rest still run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoText, HullError } from './errors';
import { PlanRecord, Rec, rec, str, u32 } from './plan';
import { OCI_VERSION } from './state';

export interface Hook { path: string; args?: string[]; env?: string[]; timeout?: number }
export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
export type Hooks = Partial<Record<HookKind, Hook[]>>;
export type HookStatus = 'creating' | 'created' | 'running' | 'stopped';

/** What `start` and `delete` need later; kept in state.json as `hull.hooks`. */
export type StoredHooks = Pick<Hooks, 'poststart' | 'poststop'>;

/** Every kind hull runs, in lifecycle order (`hull features` lists these). */
export const HOOK_KINDS: HookKind[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** Kinds the bootstrap runs, with their plan number (hooks.c). */
const BOOTSTRAP_KINDS: [HookKind, number][] = [['prestart', 0], ['createRuntime', 1], ['createContainer', 2], ['startContainer', 3]];

export interface StateBase { id: string; bundle: string; annotations?: Record<string, string> }

function annotationsOf(base: StateBase): Record<string, string> | undefined {
  return base.annotations && Object.keys(base.annotations).length ? base.annotations : undefined;
}

/**
 * The state on a hook's stdin (runtime.md "State"), keys in runc's order. A stopped container has
 * no pid (runc omits it too).
 */
export function hookState(base: StateBase, status: HookStatus, pid?: number): string {
  const s: Record<string, unknown> = { ociVersion: OCI_VERSION, id: base.id, status };
  if (status !== 'stopped' && pid) s.pid = pid;
  s.bundle = base.bundle;
  const a = annotationsOf(base);
  if (a) s.annotations = a;
  return JSON.stringify(s);
}

/** argv of a hook: `args` as given (args[0] is argv[0]); none -> [path], as Go's exec.Cmd does. */
function argvOf(h: Hook): string[] {
  return h.args && h.args.length ? h.args : [h.path];
}

/**
 * HOOK_STATE + one HOOK record per bootstrap-run hook, kinds in lifecycle order, each kind's
 * hooks in config order. HOOK_STATE is the state JSON split around `"status":..,"pid":..`, which
 * the bootstrap fills in (it alone knows the init's host pid).
 */
export function hookRecords(hooks: Hooks | undefined, base: StateBase): PlanRecord[] {
  const out: PlanRecord[] = [];
  for (const [kind, n] of BOOTSTRAP_KINDS) {
    for (const h of hooks?.[kind] ?? []) {
      const argv = argvOf(h);
      const env = h.env ?? [];
      out.push(rec(Rec.HOOK, u32(n), u32(h.timeout ?? 0), u32(argv.length), u32(env.length), str(h.path), ...argv.map(str), ...env.map(str)));
    }
  }
  if (!out.length) return out;
  const head = JSON.stringify({ ociVersion: OCI_VERSION, id: base.id }).slice(0, -1) + ',';
  const a = annotationsOf(base);
  const tail = ',' + JSON.stringify(a ? { bundle: base.bundle, annotations: a } : { bundle: base.bundle }).slice(1);
  return [rec(Rec.HOOK_STATE, str(head), str(tail)), ...out];
}

/** The hooks `start` and `delete` run, or undefined when there are none. */
export function storedHooks(hooks: Hooks | undefined): StoredHooks | undefined {
  const out: StoredHooks = {};
  if (hooks?.poststart?.length) out.poststart = hooks.poststart;
  if (hooks?.poststop?.length) out.poststop = hooks.poststop;
  return Object.keys(out).length ? out : undefined;
}

/* ------------------------------------------------------------------ running (poststart, poststop) */

// Linux's generic O_TMPFILE (__O_TMPFILE | O_DIRECTORY); where it differs or is refused, a named
// temp file is unlinked at once instead.
const O_TMPFILE = 0o20200000;

/** An anonymous temp file open for reading and writing. */
function tmpFd(): number {
  const dir = os.tmpdir();
  try {
    return fs.openSync(dir, O_TMPFILE | fs.constants.O_RDWR, 0o600);
  } catch {
    const p = path.join(dir, `.hull-hook-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.unlinkSync(p);
    return fd;
  }
}

const TAIL = 1024;

/** The last TAIL bytes of a capture file, on one line. */
function tail(fd: number): string {
  const size = fs.fstatSync(fd).size;
  if (size <= 0) return '';
  const n = Math.min(size, TAIL);
  const buf = Buffer.alloc(n);
  const got = fs.readSync(fd, buf, 0, n, size - n);
  // eslint-disable-next-line no-control-regex
  return buf.subarray(0, got).toString('utf8').replace(/[\x00-\x1f\x7f]/g, ' ').trim();
}

function envObject(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/**
 * Runs one hook and waits for it. The state is on stdin, stdout and stderr go to anonymous files
 * (never pipes: a daemon the hook leaves behind cannot keep us waiting), the env is the hook's
 * own, and the timeout SIGKILLs it. Throws a HullError naming the hook.
 */
export function runHook(kind: HookKind, index: number, h: Hook, state: string): void {
  const what = `${kind} hook #${index} (${h.path})`;
  const fds: number[] = [];
  try {
    const stdin = tmpFd(); fds.push(stdin);
    const stdout = tmpFd(); fds.push(stdout);
    const stderr = tmpFd(); fds.push(stderr);
    const data = Buffer.from(state);
    fs.writeSync(stdin, data, 0, data.length, 0); // pwrite: the offset the hook reads from stays 0
    const argv = argvOf(h);
    const r = spawnSync(h.path, argv.slice(1), {
      argv0: argv[0], stdio: [stdin, stdout, stderr], env: envObject(h.env ?? []),
      timeout: h.timeout ? h.timeout * 1000 : undefined, killSignal: 'SIGKILL', windowsHide: true,
    });
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ETIMEDOUT') throw new HullError(`${what}: timed out after ${h.timeout}s (killed)`);
    if (r.error) throw new HullError(`${what}: exec: ${errnoText(r.error)}`);
    if (r.status === 0) return;
    const how = r.signal ? `killed by signal ${os.constants.signals[r.signal] ?? r.signal}` : `exit status ${r.status}`;
    const err = tail(stderr);
    const out = tail(stdout);
    throw new HullError(`${what}: ${how}${err ? `, stderr: ${err}` : ''}${out ? `, stdout: ${out}` : ''}`);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/**
 * Runs the hooks of one kind in order. Without `warn` the first failure throws; with it (poststop)
 * each failure is a warning and the rest still run.
 */
export function runHooks(kind: HookKind, hooks: Hook[] | undefined, state: string, warn?: (msg: string) => void): void {
  (hooks ?? []).forEach((h, i) => {
    if (!warn) return runHook(kind, i, h, state);
    try {
      runHook(kind, i, h, state);
    } catch (e) {
      warn((e as Error).message);
    }
  });
}
