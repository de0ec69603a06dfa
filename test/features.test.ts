// `hull features`: a valid runtime-spec features document that says what this build really does.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPS } from '../lib/capabilities';
import { parseMountOptions } from '../lib/mounts';
import { CLONE_FLAGS } from '../lib/planner';
import { SECCOMP_FLAGS, SECCOMP_OPS } from '../lib/seccomp';
import { validateFeatures } from '../lib/validate';

const REPO = path.join(__dirname, '..');
const HULL = path.join(REPO, 'bin', 'hull');

function hullFeatures(): { code: number | null; out: string; err: string } {
  const r = spawnSync(HULL, ['features'], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('hull features: a valid document, honest about this build', async (t) => {
  const r = hullFeatures();
  t.equal(r.code, 0, 'exit 0', { stderr: r.err });
  t.equal(r.err, '', 'nothing on stderr');
  const f = JSON.parse(r.out);
  t.same(validateFeatures(f), [], 'validates against the features schema');

  t.equal(f.ociVersionMin, '1.0.0');
  t.equal(f.ociVersionMax, '1.3.0');
  t.same(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'], 'every hook kind');

  // mount options: exactly the candidates lib/mounts.ts turns into flags/propagation
  const flagOnly = (o: string) => {
    try { return parseMountOptions(undefined, [o], 'test').data === ''; } catch { return false; }
  };
  for (const o of f.mountOptions) t.ok(flagOnly(o), `mount option ${o} is handled by lib/mounts.ts`);
  for (const o of ['ro', 'rw', 'bind', 'rbind', 'nosuid', 'rprivate', 'rslave', 'shared', 'remount', 'nosymfollow']) {
    t.ok(f.mountOptions.includes(o), `lists ${o}`);
  }
  t.notOk(f.mountOptions.includes('acl'), 'a filesystem data option is not a mount option hull handles');
  for (const o of ['rro', 'tmpcopyup', 'idmap']) t.equal(f.mountOptions.includes(o), flagOnly(o), `${o} listed iff supported`);
  t.equal(f.linux.mountExtensions.idmap.enabled, flagOnly('idmap'), 'idmap mounts iff the option is supported');

  t.same([...f.linux.namespaces].sort(), Object.keys(CLONE_FLAGS).sort(), 'namespaces the planner knows');
  t.ok(f.linux.namespaces.includes('time'), 'time namespace');
  t.same(f.linux.capabilities, [...CAPS], 'capabilities');
  t.same(f.linux.cgroup, { v1: true, v2: true, systemd: fs.existsSync('/run/systemd/system'), systemdUser: false, rdma: true }, 'cgroup drivers (systemd where it runs: test/systemd.test.ts)');

  const sc = f.linux.seccomp;
  t.equal(sc.enabled, true);
  t.same(sc.operators, Object.keys(SECCOMP_OPS));
  t.same(sc.knownFlags, Object.keys(SECCOMP_FLAGS));
  t.ok(sc.supportedFlags.every((x: string) => sc.knownFlags.includes(x)), 'supported flags are known flags');
  t.notOk(sc.supportedFlags.includes('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') && /^2\.5\./.test(f.annotations['io.github.seccomp.libseccomp.version']), 'no WAIT_KILLABLE_RECV with libseccomp 2.5');
  t.ok(sc.actions.includes('SCMP_ACT_ERRNO') && sc.actions.includes('SCMP_ACT_KILL_PROCESS'), 'actions');
  t.notOk(sc.actions.includes('SCMP_ACT_NOTIFY'), 'notify is not supported by the bootstrap yet');
  if (process.arch === 'x64') {
    for (const a of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']) t.ok(sc.archs.includes(a), a);
  }
  t.same(f.linux.apparmor, { enabled: false });
  t.same(f.linux.selinux, { enabled: false });
  t.same(f.linux.intelRdt, { enabled: false });
  t.same(f.potentiallyUnsafeConfigAnnotations, [], 'hull acts on no config annotation');

  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  t.equal(f.annotations['io.github.hull.version'], pkg.version);
  const lib = spawnSync('pkg-config', ['--modversion', 'libseccomp'], { encoding: 'utf8' });
  if (lib.status === 0) t.equal(f.annotations['io.github.seccomp.libseccomp.version'], lib.stdout.trim(), 'the libseccomp in use');
  else t.match(f.annotations['io.github.seccomp.libseccomp.version'], /^\d+\.\d+\.\d+$/);

  // The kernel/libseccomp-supported flags agree with what runc (same host, same libseccomp) reports,
  // when runc is here to ask.
  const runc = spawnSync('runc', ['features'], { encoding: 'utf8' });
  if (runc.status === 0) {
    const rf = JSON.parse(runc.stdout);
    const rArchs: string[] = rf.linux?.seccomp?.archs ?? [];
    t.ok(rArchs.every((a) => sc.archs.includes(a)), 'every arch runc\'s libseccomp knows', { runc: rArchs, hull: sc.archs });
  }
});

t.test('the validator used above rejects broken documents', async (t) => {
  const f = JSON.parse(hullFeatures().out);
  t.not(validateFeatures({ ...f, ociVersionMax: '0.9.0' }).length, 0, 'max below min');
  t.not(validateFeatures({ ...f, linux: { ...f.linux, seccomp: { ...f.linux.seccomp, actions: ['SCMP_ACT_BOGUS'] } } }).length, 0, 'unknown action');
  t.not(validateFeatures({ ...f, hooks: 'prestart' }).length, 0, 'hooks not an array');
});
