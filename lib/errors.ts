// One error type for everything the user should see as a single line.
export class HullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HullError';
  }
}

/** Go-style errno text: "no such file or directory", as runc prints and clients match. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const map: Record<string, string> = {
    ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
    EEXIST: 'file exists', ENOTDIR: 'not a directory', EISDIR: 'is a directory', EBUSY: 'device or resource busy',
    EINVAL: 'invalid argument', ESRCH: 'no such process', ENOSPC: 'no space left on device', EROFS: 'read-only file system',
    ELOOP: 'too many levels of symbolic links', EAGAIN: 'resource temporarily unavailable',
  };
  if (e && typeof e.code === 'string' && map[e.code]) return map[e.code];
  return e && e.message ? e.message : String(err);
}
