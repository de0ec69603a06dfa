// exec's pure parts (flag parsing, process merging, sub-cgroups, the plan it builds) and the console
// receiver's native side (one fd exactly, timeouts), without a container.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import {
  execOptionsFromArgv, execProcess, execRecords, ExecOptions, mergeEnv, parseAdditionalGid, parseUser, subCgroupDirs,
  validateProcess,
} from '../lib/exec';
import { decodePlan, encodePlan } from '../lib/plan';
import type { StoredState } from '../lib/state';
import { ConsoleReceiver } from '../lib/terminal';

const opts = (o: Partial<ExecOptions> = {}): ExecOptions => ({
  id: 'c1', args: ['sh'], detach: false, env: [], additionalGids: [], caps: [], preserveFds: 0, ignorePaused: false, cgroup: [], ...o,
});

const container = {
  args: ['sleep', '1000'], cwd: '/', env: ['PATH=/bin', 'TERM=xterm'], user: { uid: 0, gid: 0 }, terminal: true,
  consoleSize: { height: 10, width: 20 }, noNewPrivileges: true, oomScoreAdj: 100,
  capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }],
};

t.test('--user: numbers only, within 0..2^31-1', async (t) => {
  t.same(parseUser('1000'), { uid: 1000 });
  t.same(parseUser('1000:1001'), { uid: 1000, gid: 1001 });
  t.same(parseUser('0:0'), { uid: 0, gid: 0 });
  t.same(parseUser('2147483647'), { uid: 2147483647 });
  for (const bad of ['1000:1000x', 'abc', '', '1000:', ':5', '-1', '+5', '1e3', '4294967296', '4294967295', '2147483648', ' 1', 'root']) {
    t.throws(() => parseUser(bad), { name: 'HullError' }, `refused: ${JSON.stringify(bad)}`);
  }
  t.throws(() => parseUser('1000:1000x'), /parsing 1000x as int for gid failed/, 'runc\'s text');
  t.throws(() => parseUser('4294967296'), /uids and gids must be in range 0-2147483647/, 'range text');
});

t.test('--additional-gids', async (t) => {
  t.equal(parseAdditionalGid('10'), 10);
  t.throws(() => parseAdditionalGid('-1'), /additional-gids must be a positive number -1/);
  t.throws(() => parseAdditionalGid('abc'), /invalid value "abc" for flag -g/);
  t.throws(() => parseAdditionalGid('4294967296'), /range/);
});

t.test('env: later names replace earlier ones in place; malformed entries refused', async (t) => {
  t.same(mergeEnv(['A=1', 'B=2', 'C=3'], ['B=x', 'D=4', 'A=']), ['A=', 'B=x', 'C=3', 'D=4']);
  t.same(mergeEnv(['X=a=b'], []), ['X=a=b'], 'value with =');
  t.throws(() => mergeEnv([], ['NOEQ']), /invalid environment variable/);
  t.throws(() => mergeEnv([], ['=v']), /name cannot be empty/);
});

t.test('process validation: runc\'s texts and shapes', async (t) => {
  t.doesNotThrow(() => validateProcess({ args: ['a'], cwd: '/' }));
  t.throws(() => validateProcess(null), /process property must not be empty/);
  t.throws(() => validateProcess({ args: ['a'] }), /Cwd property must not be empty/);
  t.throws(() => validateProcess({ args: ['a'], cwd: 'rel' }), /Cwd must be an absolute path/);
  t.throws(() => validateProcess({ args: [], cwd: '/' }), /args must not be empty/);
  t.throws(() => validateProcess({ args: [1], cwd: '/' }), /args/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', env: 'A=1' }), /env/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', user: { uid: -1 } }), /uid/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', user: { uid: 4294967295 } }), /range/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', capabilities: { bounding: 'CAP_KILL' } }), /capabilities/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1 }] }), /rlimits/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', consoleSize: { height: 70000, width: 1 } }), /consoleSize/);
  t.throws(() => validateProcess({ args: ['a'], cwd: '/', terminal: 'yes' }), /terminal/);
});

t.test('args mode: the container\'s process with args and flags on top', async (t) => {
  const p = execProcess(opts({ args: ['ls', '-l'], env: ['TERM=dumb', 'X=1'], cwd: '/tmp', user: '5:6', additionalGids: ['7'] }), container);
  t.same(p.args, ['ls', '-l']);
  t.same(p.env, ['PATH=/bin', 'TERM=dumb', 'X=1'], 'env appended, TERM replaced in place');
  t.equal(p.cwd, '/tmp');
  t.same(p.user, { uid: 5, gid: 6, additionalGids: [7] });
  t.equal(p.terminal, false, 'terminal only with --tty (runc)');
  t.equal(p.noNewPrivileges, true, 'no_new_privs from the container');
  t.equal(p.oomScoreAdj, 100, 'oomScoreAdj from the container');
  t.same(p.rlimits, container.rlimits, 'rlimits from the container');
  t.equal(container.args[0], 'sleep', 'the container\'s process is not modified');
  t.equal(execProcess(opts({ tty: true }), container).terminal, true, '--tty');
  t.equal(execProcess(opts({ noNewPrivs: false }), container).noNewPrivileges, false, '--no-new-privs=false');
  t.same(execProcess(opts({ user: '9' }), container).user, { uid: 9, gid: 0 }, 'uid only keeps the gid');
  t.throws(() => execProcess(opts({ args: [] }), container), /process args cannot be empty/);
  t.throws(() => execProcess(opts({ cwd: 'rel' }), container), /Cwd must be an absolute path/);
});

t.test('--cap: bounding, effective, permitted; never inheritable; ambient only with an inheritable set', async (t) => {
  let p = execProcess(opts({ caps: ['CAP_SYS_ADMIN'] }), container);
  t.same(p.capabilities.bounding, ['CAP_KILL', 'CAP_SYS_ADMIN']);
  t.same(p.capabilities.effective, ['CAP_KILL', 'CAP_SYS_ADMIN']);
  t.same(p.capabilities.permitted, ['CAP_KILL', 'CAP_SYS_ADMIN']);
  t.equal(p.capabilities.inheritable, undefined, 'no inheritable set made up (CVE-2022-29162)');
  t.equal(p.capabilities.ambient, undefined, 'no ambient without inheritable');
  p = execProcess(opts({ caps: ['CAP_CHOWN'] }), { ...container, capabilities: { ...container.capabilities, inheritable: ['CAP_KILL'] } });
  t.same(p.capabilities.inheritable, ['CAP_KILL'], 'the container\'s inheritable set is not extended');
  t.same(p.capabilities.ambient, ['CAP_CHOWN'], 'ambient gets it when an inheritable set exists (runc)');
  t.equal(container.capabilities.bounding.length, 1, 'the container\'s process is not modified');
});

t.test('--process file: the whole process; flags ignored; missing caps/rlimits/oom from the container', async (t) => {
  const dir = fs.mkdtempSync('/tmp/hull-exec-unit-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = `${dir}/p.json`;
  fs.writeFileSync(f, JSON.stringify({ args: ['id'], cwd: '/etc', env: ['A=1'] }));
  const p = execProcess(opts({ process: f, env: ['B=2'], user: '7', cwd: '/x', tty: true }), container);
  t.same(p.args, ['id']);
  t.same(p.env, ['A=1'], '-e ignored with --process (runc)');
  t.equal(p.cwd, '/etc');
  t.equal(p.user, undefined, '-u ignored');
  t.equal(p.terminal, undefined, '--tty ignored: terminal comes from the file');
  t.equal(p.noNewPrivileges, undefined, 'absent noNewPrivileges is false (Go\'s zero value, as runc)');
  t.same(p.capabilities, container.capabilities, 'capabilities default to the container\'s');
  t.same(p.rlimits, container.rlimits, 'rlimits default to the container\'s');
  t.equal(p.oomScoreAdj, 100);
  fs.writeFileSync(f, '{not json');
  t.throws(() => execProcess(opts({ process: f }), container), /invalid JSON/);
  t.throws(() => execProcess(opts({ process: `${dir}/missing` }), container), /no such file or directory/);
  fs.writeFileSync(f, JSON.stringify({ args: ['id'], cwd: '/', apparmorProfile: 'x' }));
  t.throws(() => execProcess(opts({ process: f }), container), /apparmor/i, 'an AppArmor profile is an error');
  fs.writeFileSync(f, JSON.stringify({ args: ['id'], cwd: '/', selinuxLabel: 'x' }));
  t.doesNotThrow(() => execProcess(opts({ process: f }), container), 'a SELinux label is ignored');
});

t.test('--cgroup: runc\'s grammar, always below the container\'s cgroup', async (t) => {
  const cg = {
    hierarchies: [
      { kind: 'v1' as const, controllers: ['memory'], mountpoint: '/sys/fs/cgroup/memory', root: '/' },
      { kind: 'v1' as const, controllers: ['cpu', 'cpuacct'], mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' },
      { kind: 'v1' as const, controllers: ['name=systemd'], mountpoint: '/sys/fs/cgroup/systemd', root: '/' },
      { kind: 'v2' as const, controllers: [], mountpoint: '/sys/fs/cgroup/unified', root: '/' },
    ],
    dirs: ['/sys/fs/cgroup/memory/c', '/sys/fs/cgroup/cpu,cpuacct/c', '/sys/fs/cgroup/systemd/c', '/sys/fs/cgroup/unified/c'],
  };
  t.same(subCgroupDirs(cg, []), cg.dirs);
  t.same(subCgroupDirs(cg, ['s']), cg.dirs.map((d) => `${d}/s`), 'no controller: every hierarchy');
  t.same(subCgroupDirs(cg, ['memory,cpu:s', 'systemd:t']), ['/sys/fs/cgroup/memory/c/s', '/sys/fs/cgroup/cpu,cpuacct/c/s', '/sys/fs/cgroup/systemd/c/t', '/sys/fs/cgroup/unified/c']);
  t.same(subCgroupDirs(cg, ['memory:a/../b']), ['/sys/fs/cgroup/memory/c/b', ...cg.dirs.slice(1)], 'cleaned');
  t.throws(() => subCgroupDirs(cg, ['../x']), /not a sub cgroup path/);
  t.throws(() => subCgroupDirs(cg, ['memory:../../x']), /not a sub cgroup path/);
  t.throws(() => subCgroupDirs(cg, ['a', 'b']), /missing <controller>: prefix/);
  t.throws(() => subCgroupDirs(cg, ['a:b:c']), /invalid --cgroup argument/);
  t.throws(() => subCgroupDirs(cg, [':x']), /empty <controller> prefix/);
  t.throws(() => subCgroupDirs(cg, ['memory:a', 'memory:b']), /specified multiple times/);
  t.throws(() => subCgroupDirs(cg, ['blkio:a']), /unknown controller blkio/);
});

t.test('the exec plan: user namespace first, joined by path, no rootfs setup, no fifo', async (t) => {
  const st = {
    id: 'c1', rootfs: '/r', hull: {
      namespaces: { pid: '/proc/9/ns/pid', mount: '/proc/9/ns/mnt', user: '/proc/9/ns/user', network: '/proc/9/ns/net' },
      cgroup: { hierarchies: [], dirs: ['/sys/fs/cgroup/memory/c'] },
    },
  } as unknown as StoredState;
  const p = execProcess(opts({ args: ['true'] }), container);
  const recs = decodePlan(encodePlan(execRecords({ root: '', systemdCgroup: false, rootless: false, debug: false }, st, p, {
    cgroupDirs: ['/sys/fs/cgroup/memory/c'], consoleSocket: '/tmp/s', noNewKeyring: true, preserveFds: 2,
  })));
  const types = recs.map((r) => r.type);
  const ns = recs.filter((r) => r.type === 5).map((r) => r.payload.subarray(4, r.payload.length - 1).toString());
  t.same(ns, ['/proc/9/ns/user', '/proc/9/ns/mnt', '/proc/9/ns/pid', '/proc/9/ns/net'], 'user first, all by path');
  t.notOk(types.includes(27), 'no EXEC_FIFO');
  t.notOk(types.some((x) => x === 11 || x === 12 || x === 13 || x === 14 || x === 6), 'no mounts, masks, devices, maps');
  t.ok(types.includes(9) && types.includes(28) && types.includes(29), 'cgroup, no-new-keyring, preserve-fds');
  t.notOk(types.includes(37), 'no terminal unless asked');
  const term = decodePlan(encodePlan(execRecords({ root: '', systemdCgroup: false, rootless: false, debug: true }, st, { ...p, terminal: true }, {
    cgroupDirs: [], consoleSocket: '/tmp/s', noNewKeyring: false, preserveFds: 0,
  }))).map((r) => r.type);
  t.ok(term.includes(37) && term.includes(34) && term.includes(35) && term.includes(33), 'terminal, console socket, size, debug');
  t.throws(() => execRecords({ root: '', systemdCgroup: false, rootless: false, debug: false },
    { ...st, hull: { ...st.hull, namespaces: { pid: '/proc/9/ns/pid' } } } as StoredState, p,
    { cgroupDirs: [], noNewKeyring: false, preserveFds: 0 }), /no mount namespace/);
});

t.test('argv -> options: repeated flags, last value wins for single ones', async (t) => {
  const o = execOptionsFromArgv({ id: 'x', env: ['A=1', 'B=2'], cap: 'CAP_KILL', cwd: ['/a', '/b'], tty: true, 'preserve-fds': '2', 'additional-gids': '5' }, ['ls']);
  t.same(o.env, ['A=1', 'B=2']);
  t.same(o.caps, ['CAP_KILL']);
  t.equal(o.cwd, '/b');
  t.equal(o.tty, true);
  t.equal(o.noNewPrivs, undefined);
  t.equal(o.preserveFds, 2);
  t.same(o.additionalGids, ['5']);
  t.throws(() => execOptionsFromArgv({ id: 'x', 'preserve-fds': '-1' }, []), /preserve-fds/);
});

t.test('console receiver: exactly one fd, a timeout, a private socket', { skip: !fs.existsSync('/usr/bin/python3') && 'no python3' }, async (t) => {
  let rcv = new ConsoleReceiver();
  t.equal(fs.statSync(rcv.dir).mode & 0o777, 0o700, 'private dir');
  t.ok(fs.statSync(rcv.path).isSocket(), 'a socket');
  const t0 = Date.now();
  t.throws(() => rcv.receive(100), /ETIMEDOUT|timed out/i, 'nobody connects: times out');
  t.ok(Date.now() - t0 < 2000, 'promptly');
  t.notOk(fs.existsSync(rcv.dir), 'removed after receive');

  const send = (sock: string, nfds: number) => new Promise<void>((res) => {
    const py = `import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(int(sys.argv[2]))]
socket.send_fds(s, [b'/dev/pts/7'], fds)
s.close()`;
    spawn('/usr/bin/python3', ['-c', py, sock, String(nfds)], { stdio: 'inherit' }).on('close', () => res());
  });
  rcv = new ConsoleReceiver();
  await send(rcv.path, 1);
  const got = rcv.receive(2000);
  t.equal(got.name, '/dev/pts/7', 'the payload');
  t.equal(fs.readlinkSync(`/proc/self/fd/${got.fd}`), '/dev/null', 'the fd');
  t.ok(fs.readFileSync(`/proc/self/fdinfo/${got.fd}`, 'utf8').match(/^flags:\s+0?2/m), 'O_CLOEXEC');
  fs.closeSync(got.fd);
  rcv = new ConsoleReceiver();
  await send(rcv.path, 2);
  t.throws(() => rcv.receive(2000), /EPROTO|protocol/i, 'two fds: refused');
  rcv = new ConsoleReceiver();
  await new Promise<void>((res) => { const s = net.connect(rcv.path, () => { s.end('no fd'); res(); }); });
  t.throws(() => rcv.receive(2000), /EPROTO|protocol/i, 'no fd: refused');
});
