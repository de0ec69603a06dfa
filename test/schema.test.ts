// Schemas (schemas/*.json, compiled into dist/schemas) and lib/validate.ts.
// The `before` hook runs `node schemas/compile.mjs` (= npm run build:schemas), so this file
// always tests the schemas as they are in the tree.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import AjvDraft04 from 'ajv-draft-04';
import { validateConfig, validateState, validateFeatures } from '../lib/validate';

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures', 'configs');
const officialDir = '/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type SchemaCheck = ((doc: unknown) => boolean) & { errors?: unknown };

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
const jsonFiles = (dir: string): string[] =>
  fs.readdirSync(path.join(fixtures, dir)).filter((f) => f.endsWith('.json') && f !== 'expected.json').sort();
const fixture = (dir: string, f: string): Json => readJson(path.join(fixtures, dir, f));

let mine: SchemaCheck;
let official: SchemaCheck;

t.before(() => {
  execFileSync(process.execPath, [path.join(root, 'schemas', 'compile.mjs')], { cwd: root, stdio: 'pipe' });
  mine = require(path.join(root, 'dist', 'schemas', 'config.js')) as SchemaCheck;
  // Debian's runtime-spec v1.0.2-dev schemas (draft-04) are a test oracle only, compiled here.
  const ajv = new AjvDraft04({ strict: false, allErrors: false });
  for (const f of fs.readdirSync(officialDir).filter((f) => f.endsWith('.json') && f !== 'config-schema.json')) {
    ajv.addSchema(readJson(path.join(officialDir, f)) as object, f);
  }
  official = ajv.compile(readJson(path.join(officialDir, 'config-schema.json')) as object) as SchemaCheck;
});

t.test('valid configs: the official schema, ours and the semantic checks all accept', async (t) => {
  const files = jsonFiles('good');
  t.ok(files.length >= 5, 'runc spec, runc spec --rootless, crun spec and hand-written configs');
  for (const f of files) {
    const c = fixture('good', f);
    t.ok(official(c), `official schema accepts ${f}`);
    t.ok(mine(c), `our schema accepts ${f}: ${JSON.stringify(mine.errors)}`);
    t.same(validateConfig(c), { errors: [], warnings: [] }, `validateConfig accepts ${f}`);
  }
});

t.test('v1.3-only configs: ours accepts what the v1.0.2 schema cannot know', async (t) => {
  for (const f of jsonFiles('good-1.3')) {
    const c = fixture('good-1.3', f);
    t.notOk(official(c), `official v1.0.2 schema rejects ${f} (time namespace, new arch, ...)`);
    t.same(validateConfig(c), { errors: [], warnings: [] }, `validateConfig accepts ${f}`);
  }
});

t.test('crun spec --rootless: schema-valid, rejected like runc does (no id mappings)', async (t) => {
  const c = fixture('good-schema', 'crun-spec-rootless.json');
  t.ok(official(c));
  t.ok(mine(c));
  t.match(validateConfig(c).errors, [/a new user namespace needs both \/linux\/uidMappings and \/linux\/gidMappings/]);
});

// A small deterministic PRNG, so a failure reproduces.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Container = Json[] | { [k: string]: Json };

function containers(doc: Json, at = '', out: [Container, string][] = []): [Container, string][] {
  if (doc !== null && typeof doc === 'object') {
    out.push([doc, at]);
    for (const [k, v] of Object.entries(doc)) containers(v, `${at}/${k}`, out);
  }
  return out;
}

// Fields newer than Debian's v1.0.2-dev schema: it ignores them (unknown properties are
// allowed), so it cannot judge a mutant there.
const NEWER_THAN_ORACLE = new RegExp('^(/process/(scheduler|ioPriority|execCPUAffinity)|/linux/(netDevices|memoryPolicy|personality|timeOffsets)' +
  '|/linux/intelRdt/(schemata|enableMonitoring)|/linux/resources/memory/(checkBeforeUpdate)|/linux/resources/cpu/(burst|idle)' +
  '|/mounts/[0-9]+/(uid|gid)Mappings)(/|$)');

t.test('superset: every mutant the official schema accepts, ours accepts too', async (t) => {
  // SCHEMA_FUZZ_SEED=n explores other mutants; a failure names the changed path.
  const rnd = prng(Number(process.env.SCHEMA_FUZZ_SEED ?? 1234));
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const values: Json[] = [0, -1, 1, 7, 1.5, 4294967296, -9007199254740991, '', 'x', '/abs', 'rel/path', true, false, null, [], {}, ['a'], { k: 'v' }];
  const corpus = jsonFiles('good').map((f) => fixture('good', f));
  let acceptedByOfficial = 0, rejectedByOfficial = 0, beyondOracle = 0;
  const missed: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const doc = structuredClone(pick(corpus));
    const [target, at] = pick(containers(doc));
    const keys = Array.isArray(target) ? target.map((_, j) => String(j)) : Object.keys(target);
    const op = rnd();
    let changed = `${at}/extra${i}`;
    if (keys.length > 0 && op < 0.35) {
      const k = pick(keys);
      changed = `${at}/${k}`;
      if (Array.isArray(target)) target.splice(Number(k), 1);
      else delete target[k];
    } else if (keys.length > 0 && op < 0.9) {
      const k = pick(keys);
      changed = `${at}/${k}`;
      if (Array.isArray(target)) target[Number(k)] = pick(values);
      else target[k] = pick(values);
    } else if (!Array.isArray(target)) {
      target[`extra${i}`] = pick(values);
    }
    if (NEWER_THAN_ORACLE.test(changed)) {
      beyondOracle++;
      continue;
    }
    if (official(doc)) {
      acceptedByOfficial++;
      if (!mine(doc)) missed.push(`${changed}: ${JSON.stringify(mine.errors)}`);
    } else {
      rejectedByOfficial++;
    }
  }
  t.ok(acceptedByOfficial > 500 && rejectedByOfficial > 500, `mutants both ways (${acceptedByOfficial} accepted, ${rejectedByOfficial} rejected, ${beyondOracle} beyond v1.0.2)`);
  t.same(missed, [], 'no official-valid mutant rejected by our schema');
});

t.test('broken configs: each fails with its expected one-line error', async (t) => {
  const expected = readJson(path.join(fixtures, 'bad', 'expected.json')) as Record<string, string>;
  const files = jsonFiles('bad');
  t.same(Object.keys(expected).sort(), files, 'bad/expected.json lists exactly the files in bad/');
  for (const f of files) {
    const { errors } = validateConfig(fixture('bad', f));
    t.ok(errors.length > 0, `${f} is rejected`);
    t.ok(errors[0]?.includes(expected[f]!), `${f}: "${errors[0]}" contains "${expected[f]}"`);
    for (const e of errors) t.notOk(e.includes('\n'), `${f}: one line per error`);
    t.match(errors[0], /^\//, `${f}: the error starts with its JSON path`);
  }
});

function runcSpec(): { [k: string]: any } {
  return structuredClone(fixture('good', 'runc-spec.json')) as { [k: string]: any };
}

t.test('unknown capabilities are warnings, never errors', async (t) => {
  const c = runcSpec();
  c.process.capabilities.bounding.push('CAP_FOO');
  c.process.capabilities.permitted.push('CAP_FOO', 'CAP_BAR');
  const v = validateConfig(c);
  t.same(v.errors, []);
  t.same(v.warnings, ['unknown capability "CAP_FOO" skipped', 'unknown capability "CAP_BAR" skipped'], 'each name warned once');
  c.process.capabilities.bounding = ['cap_chown'];
  c.process.capabilities.permitted = ['CAP_CHOWN'];
  t.same(validateConfig(c).warnings, [], 'names are matched case-insensitively');
});

t.test('ociVersion: 1.0.0..1.3.x accepted, newer 1.x warned, other majors rejected', async (t) => {
  for (const v of ['1.0.0', '1.0.0-rc5', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.3.7', '1.3.0+build.1']) {
    const c = runcSpec();
    c.ociVersion = v;
    t.same(validateConfig(c), { errors: [], warnings: [] }, v);
  }
  for (const v of ['1.4.0', '1.10.2']) {
    const c = runcSpec();
    c.ociVersion = v;
    const r = validateConfig(c);
    t.same(r.errors, [], `${v} is not an error`);
    t.match(r.warnings, [new RegExp(`ociVersion ${v.replace(/\./g, '\\.')} is newer than 1\\.3\\.0`)], `${v} is warned`);
  }
  for (const v of ['2.0.0', '0.9.9', 'v1.0.0', '1.0', '01.0.0']) {
    const c = runcSpec();
    c.ociVersion = v;
    t.equal(validateConfig(c).errors.length, 1, `${v} is rejected`);
  }
});

t.test('schema errors name the rule in plain words', async (t) => {
  const c = runcSpec();
  c.linux.namespaces[1].type = 'bogus';
  t.same(validateConfig(c).errors, ['/linux/namespaces/1/type must be one of pid, network, mount, ipc, uts, user, cgroup, time']);
  t.same(validateConfig('{}').errors, ['/ must be an object']);
  t.same(validateConfig(null).errors, ['/ must be an object']);
  t.same(validateConfig({}).errors, ['/ociVersion is required']);
});

t.test('semantic checks report every problem, not just the first', async (t) => {
  const c = runcSpec();
  c.process.cwd = 'relative';
  c.hooks = { poststop: [{ path: 'cleanup' }] };
  c.linux.namespaces.push({ type: 'pid' });
  t.same(validateConfig(c).errors, [
    '/process/cwd must be an absolute path',
    '/hooks/poststop/0/path must be an absolute path',
    '/linux/namespaces/5/type "pid" is duplicated',
  ]);
});

t.test('relative mount destinations are deprecated, not wrong (v1.3): a warning', async (t) => {
  const c = runcSpec();
  c.mounts[2].destination = 'dev/pts';
  t.same(validateConfig(c), { errors: [], warnings: ['/mounts/2/destination "dev/pts" is relative (deprecated): taken as relative to /'] });
});

t.test('idmapped mounts: own mappings, or the container user namespace', async (t) => {
  const c = runcSpec();
  c.mounts.push({ destination: '/data', type: 'none', source: '/srv', options: ['rbind', 'ridmap'] });
  t.equal(validateConfig(c).errors.length, 1, 'neither: error');
  c.mounts[7].uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  c.mounts[7].gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  t.same(validateConfig(c).errors, [], 'own mappings');
  delete c.mounts[7].uidMappings;
  delete c.mounts[7].gidMappings;
  c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' });
  t.same(validateConfig(c).errors, [], 'the container user namespace');
});

t.test('namespaced sysctls pass with their namespace', async (t) => {
  const c = runcSpec();
  c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'net/core/somaxconn': '1024', 'kernel.msgmnb': '1', 'kernel.sem': '1 2 3 4', 'kernel.shm_rmid_forced': '1', 'fs.mqueue.queues_max': '1', 'kernel.domainname': 'x' };
  t.same(validateConfig(c).errors, []);
});

t.test('pids.limit 0 is a real limit; a joined user namespace needs no mappings', async (t) => {
  const c = runcSpec();
  c.linux.resources.pids = { limit: 0 };
  c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' });
  t.same(validateConfig(c).errors, []);
});

t.test('state documents', async (t) => {
  for (const f of jsonFiles('state')) t.same(validateState(fixture('state', f)), [], f);
  const ok = fixture('state', 'created.json') as { [k: string]: Json };
  const broken: [Json, string][] = [
    [{ ...ok, status: 'exploded' }, '/status must be one of creating, created, running, paused, stopped'],
    [{ ...ok, status: 'running', pid: undefined as unknown as Json }, '/pid is required'],
    [{ ...ok, bundle: 'relative/bundle' }, '/bundle must match ^/'],
    [{ ...ok, id: undefined as unknown as Json }, '/id is required'],
    [{ ...ok, id: '' }, '/id must match'],
    [{ ...ok, pid: -1 }, '/pid must be >= 0'],
    [{ ...ok, ociVersion: '1.0' }, '/ociVersion must match'],
    [{ ...ok, annotations: { a: 1 } }, '/annotations/a must be a string'],
  ];
  for (const [doc, want] of broken) {
    const errors = validateState(JSON.parse(JSON.stringify(doc)));
    t.equal(errors.length, 1, want);
    t.ok(errors[0]?.startsWith(want), `"${errors[0]}" starts with "${want}"`);
  }
});

t.test('features documents', async (t) => {
  for (const f of jsonFiles('features')) t.same(validateFeatures(fixture('features', f)), [], f);
  const ok = fixture('features', 'full-v1.3.json') as { [k: string]: any };
  const broken: [object, string][] = [
    [{ ociVersionMin: '1.0.0' }, '/ociVersionMax is required'],
    [{ ociVersionMin: '1.2.0', ociVersionMax: '1.1.0' }, '/ociVersionMax must not be less than /ociVersionMin'],
    [{ ...ok, ociVersionMin: null }, '/ociVersionMin must be a string'],
    [{ ...ok, hooks: 'prestart' }, '/hooks must be an array or null'],
    [{ ...ok, linux: { ...ok.linux, namespaces: ['pid', 'net'] } }, '/linux/namespaces/1 must be one of'],
    [{ ...ok, linux: { ...ok.linux, seccomp: { actions: ['SCMP_ACT_MAYBE'] } } }, '/linux/seccomp/actions/0 must be one of'],
    [{ ...ok, linux: { ...ok.linux, memoryPolicy: { modes: ['MPOL_RANDOM'] } } }, '/linux/memoryPolicy/modes/0 must be one of'],
    [{ ...ok, linux: { ...ok.linux, intelRdt: { schemata: 'yes' } } }, '/linux/intelRdt/schemata must be a boolean or null'],
    [{ ...ok, linux: { ...ok.linux, mountExtensions: { idmap: { enabled: 1 } } } }, '/linux/mountExtensions/idmap/enabled must be a boolean or null'],
  ];
  for (const [doc, want] of broken) {
    const errors = validateFeatures(doc);
    t.equal(errors.length, 1, want);
    t.ok(errors[0]?.startsWith(want), `"${errors[0]}" starts with "${want}"`);
  }
});

t.test('compiled validators load without ajv compiling anything', async (t) => {
  const probe = `
    const t0 = process.hrtime.bigint();
    const v = require(${JSON.stringify(path.join(root, 'dist', 'schemas', 'config.js'))});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const ajvCore = Object.keys(require.cache).filter((f) => /ajv[\\\\/]dist[\\\\/](core|ajv|compile)/.test(f));
    console.log(JSON.stringify({ ms, ajvCore, ok: v({ ociVersion: '1.0.0' }) }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as { ms: number; ajvCore: string[]; ok: boolean };
  t.same(out.ajvCore, [], 'no ajv compiler module is loaded');
  t.equal(out.ok, true);
  // Measured 2.5-2.8 ms on the 2-core dev VM; the bound only catches a regression to run-time compilation (~135 ms).
  t.ok(out.ms < 60, `config validator loads in ${out.ms.toFixed(1)} ms`);
});
