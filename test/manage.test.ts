import t from 'tap';
import { parseBytes, parseInterval, resourcesFromFlags } from '../lib/manage';

t.test('sizes as runc reads them', async (t) => {
  t.equal(parseBytes('1024'), 1024);
  t.equal(parseBytes('128m'), 128 * 1024 * 1024);
  t.equal(parseBytes('1G'), 1024 ** 3);
  t.equal(parseBytes('-1'), -1);
  t.throws(() => parseBytes('lots'), /invalid size/);
});

t.test('intervals', async (t) => {
  t.equal(parseInterval('5s'), 5000);
  t.equal(parseInterval('250ms'), 250);
  t.equal(parseInterval('2'), 2000);
  t.throws(() => parseInterval('0s'), /greater than 0/);
  t.throws(() => parseInterval('soon'), /invalid interval/);
});

t.test('update flags map onto LinuxResources, over --resources', async (t) => {
  const r = resourcesFromFlags({ resources: '-', memory: '64m', 'pids-limit': '50', 'cpu-quota': '25000', 'cpuset-cpus': '0' },
    () => '{"memory":{"swap":134217728},"cpu":{"period":100000}}');
  t.same(r, { memory: { swap: 134217728, limit: 64 * 1024 * 1024 }, cpu: { period: 100000, quota: 25000, cpus: '0' }, pids: { limit: 50 } });
  t.throws(() => resourcesFromFlags({ resources: '-' }, () => '[1]'), /JSON object/);
  t.throws(() => resourcesFromFlags({ resources: '-' }, () => '{'), /invalid resources JSON/);
  t.throws(() => resourcesFromFlags({ 'cpu-share': 'x' }, () => ''), /invalid value for --cpu-share/);
  t.throws(() => resourcesFromFlags({ 'mem-bw-schema': 'MB:0=20' }, () => ''), /Intel RDT/);
});
