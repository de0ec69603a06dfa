// One error type for everything the user should see as a single line.
import { getSystemErrorMap } from 'node:util';

export class HullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HullError';
  }
}

// glibc's strerror texts, lower case (what runc prints and clients match); libuv words some differently.
const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
  EEXIST: 'file exists', ENOTDIR: 'not a directory', EISDIR: 'is a directory', EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument', ESRCH: 'no such process', ENOSPC: 'no space left on device', EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links', EAGAIN: 'resource temporarily unavailable',
  ENOTEMPTY: 'directory not empty', EOPNOTSUPP: 'operation not supported', ENOTSUP: 'operation not supported',
  ENODEV: 'no such device', ERANGE: 'numerical result out of range', ENOEXEC: 'exec format error', ETXTBSY: 'text file busy',
};

/**
 * Go-style errno text: "no such file or directory". By the error's code (glibc's words), else libuv's
 * description of its errno in lower case, else its message.
 */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && STRERROR[e.code]) return STRERROR[e.code]!;
  if (e && typeof e.errno === 'number') {
    const m = getSystemErrorMap().get(e.errno);
    if (m) return m[1].toLowerCase();
  }
  return e && e.message ? e.message : String(err);
}
