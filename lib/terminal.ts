// Terminals hull relays itself: `run` in the foreground and `exec` without --detach, when the process
// asks for a terminal and no --console-socket was given (runc does the same). hull listens on a
// private unix socket, the bootstrap sends it the pty master exactly as it would to an engine's
// console socket, and hull copies bytes both ways: its stdin (raw mode when it is a terminal) to the
// master, the master to its stdout. Window-size changes (SIGWINCH) go to the pty; the kernel then
// signals the container's foreground group itself.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { HullError } from './errors';
import { logDebug } from './log';
import { native } from './native';

/** A private console socket: a 0700 temp dir holding one listening unix socket. */
export class ConsoleReceiver {
  readonly dir: string;
  readonly path: string;
  private fd = -1;

  constructor() {
    let base = os.tmpdir();
    // sun_path holds 108 bytes; a long TMPDIR falls back to /tmp.
    if (base.length > 60) base = '/tmp';
    this.dir = fs.mkdtempSync(path.join(base, 'hull-console-'));
    this.path = path.join(this.dir, 'console.sock');
    try {
      this.fd = native().unixListen(this.path);
    } catch (e) {
      this.close();
      throw new HullError(`console socket ${this.path}: ${(e as Error).message}`);
    }
  }

  /**
   * The pty master, once the bootstrap has reported success: by then it has connected and sent it
   * (a unix connect completes in the listen backlog, before any accept), so this never waits long.
   */
  receive(timeoutMs = 5000): { fd: number; name: string } {
    try {
      return native().recvFd(this.fd, timeoutMs);
    } catch (e) {
      throw new HullError(`receive the pty master on ${this.path}: ${(e as Error).message}`);
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* closed */ }
      this.fd = -1;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RelayOptions {
  /** process.consoleSize: already applied by the bootstrap; otherwise hull's own size is copied */
  consoleSize?: { height: number; width: number };
  /** fds of hull's side (tests); default 0 and 1 */
  input?: number;
  output?: number;
}

export interface Relay {
  /** After the process has exited: wait for the rest of its output (EOF on the master, or quiet). */
  drain(idleMs?: number, maxMs?: number): Promise<void>;
  /** Restore the terminal, stop copying, close the master. Idempotent. */
  stop(): void;
}

const sleepBuf = new Int32Array(new SharedArrayBuffer(4));

/** Write all of buf to fd, synchronously; a non-blocking fd that is full is retried. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(sleepBuf, 0, 0, 2);
    }
  }
}

/** Size of hull's own terminal (stdin, else stdout), or null. A 0x0 size counts as none. */
export function hostSize(input = 0, output = 1): { rows: number; cols: number } | null {
  const n = native();
  for (const fd of [input, output]) {
    const ws = n.getWinsize(fd);
    if (ws && ws.rows > 0 && ws.cols > 0) return ws;
  }
  return null;
}

export function startRelay(masterFd: number, o: RelayOptions = {}): Relay {
  const input = o.input ?? 0;
  const output = o.output ?? 1;
  const n = native();
  let stopped = false;
  let ended = false;
  let lastData = Date.now();
  let onEnd: (() => void) | undefined;
  const endedP = new Promise<void>((res) => { onEnd = res; });
  const markEnded = () => {
    if (!ended) {
      ended = true;
      onEnd!();
    }
  };

  // The master: a libuv tty handle (non-blocking, epoll-driven). EIO on read = every slave is closed.
  const master = new tty.ReadStream(masterFd);
  master.on('data', (chunk: Buffer) => {
    lastData = Date.now();
    try {
      writeAll(output, chunk);
    } catch (e) {
      logDebug(`terminal: write to fd ${output}: ${(e as Error).message}`);
    }
  });
  master.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EIO') logDebug(`terminal: read pty master: ${e.message}`);
    markEnded();
  });
  master.on('end', markEnded);
  master.on('close', markEnded);
  master.resume();

  // hull's stdin. A terminal goes through libuv's tty handle, which reopens the device, so neither
  // raw mode nor O_NONBLOCK leaks onto the caller's open file description. Anything else is read
  // with blocking reads on the thread pool (no O_NONBLOCK on a pipe we share).
  let inStream: NodeJS.ReadableStream & { destroy(): void };
  let saved: Buffer | null = null;
  if (tty.isatty(input)) {
    // cfmakeraw, as runc: libuv's raw mode keeps ONLCR, which would turn the pty's \r\n into \r\r\n.
    try {
      saved = n.makeRaw(input);
    } catch (e) {
      logDebug(`terminal: raw mode: ${(e as Error).message}`);
    }
    inStream = new tty.ReadStream(input);
  } else {
    inStream = fs.createReadStream('', { fd: input, autoClose: false });
  }
  inStream.on('data', (chunk: Buffer | string) => {
    if (!stopped && !ended) master.write(chunk);
  });
  // EOF on stdin: runc leaves the pty open (the process decides when to exit); so does hull.
  inStream.on('error', (e: Error) => logDebug(`terminal: read stdin: ${e.message}`));

  const resize = () => {
    const ws = hostSize(input, output);
    if (!ws) return;
    try {
      n.setWinsize(masterFd, ws.rows, ws.cols);
    } catch (e) {
      logDebug(`terminal: resize: ${(e as Error).message}`);
    }
  };
  // Whatever happens next, the caller's terminal is not left raw.
  const restore = () => {
    if (saved) try { n.restoreTermios(input, saved); } catch { /* gone */ }
  };
  if (saved) process.on('exit', restore);
  if (!o.consoleSize) resize();
  process.on('SIGWINCH', resize);

  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('SIGWINCH', resize);
    if (saved) {
      try { n.restoreTermios(input, saved); } catch { /* gone */ }
      process.off('exit', restore);
    }
    inStream.destroy();
    master.destroy();
  };

  return {
    async drain(idleMs = 150, maxMs = 2000) {
      const deadline = Date.now() + maxMs;
      lastData = Date.now(); // give the last bytes (and the EIO after them) a moment to arrive
      while (!ended && Date.now() < deadline) {
        const idle = Date.now() - lastData;
        if (idle >= idleMs) break;
        await Promise.race([endedP, new Promise((r) => setTimeout(r, Math.min(idleMs - idle, deadline - Date.now())))]);
      }
    },
    stop,
  };
}
