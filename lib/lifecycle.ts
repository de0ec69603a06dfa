// The container lifecycle: create, start, kill, delete, and the status checks between them.
// Data path, one way: config.json -> validated spec -> plan -> bootstrap -> state.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Cg from './cgroups';
import { HullError } from './errors';
import { validateId } from './ids';
import { logWarn } from './log';
import {
  deriveStatus, initAlive, OCI_VERSION, procStat, publicState, PublicState, Status, Store, StoredState,
  STATE_FORMAT, userName,
} from './state';

export interface GlobalOptions {
  root: string;
  systemdCgroup: boolean;
  rootless: boolean;
  debug: boolean;
}

// Lazy: `state` of a stopped container or `list` never pays for the cgroup library.
function cgroups(): typeof Cg {
  return require('./cgroups') as typeof Cg;
}
function hooksLib(): typeof import('./hooks') {
  return require('./hooks') as typeof import('./hooks');
}
function nativeLib() {
  return (require('./native') as typeof import('./native')).native();
}

export function statusOf(store: Store, st: StoredState): Status {
  if (st.status === 'creating') return initAlive(st) ? 'creating' : 'stopped';
  return deriveStatus(st, store, () => {
    try {
      return cgroups().isFrozen(st.hull.cgroup);
    } catch {
      return false;
    }
  });
}

/* ---------------------------------------------------------------- create */

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** run: the caller waits for the init itself */
  foreground?: boolean;
}

export function loadConfig(bundle: string): unknown {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HullError(`config.json: open ${file}: no such file or directory`);
    throw new HullError(`config.json: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HullError(`config.json: invalid JSON: ${(e as Error).message}`);
  }
}

/** Schema + semantic checks; warnings are logged, the first error throws. Before any side effect. */
export function validatedSpec(bundle: string): any {
  const spec = loadConfig(bundle);
  const { validateConfig } = require('./validate') as typeof import('./validate');
  const v = validateConfig(spec);
  for (const w of v.warnings) logWarn(`config.json: ${w}`);
  if (v.errors.length) throw new HullError(`config.json: ${v.errors[0]}`);
  return spec;
}

/**
 * --systemd-cgroup: without a running systemd there is no manager to ask, so refuse clearly (as runc
 * does); with one, connect to it on the system bus before anything is made (lib/cgroups/systemd.ts,
 * loaded only here and in delete). The unit's cgroup is still made and joined through cgroupfs.
 */
async function systemdConnect(): Promise<import('./cgroups/systemd').Manager> {
  const sd = require('./cgroups/systemd') as typeof import('./cgroups/systemd');
  sd.requireSystemd();
  return sd.Manager.connect();
}

/** Write a pid file as runc does: bare digits, no newline, atomically. */
export function writePidFile(file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}`);
  fs.writeFileSync(tmp, String(pid));
  fs.renameSync(tmp, abs);
}

export async function create(g: GlobalOptions, o: CreateOptions): Promise<StoredState> {
  const id = validateId(o.id);
  const bundle = path.resolve(o.bundle);
  if (!fs.existsSync(bundle)) throw new HullError(`bundle ${bundle} does not exist`);
  const spec = validatedSpec(bundle);
  if (spec.process?.terminal && !o.consoleSocket) {
    throw new HullError('cannot allocate tty if hull will detach without setting console socket');
  }
  if (!spec.process?.terminal && o.consoleSocket) {
    throw new HullError('cannot use console socket if hull will not detach or allocate tty');
  }
  const cg = cgroups();
  const layout = cg.detectLayout();
  const dirs = cg.containerDirs(layout, spec.linux?.cgroupsPath, id, {
    systemd: g.systemdCgroup,
    ownCgroup: fs.readFileSync('/proc/self/cgroup', 'utf8'),
  });
  const writes = cg.resourceWrites(dirs, spec.linux?.resources ?? {}, { linuxDevices: spec.linux?.devices });

  const sdm = g.systemdCgroup ? await systemdConnect() : undefined;
  const store = new Store(g.root);
  try {
    store.createDir(id);
  } catch (e) {
    sdm?.close();
    throw e;
  }
  let st: StoredState | undefined;
  let lockFd = -1;
  let madeParents: string[] = [];
  try {
    lockFd = store.lock(id);
    const fifo = store.fifo(id);
    const { buildPlan } = require('./planner') as typeof import('./planner');
    const { encodePlan } = require('./plan') as typeof import('./plan');
    const plan = buildPlan({
      id, spec, bundle, fifo, cgroups: dirs, cgroupWrites: writes, noPivot: o.noPivot,
      noNewKeyring: o.noNewKeyring, preserveFds: o.preserveFds, consoleSocket: o.consoleSocket,
      debug: g.debug, warn: logWarn,
    });
    const encoded = encodePlan(plan.records);
    st = {
      ociVersion: OCI_VERSION, id, pid: 0, status: 'creating', bundle, rootfs: plan.rootfs,
      created: new Date().toISOString(), owner: userName(process.getuid ? process.getuid() : 0),
      annotations: spec.annotations,
      hull: {
        format: STATE_FORMAT, initStartTime: '', cgroup: dirs, namespaces: plan.namespaces,
        pidNamespace: !('pid' in plan.namespaces) ? 'host' : plan.namespaces.pid ? 'joined' : 'new',
        systemd: g.systemdCgroup, rootless: g.rootless,
        // exec's defaults (runc keeps the whole config; the bundle may change after create)
        config: { process: spec.process, seccomp: spec.linux?.seccomp, noNewKeyring: o.noNewKeyring },
        hooks: spec.hooks ? hooksLib().storedHooks(spec.hooks) : undefined,
      },
    };
    // Saved before the bootstrap runs, so `delete --force` can clean a create that died mid-way.
    store.save(st);
    // v1 cpuset parents must hold cpus/mems before a child can; a plain mkdir leaves them empty.
    madeParents = cg.prepareParents(dirs);
    const { runBootstrap } = require('./bootstrap') as typeof import('./bootstrap');
    const { pid } = await runBootstrap(encoded, o.preserveFds);
    st.pid = pid;
    const ps = procStat(pid);
    if (!ps) throw new HullError(`container init ${pid} exited during create`);
    st.hull.initStartTime = ps.startTime;
    st.hull.namespaces = namespacePaths(pid, plan.namespaces);
    if (sdm) {
      // The init waits on exec.fifo in its cgroupfs dirs; systemd adopts it into the unit there.
      const { unitFor } = require('./cgroups/systemd') as typeof import('./cgroups/systemd');
      const u = unitFor(spec.linux?.cgroupsPath, id);
      st.hull.systemdUnit = u.unit;
      store.save(st);
      await sdm.start(u, pid, `hull container ${id}`);
    }
    st.status = 'created';
    store.save(st);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    return st;
  } catch (e) {
    await rollback(store, id, st, dirs, madeParents, sdm);
    // runtime.md: a failed create is destroyed like any container, poststop hooks included.
    if (st) poststop(st);
    throw e;
  } finally {
    sdm?.close();
    if (lockFd >= 0) store.unlock(lockFd);
  }
}

/** The paths another process (exec, hooks) uses to join this container's namespaces. */
function namespacePaths(pid: number, configured: Record<string, string>): Record<string, string> {
  const file: Record<string, string> = { mount: 'mnt', network: 'net', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time' };
  const out: Record<string, string> = {};
  for (const [type, p] of Object.entries(configured)) out[type] = p || `/proc/${pid}/ns/${file[type]}`;
  return out;
}

async function rollback(store: Store, id: string, st: StoredState | undefined, dirs: Cg.CgroupDirs, madeParents: string[], sdm?: import('./cgroups/systemd').Manager): Promise<void> {
  try {
    if (st && st.pid > 0) killAndWait(st.pid, 2000);
  } catch { /* already gone */ }
  if (sdm && st?.hull.systemdUnit) {
    const err = await sdm.stop(st.hull.systemdUnit, 2000);
    if (err) logWarn(`rollback: systemd: ${err}`);
  }
  try {
    cgroups().removeDirs(dirs, 2000);
  } catch (e) {
    logWarn(`rollback: ${(e as Error).message}`);
  }
  // Ancestors this create made (e.g. the parents of /a/b/c) go too, deepest first; one that
  // another container now uses is not empty and stays.
  for (const d of [...madeParents].reverse()) {
    try { fs.rmdirSync(d); } catch { /* not empty, busy or gone */ }
  }
  store.remove(id);
}

/* ---------------------------------------------------------------- start */

export function start(g: GlobalOptions, id: string): StoredState {
  const store = new Store(g.root);
  const lockFd = store.lock(id);
  try {
    return startLocked(store, id);
  } finally {
    store.unlock(lockFd);
  }
}

function startLocked(store: Store, id: string): StoredState {
  const st = store.load(id);
  const status = statusOf(store, st);
  switch (status) {
    case 'created':
      break;
    case 'stopped':
      throw new HullError('cannot start a container that has stopped');
    case 'running':
      throw new HullError('cannot start an already running container');
    default:
      throw new HullError(`cannot start a container in the ${status} state`);
  }
  const fifo = store.fifo(id);
  let fd: number;
  try {
    fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    // ENXIO: no reader, so the init is gone.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new HullError('cannot start a container that has stopped');
    throw e;
  }
  const poststart = (st.hull.hooks as import('./hooks').StoredHooks | undefined)?.poststart;
  try {
    fs.writeSync(fd, '0');
    // The init keeps a second reader of the fifo open through its startContainer hooks until just
    // before execve: poststart runs after that. pidfdWait is a plain poll(POLLIN), and a fifo's
    // write end reports POLLERR once the last reader is gone (or the init died).
    if (poststart) waitForExec(st, fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.unlinkSync(fifo);
  if (poststart) {
    const h = hooksLib();
    try {
      h.runHooks('poststart', poststart, h.hookState(st, 'running', st.pid));
    } catch (e) {
      // runtime-spec 1.3: a failing poststart hook is an error and the container is stopped;
      // `delete` then destroys it and runs the poststop hooks.
      killAndWait(st.pid, 10000);
      throw e;
    }
  }
  return st;
}

/** Until the fifo has no reader left (see startLocked); a frozen init cannot get there: no waiting for a resume. */
function waitForExec(st: StoredState, fifoFd: number): void {
  const n = nativeLib();
  while (!n.pidfdWait(fifoFd, 1000)) {
    try {
      if (cgroups().isFrozen(st.hull.cgroup)) return;
    } catch {
      return;
    }
  }
}

/* ---------------------------------------------------------------- kill */

/** Signal the init through a pidfd opened and then checked against the saved start time. */
function signalInit(st: StoredState, sig: number): void {
  const n = nativeLib();
  let pidfd: number;
  try {
    pidfd = n.pidfdOpen(st.pid);
  } catch {
    throw new HullError('container not running');
  }
  try {
    if (!initAlive(st)) throw new HullError('container not running');
    try {
      n.pidfdSendSignal(pidfd, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new HullError('container not running');
      throw e;
    }
  } finally {
    fs.closeSync(pidfd);
  }
}

export function kill(g: GlobalOptions, id: string, sig: number, all: boolean): void {
  const store = new Store(g.root);
  store.lock(id);
  const st = store.load(id);
  const status = statusOf(store, st);
  if (all) {
    cgroups().killAll(st.hull.cgroup, sig);
    return;
  }
  if (status === 'stopped') throw new HullError('container not running');
  signalInit(st, sig);
  // SIGKILL to a frozen (v1) container only lands after a thaw.
  if (status === 'paused' && sig === 9) cgroups().thaw(st.hull.cgroup);
}

/** SIGKILL and wait for the exit through a pidfd: no sleeping. Returns false on timeout. */
function killAndWait(pid: number, timeoutMs: number): boolean {
  const n = nativeLib();
  let pidfd: number;
  try {
    pidfd = n.pidfdOpen(pid);
  } catch {
    return true;
  }
  try {
    try {
      n.pidfdSendSignal(pidfd, 9);
    } catch {
      return true;
    }
    return n.pidfdWait(pidfd, timeoutMs);
  } finally {
    fs.closeSync(pidfd);
  }
}

/* ---------------------------------------------------------------- delete */

export async function del(g: GlobalOptions, id: string, force: boolean): Promise<void> {
  const store = new Store(g.root);
  validateId(id);
  if (!store.exists(id)) {
    if (force) return;
    throw new HullError(`container ${id} does not exist`);
  }
  store.lock(id);
  let st: StoredState;
  try {
    st = store.load(id);
  } catch (e) {
    // A half-made container (create killed before it wrote state): only --force cleans it.
    if (force && fs.existsSync(store.dir(id)) && !fs.existsSync(store.stateFile(id))) {
      store.remove(id);
      return;
    }
    if (!fs.existsSync(store.dir(id))) {
      if (force) return;
      throw new HullError(`container ${id} does not exist`);
    }
    throw e;
  }
  const status = statusOf(store, st);
  if ((status === 'running' || status === 'paused') && !force) {
    throw new HullError(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  await destroy(store, st, status);
  poststop(st);
}

/** poststop hooks, after the container is destroyed: failures are warnings, the rest still run. */
function poststop(st: StoredState): void {
  const hooks = (st.hull.hooks as import('./hooks').StoredHooks | undefined)?.poststop;
  if (!hooks) return;
  const h = hooksLib();
  h.runHooks('poststop', hooks, h.hookState(st, 'stopped'), logWarn);
}

async function destroy(store: Store, st: StoredState, status: Status): Promise<void> {
  const cg = cgroups();
  if (status !== 'stopped') {
    if (status === 'paused') {
      try { signalInit(st, 9); } catch { /* raced with exit */ }
      cg.thaw(st.hull.cgroup);
    }
    if (!killAndWait(st.pid, 10000)) throw new HullError(`container ${st.id}: init ${st.pid} did not exit after SIGKILL`);
  }
  // Without a private pid ns the init's death does not take the rest with it.
  try {
    if (cg.readPids(st.hull.cgroup).length) cg.killAll(st.hull.cgroup, 9);
  } catch { /* cgroup already gone */ }
  if (st.hull.systemdUnit) {
    // runc's order: stop the unit, then remove every cgroupfs dir whatever that said.
    const err = await (require('./cgroups/systemd') as typeof import('./cgroups/systemd')).stopUnit(st.hull.systemdUnit);
    if (err) logWarn(`systemd: ${err}`);
  }
  cg.removeDirs(st.hull.cgroup, 10000);
  store.remove(st.id);
}

/* ---------------------------------------------------------------- state, list */

export function state(g: GlobalOptions, id: string): PublicState {
  const store = new Store(g.root);
  validateId(id);
  const st = store.load(id);
  // runc's `state` leaves owner empty (its `list` fills it in); engines read neither.
  return { ...publicState(st, statusOf(store, st)), owner: '' };
}

export function list(g: GlobalOptions): PublicState[] {
  const store = new Store(g.root);
  const out: PublicState[] = [];
  for (const id of store.ids()) {
    let st: StoredState;
    try {
      st = store.load(id);
    } catch {
      continue; // half-made or being deleted
    }
    out.push(publicState(st, statusOf(store, st)));
  }
  return out;
}
