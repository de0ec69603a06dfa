// lib/hooks.ts (state JSON, plan records, the CLI-side runner) and the bootstrap's checks of the
// HOOK_STATE/HOOK records. Real containers with hooks: conformance/hooks.test.ts.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hookRecords, hookState, runHook, runHooks, storedHooks } from '../lib/hooks';
import { decodePlan, encodePlan, rec, Rec, str, u32 } from '../lib/plan';
import { validateState } from '../lib/validate';

const BOOTSTRAP = path.join(__dirname, '..', 'build', 'Release', 'hull-bootstrap');
const base = { id: 'hk-1', bundle: '/b/x', annotations: { 'org.example/k': 'v "q"' } };

function strs(payload: Buffer, from: number): string[] {
  return payload.subarray(from).toString('utf8').split('\0').slice(0, -1);
}

t.test('hook state: spec shape, status per kind, no pid when stopped', async (t) => {
  const s = JSON.parse(hookState(base, 'creating', 42));
  t.same(Object.keys(s), ['ociVersion', 'id', 'status', 'pid', 'bundle', 'annotations'], 'runc key order');
  t.same(s, { ociVersion: '1.3.0', id: 'hk-1', status: 'creating', pid: 42, bundle: '/b/x', annotations: base.annotations });
  t.same(validateState(s), [], 'valid against the state schema');
  const stopped = JSON.parse(hookState(base, 'stopped', 42));
  t.notOk('pid' in stopped, 'stopped: no pid');
  t.same(validateState(stopped), [], 'stopped state valid');
  t.notOk('annotations' in JSON.parse(hookState({ id: 'a', bundle: '/b' }, 'running', 1)), 'no annotations: omitted');
  t.notOk('annotations' in JSON.parse(hookState({ id: 'a', bundle: '/b', annotations: {} }, 'running', 1)), 'empty: omitted');
});

t.test('hook records: kinds in lifecycle order, config order within a kind, state template', async (t) => {
  t.same(hookRecords(undefined, base), [], 'no hooks: no records');
  t.same(hookRecords({ poststart: [{ path: '/p' }], poststop: [{ path: '/q' }] }, base), [], 'CLI-run kinds are not planned');
  const recs = hookRecords({
    startContainer: [{ path: '/s' }],
    createRuntime: [{ path: '/r1', args: ['r1', '-x'], env: ['A=1', 'B=2'], timeout: 7 }, { path: '/r2' }],
    prestart: [{ path: '/p' }],
    createContainer: [{ path: '/c', args: [] }],
    poststop: [{ path: '/ignored' }],
  }, base);
  const d = decodePlan(encodePlan(recs));
  t.same(d.map((r) => r.type), [40, 41, 41, 41, 41, 41], 'HOOK_STATE then 5 HOOKs');
  const hooks = d.slice(1).map((r) => ({
    kind: r.payload.readUInt32LE(0), timeout: r.payload.readUInt32LE(4), nargs: r.payload.readUInt32LE(8),
    nenv: r.payload.readUInt32LE(12), strs: strs(r.payload, 16),
  }));
  t.same(hooks.map((h) => h.kind), [0, 1, 1, 2, 3], 'prestart, createRuntime x2, createContainer, startContainer');
  t.same(hooks[1], { kind: 1, timeout: 7, nargs: 2, nenv: 2, strs: ['/r1', 'r1', '-x', 'A=1', 'B=2'] }, 'fields of one hook');
  t.same(hooks[2].strs, ['/r2', '/r2'], 'no args: argv is [path]');
  t.same(hooks[3].strs, ['/c', '/c'], 'empty args: argv is [path]');
  t.equal(hooks[2].timeout, 0, 'no timeout: 0');
  const [head, tail] = strs(d[0].payload, 0);
  t.equal(head + '"status":"creating","pid":1234' + tail, hookState(base, 'creating', 1234), 'template + status + pid = hookState');
  const [h2, t2] = strs(decodePlan(encodePlan(hookRecords({ prestart: [{ path: '/p' }] }, { id: 'x', bundle: '/y' })))[0].payload, 0);
  t.equal(h2 + '"status":"created","pid":5' + t2, hookState({ id: 'x', bundle: '/y' }, 'created', 5), 'same without annotations');
});

t.test('stored hooks: only poststart and poststop', async (t) => {
  t.equal(storedHooks(undefined), undefined);
  t.equal(storedHooks({ prestart: [{ path: '/p' }], poststart: [] }), undefined);
  t.same(storedHooks({ prestart: [{ path: '/p' }], poststop: [{ path: '/q' }] }), { poststop: [{ path: '/q' }] });
});

t.test('runHook: stdin, argv, only its own env, output captured, errors name the hook', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-hooks-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  const script = path.join(dir, 'hook.sh');
  fs.writeFileSync(script, `#!/bin/sh\n{ echo "argv0=$0 args=$*"; cat; echo; env; } > ${out}\necho noise\necho more noise >&2\n`, { mode: 0o755 });
  process.env.HULL_HOOK_UNIT_MARKER = 'leak';
  t.teardown(() => { delete process.env.HULL_HOOK_UNIT_MARKER; });
  const state = hookState(base, 'running', 99);
  runHook('poststart', 0, { path: script, args: ['name-ignored-by-sh', 'a b', 'c'], env: ['FOO=bar=baz', 'X='] }, state);
  const text = fs.readFileSync(out, 'utf8');
  t.match(text, /^argv0=\S*hook\.sh args=a b c$/m, 'args after argv[0] reach the hook');
  t.ok(text.includes(state), 'state JSON on stdin');
  t.match(text, /^FOO=bar=baz$/m, 'env entry with "=" in the value');
  t.match(text, /^X=$/m, 'empty value');
  t.notMatch(text, /HULL_HOOK_UNIT_MARKER|^PATH=|^HOME=/m, 'nothing of the caller\'s environment');

  const fail = path.join(dir, 'fail.sh');
  fs.writeFileSync(fail, '#!/bin/sh\necho "first line" >&2\necho "bad thing happened" >&2\nexit 3\n', { mode: 0o755 });
  t.throws(() => runHook('poststart', 2, { path: fail }, state),
    { message: `poststart hook #2 (${fail}): exit status 3, stderr: first line bad thing happened` }, 'exit status and stderr on one line');
  t.throws(() => runHook('poststop', 0, { path: path.join(dir, 'missing') }, state),
    { message: /^poststop hook #0 \(.*missing\): exec: no such file or directory$/ }, 'missing binary');
  const sig = path.join(dir, 'sig.sh');
  fs.writeFileSync(sig, '#!/bin/sh\nkill -TERM $$\n', { mode: 0o755 });
  t.throws(() => runHook('poststart', 0, { path: sig }, state), { message: /killed by signal 15$/ }, 'killed by a signal');
});

t.test('runHook: timeout SIGKILLs the hook and fails', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-hooks-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'pid');
  const slow = path.join(dir, 'slow.sh');
  // exec: the hook process itself is the sleep (SIGTERM would be ignored by the trap)
  fs.writeFileSync(slow, `#!/bin/sh\necho $$ > ${pidFile}\ntrap '' TERM\nexec sleep 30\n`, { mode: 0o755 });
  const t0 = Date.now();
  t.throws(() => runHook('poststart', 1, { path: slow, timeout: 1 }, '{}'),
    { message: `poststart hook #1 (${slow}): timed out after 1s (killed)` });
  const took = Date.now() - t0;
  t.ok(took >= 900 && took < 5000, `returned after the timeout (${took} ms)`);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.notOk(fs.existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 'the hook is gone');
  // a hook that leaves a child holding its stdout does not keep the caller waiting
  const daemon = path.join(dir, 'daemon.sh');
  const dpid = path.join(dir, 'dpid');
  fs.writeFileSync(daemon, `#!/bin/sh\nsleep 30 &\necho $! > ${dpid}\nexit 0\n`, { mode: 0o755 });
  const t1 = Date.now();
  runHook('poststart', 0, { path: daemon }, '{}');
  t.ok(Date.now() - t1 < 5000, 'returns when the hook exits, not when its stdout closes');
  try { process.kill(Number(fs.readFileSync(dpid, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
});

t.test('runHooks: in order; first failure stops, or with warn every hook runs', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hull-hooks-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log');
  const mk = (name: string, code: number) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, `#!/bin/sh\necho ${name} >> ${log}\nexit ${code}\n`, { mode: 0o755 });
    return { path: p };
  };
  const hooks = [mk('one', 0), mk('two', 1), mk('three', 0)];
  t.throws(() => runHooks('poststart', hooks, '{}'), { message: /^poststart hook #1 \(.*\/two\): exit status 1$/ });
  t.equal(fs.readFileSync(log, 'utf8'), 'one\ntwo\n', 'stopped at the failure');
  fs.rmSync(log);
  const warnings: string[] = [];
  runHooks('poststop', hooks, '{}', (m) => warnings.push(m));
  t.equal(fs.readFileSync(log, 'utf8'), 'one\ntwo\nthree\n', 'all ran');
  t.same(warnings.length, 1, 'one warning');
  t.match(warnings[0], /^poststop hook #1 .*exit status 1$/);
});

/** Feed a plan to the bootstrap; returns its report. A plan it rejects never creates anything. */
function bootstrap(plan: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(BOOTSTRAP, ['3', '4'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'], env: {} });
    let text = '';
    (child.stdio[3] as NodeJS.WritableStream).on('error', () => undefined);
    (child.stdio[4] as NodeJS.ReadableStream).on('data', (d: Buffer) => { text += d.toString(); });
    child.on('error', reject);
    (child.stdio[3] as NodeJS.WritableStream).end(plan);
    child.on('close', () => resolve(text));
  });
}

t.test('bootstrap: HOOK_STATE/HOOK records are checked', { skip: !fs.existsSync(BOOTSTRAP) && 'bootstrap not built' }, async (t) => {
  const state = rec(Rec.HOOK_STATE, str('{"id":"x",'), str(',"bundle":"/b"}'));
  const hook = (kind: number, nargs: number, nenv: number, ...s: string[]) =>
    rec(Rec.HOOK, u32(kind), u32(0), u32(nargs), u32(nenv), ...s.map(str));
  const plan = (...r: ReturnType<typeof rec>[]) => encodePlan([rec(Rec.ROOTFS, str('/nonexistent')), ...r, rec(Rec.ARG, str('true'))]);
  const cases: [string, Buffer, RegExp][] = [
    ['hook without state', plan(hook(0, 1, 0, '/h', '/h')), /^error plan: HOOK without HOOK_STATE/m],
    ['unknown kind', plan(state, hook(4, 1, 0, '/h', '/h')), /^error plan: unknown hook kind 4 \(record 2\)/m],
    ['relative path', plan(state, hook(0, 1, 0, 'h', 'h')), /^error plan: hook path h is not absolute/m],
    ['no argv', plan(state, hook(1, 0, 0, '/h')), /^error plan: hook with 0 args/m],
    ['counts past the payload', plan(state, hook(1, 1, 1000, '/h', '/h')), /^error plan: truncated hook args or env/m],
    ['env not K=V', plan(state, hook(2, 1, 1, '/h', '/h', 'NOEQUALS')), /^error plan: hook env entry is not K=V/m],
    ['trailing bytes', plan(state, hook(3, 1, 0, '/h', '/h', 'extra')), /^error plan: 6 trailing bytes in record/m],
    ['state twice', plan(state, state), /^error plan: record type 40 appears twice/m],
    ['state not an object', plan(rec(Rec.HOOK_STATE, str('"x",'), str(',"y"'))), /^error plan: hook state is not a JSON object/m],
  ];
  for (const [name, buf, want] of cases) t.match(await bootstrap(buf), want, name);
});

t.test('bootstrap --features: seccomp facts as JSON', { skip: !fs.existsSync(BOOTSTRAP) && 'bootstrap not built' }, async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn(BOOTSTRAP, ['--features'], { stdio: ['ignore', 'pipe', 'inherit'], env: {} });
    let s = '';
    c.stdout!.on('data', (d: Buffer) => { s += d; });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`exit ${code}`))));
  });
  const f = JSON.parse(out);
  t.match(f.libseccomp, /^\d+\.\d+\.\d+$/);
  t.ok(f.apiLevel >= 1, 'api level');
  if (process.arch === 'x64') t.ok(f.archs.includes('x86_64') && f.archs.includes('x86'), 'native archs');
  t.ok(f.actions.includes('SCMP_ACT_ERRNO') && f.actions.includes('SCMP_ACT_ALLOW'), 'basic actions');
  t.ok(f.flags.every((x: string) => x.startsWith('SECCOMP_FILTER_FLAG_')), 'flag names');
});
