// Typed surface of build/Release/hull_addon.node: only what Node itself cannot do.
// Loaded lazily: commands that never need it do not pay for dlopen.
import * as path from 'node:path';

export interface WaitStatus {
  /** exit code when the process exited normally */
  code: number | null;
  /** signal number when it was killed by a signal */
  signal: number | null;
}

export interface HullNative {
  /** flock(2). op: 'sh' | 'ex' | 'un'. Returns false when nonblock and the lock is held. Throws Error with .code = 'EXXX' otherwise. */
  flock(fd: number, op: 'sh' | 'ex' | 'un', nonblock: boolean): boolean;
  /** pidfd_open(pid, 0). Throws with .code ('ESRCH' when gone). The fd is O_CLOEXEC. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(pidfd, sig, NULL, 0). Throws with .code ('ESRCH' when exited). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** poll() the pidfd until the process exits or timeoutMs passes (-1 = forever). true when it exited. */
  pidfdWait(pidfd: number, timeoutMs: number): boolean;
  /** prctl(PR_SET_CHILD_SUBREAPER, 1). */
  setChildSubreaper(): void;
  /** waitpid(pid, 0) on a worker thread: resolves with how it ended. Rejects with .code on error. */
  waitpid(pid: number): Promise<WaitStatus>;
  /** waitpid(pid, WNOHANG): null when still running. */
  waitpidNoHang(pid: number): WaitStatus | null;
  /** A listening AF_UNIX stream socket bound at path (O_CLOEXEC). */
  unixListen(path: string): number;
  /** Accept one connection on listenFd and receive exactly one fd (O_CLOEXEC) and its text payload. Throws ETIMEDOUT, EPROTO. */
  recvFd(listenFd: number, timeoutMs: number): { fd: number; name: string };
  /** TIOCGWINSZ; null when fd is not a terminal. */
  getWinsize(fd: number): { rows: number; cols: number } | null;
  /** TIOCSWINSZ. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** cfmakeraw on a terminal; returns the previous termios (for restoreTermios), null when not a terminal. */
  makeRaw(fd: number): Buffer | null;
  restoreTermios(fd: number, saved: Buffer): void;
}

let cached: HullNative | undefined;

export function buildDir(): string {
  return path.join(__dirname, '..', 'build', 'Release');
}

export function native(): HullNative {
  if (!cached) cached = require(path.join(buildDir(), 'hull_addon.node')) as HullNative;
  return cached;
}

export function bootstrapPath(): string {
  return path.join(buildDir(), 'hull-bootstrap');
}
