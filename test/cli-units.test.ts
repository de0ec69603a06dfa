import t from 'tap';
import { validateId } from '../lib/ids';
import { parseSignal } from '../lib/signals';
import { HullError } from '../lib/errors';
import { parseMountOptions, MS } from '../lib/mounts';
import { capSets, capNumber } from '../lib/capabilities';

t.test('container ids follow runc', async (t) => {
  for (const ok of ['a', 'abc-123', 'a_b.c+d', '007', '1e5', 'A'.repeat(64)]) t.equal(validateId(ok), ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a b', 'a\nb', 'é']) t.throws(() => validateId(bad), HullError, JSON.stringify(bad));
});

t.test('signals by number and by name', async (t) => {
  t.equal(parseSignal(undefined), 15);
  t.equal(parseSignal('9'), 9);
  t.equal(parseSignal('KILL'), 9);
  t.equal(parseSignal('SIGKILL'), 9);
  t.equal(parseSignal('sigterm'), 15);
  t.equal(parseSignal('HUP'), 1);
  t.equal(parseSignal('RTMIN+2'), 36);
  t.throws(() => parseSignal('NOPE'), /unknown signal/);
  t.throws(() => parseSignal('0'), /invalid signal/);
  t.throws(() => parseSignal('65'), /invalid signal/);
});

t.test('mount options become flags, propagation and data', async (t) => {
  const m = parseMountOptions('tmpfs', ['nosuid', 'strictatime', 'mode=755', 'size=65536k'], 'x');
  t.equal(m.flags, MS.NOSUID | MS.STRICTATIME);
  t.equal(m.data, 'mode=755,size=65536k');
  t.notOk(m.bind);
  const b = parseMountOptions('none', ['rbind', 'ro', 'rprivate'], 'x');
  t.equal(b.flags, MS.BIND | MS.REC | MS.RDONLY);
  t.equal(b.propagation, MS.PRIVATE | MS.REC);
  t.ok(b.bind);
  t.equal(parseMountOptions('bind', ['ro', 'rw'], 'x').flags, MS.BIND, 'rw clears ro; type bind means MS_BIND');
  t.throws(() => parseMountOptions('bind', ['rro'], 'mounts[0]'), /not supported/);
});

t.test('unknown capabilities warn and are skipped, never fatal', async (t) => {
  const warnings: string[] = [];
  const s = capSets({ bounding: ['CAP_KILL', 'CAP_FOO'], effective: ['CAP_KILL'], inheritable: [] }, (w) => warnings.push(w));
  t.equal(s.bounding, 1n << BigInt(capNumber('CAP_KILL')!));
  t.equal(s.inheritable, 0n, 'inheritable stays empty unless asked');
  t.match(warnings, [/unknown capability "CAP_FOO"/]);
});
