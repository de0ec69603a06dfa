import { HullError } from './errors';

// runc's rule: letters, digits and _ + - . only; never "." or "..", so an id is always one path component.
const ID_RE = /^[A-Za-z0-9_+\-.]+$/;

export function validateId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new HullError('container id cannot be empty');
  if (!ID_RE.test(id) || id === '.' || id === '..') throw new HullError(`invalid container id format: ${id}`);
  if (id.length > 1024) throw new HullError('container id is too long');
  return id;
}
