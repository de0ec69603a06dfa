// `hull run`: create + start, then (unless --detach) wait for the init as its subreaper, forward
// signals to it, delete the container and exit with its code (128+N for signal N).
import { create, CreateOptions, del, GlobalOptions, start } from './lifecycle';
import { logWarn } from './log';
import { native } from './native';

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
  const st = await create(g, o);
  try {
    start(g, o.id);
  } catch (e) {
    del(g, o.id, true);
    throw e;
  }
  if (o.detach) return 0;
  const handlers = FORWARDED.map((sig) => {
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
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
  if (!o.keep) del(g, o.id, true);
  return code;
}
