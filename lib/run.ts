// `hull run`: create + start, then (unless --detach) wait for the init as its subreaper, forward
// signals to it, delete the container and exit with its code (128+N for signal N). A terminal
// without --console-socket is relayed by hull itself (lib/terminal.ts).
import * as path from 'node:path';
import { HullError } from './errors';
import { create, CreateOptions, del, GlobalOptions, loadConfig, start } from './lifecycle';
import { logDebug, logWarn } from './log';
import { native } from './native';
import type { ConsoleReceiver, Relay } from './terminal';

export interface RunOptions extends CreateOptions {
  detach: boolean;
  keep: boolean;
  noSubreaper: boolean;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function run(g: GlobalOptions, o: RunOptions): Promise<number> {
  const n = native();
  // The init is P's child (CLONE_PARENT); when P exits it is reparented to us.
  if (!o.detach && !o.noSubreaper) n.setChildSubreaper();
  // runc's rule: a console socket only for a detached terminal; in the foreground hull holds the pty.
  let receiver: ConsoleReceiver | undefined;
  let consoleSize: { height: number; width: number } | undefined;
  if (!o.detach) {
    if (o.consoleSocket) throw new HullError('cannot use console socket if hull will not detach or allocate tty');
    let spec: any;
    try {
      spec = loadConfig(path.resolve(o.bundle));
    } catch { /* create reports it */ }
    if (spec?.process?.terminal === true) {
      const { ConsoleReceiver } = require('./terminal') as typeof import('./terminal');
      receiver = new ConsoleReceiver();
      consoleSize = spec.process.consoleSize;
    }
  }
  let relay: Relay | undefined;
  let st;
  try {
    st = await create(g, receiver ? { ...o, consoleSocket: receiver.path } : o);
    if (receiver) {
      // Sent during create, before the init blocked on exec.fifo: take it before the process runs.
      let master;
      try {
        master = receiver.receive();
      } catch (e) {
        await del(g, o.id, true);
        throw e;
      }
      logDebug(`terminal: ${master.name}`);
      relay = (require('./terminal') as typeof import('./terminal')).startRelay(master.fd, { consoleSize });
    }
  } finally {
    receiver?.close();
  }
  try {
    start(g, o.id);
  } catch (e) {
    relay?.stop();
    await del(g, o.id, true);
    throw e;
  }
  if (o.detach) return 0;
  const handlers = FORWARDED.filter((sig) => !(relay && sig === 'SIGWINCH')).map((sig) => {
    const h = () => {
      try { process.kill(st.pid, sig); } catch { /* already gone */ }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  let code: number;
  try {
    if (o.noSubreaper) {
      const fd = n.pidfdOpen(st.pid);
      n.pidfdWait(fd, -1);
      logWarn('exit status is not available with --no-subreaper');
      code = 255;
    } else {
      const ws = await n.waitpid(st.pid);
      code = ws.signal !== null ? 128 + ws.signal : ws.code ?? 255;
    }
    if (relay) await relay.drain();
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    relay?.stop();
  }
  if (!o.keep) await del(g, o.id, true);
  return code;
}
