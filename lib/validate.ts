// Validation of config.json, state and features documents against OCI runtime-spec v1.3.0.
// The JSON Schemas (schemas/*.json) are compiled ahead of time into dist/schemas/*.js by
// `npm run build:schemas`; this module only loads them. After the schema passes, the checks
// here cover what a schema cannot say (cross-field rules, absolute paths, uniqueness).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPS, RLIMITS } from './kernel-names';

export interface Validation { errors: string[]; warnings: string[] }

interface AjvError { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }
type CompiledValidator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

/** The oldest and newest spec versions hull implements. */
export const SPEC_VERSION_MIN = '1.0.0';
export const SPEC_VERSION_MAX = '1.3.0';

// Compiled, this file is dist/validate.js with dist/schemas beside it. Run from source
// (tap's TypeScript loader), it is lib/validate.ts and the schemas are in ../dist/schemas.
// A bundle placed in another directory beside dist/ finds them the second way too.
function schemaFile(name: string): string {
  const candidates = [path.join(__dirname, 'schemas'), path.join(__dirname, '..', 'dist', 'schemas')];
  if (path.basename(__dirname) === 'lib') candidates.reverse();
  const found = candidates.map((d) => path.join(d, `${name}.js`)).find((f) => fs.existsSync(f));
  return found ?? path.join(candidates[0]!, `${name}.js`);
}

const loaded = new Map<string, CompiledValidator>();
function validator(name: 'config' | 'state' | 'features'): CompiledValidator {
  let v = loaded.get(name);
  if (!v) {
    const file = schemaFile(name);
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      v = require(file) as CompiledValidator;
    } catch (err) {
      throw new Error(`compiled schema ${file} is missing (run "npm run build:schemas"): ${(err as Error).message}`);
    }
    loaded.set(name, v);
  }
  return v;
}

// ---- error formatting --------------------------------------------------------------

/** JSON Pointer escaping (RFC 6901), so keys such as "net/ipv4/ip_forward" stay one segment. */
function ptr(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

const TYPE_WORDS: Record<string, string> = {
  array: 'an array', object: 'an object', integer: 'an integer', number: 'a number',
  string: 'a string', boolean: 'a boolean', null: 'null',
};

function typeWords(t: unknown): string {
  const names = Array.isArray(t) ? t : String(t).split(',');
  return names.map((n) => TYPE_WORDS[String(n)] ?? String(n)).join(' or ');
}

/** One line per ajv error: the JSON path, then the rule it broke. */
function formatAjvError(e: AjvError): string {
  const where = e.instancePath || '/';
  const p = e.params;
  switch (e.keyword) {
    case 'type': return `${where} must be ${typeWords(p.type)}`;
    case 'enum': return `${where} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'required': return `${e.instancePath}${ptr(String(p.missingProperty))} is required`;
    case 'minimum': return `${where} must be >= ${String(p.limit)}`;
    case 'maximum': return `${where} must be <= ${String(p.limit)}`;
    case 'minItems': return `${where} must have at least ${String(p.limit)} entries`;
    case 'pattern': return `${where} must match ${String(p.pattern)}`;
    case 'propertyNames': return `${where} has an invalid key "${String(p.propertyName)}"`;
    default: return `${where} ${e.message ?? `fails ${e.keyword}`}`;
  }
}

function schemaErrors(v: CompiledValidator, doc: unknown): string[] {
  if (v(doc)) return [];
  const errs = v.errors ?? [];
  // An invalid key is reported first as the enum on the key, then as propertyNames: keep the clearer one.
  const names = errs.find((e) => e.keyword === 'propertyNames');
  const first = names ?? errs[0];
  return first ? [formatAjvError(first)] : ['document does not match the schema'];
}

// ---- versions ----------------------------------------------------------------------

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function parseSemver(v: string): { major: number; minor: number; patch: number; pre?: string } | undefined {
  const m = SEMVER.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] } : undefined;
}

/** Numeric order of MAJOR.MINOR.PATCH; a pre-release sorts before its release. */
function compareSemver(a: string, b: string): number {
  const x = parseSemver(a), y = parseSemver(b);
  if (!x || !y) return 0;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch || (x.pre ? (y.pre ? 0 : -1) : (y.pre ? 1 : 0));
}

// ---- the config, as far as the checks read it (the schema has already passed) ------

interface IdMapping { containerID: number; hostID: number; size: number }
interface Hook { path: string }
interface Mount { destination: string; source?: string; type?: string; options?: string[]; uidMappings?: IdMapping[]; gidMappings?: IdMapping[] }
interface Rlimit { type: string; soft: number; hard: number }
interface Scheduler { policy: string; priority?: number; runtime?: number; deadline?: number; period?: number }
interface Process {
  cwd: string; args?: string[]; env?: string[]; rlimits?: Rlimit[]; oomScoreAdj?: number;
  capabilities?: Record<string, string[] | undefined>; scheduler?: Scheduler;
}
interface Namespace { type: string; path?: string }
interface Device { type: string; path: string; major?: number; minor?: number }
interface DeviceRule { allow: boolean; type?: string; access?: string }
interface BlockIO { weightDevice?: { weight?: number; leafWeight?: number }[]; [throttle: string]: unknown }
interface Seccomp {
  defaultAction: string; listenerPath?: string;
  syscalls?: { action: string; args?: { index: number }[] }[];
}
interface Linux {
  namespaces?: Namespace[]; uidMappings?: IdMapping[]; gidMappings?: IdMapping[];
  timeOffsets?: Record<string, unknown>; devices?: Device[]; netDevices?: Record<string, { name?: string }>;
  cgroupsPath?: string; resources?: { devices?: DeviceRule[]; blockIO?: BlockIO }; sysctl?: Record<string, string>;
  seccomp?: Seccomp; maskedPaths?: string[]; readonlyPaths?: string[];
  memoryPolicy?: { mode: string; nodes?: string; flags?: string[] }; intelRdt?: { closID?: string };
}
interface Config {
  ociVersion: string; root?: { path: string }; process?: Process; hostname?: string; domainname?: string;
  mounts?: Mount[]; hooks?: Record<string, Hook[] | undefined>; linux?: Linux;
}

const RLIMIT_NAMES = new Set(Object.keys(RLIMITS));

const CAPABILITIES = new Set<string>(CAPS);

// sysctls isolated by the IPC namespace (ipc_namespaces(7)); fs.mqueue.* too, by prefix.
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

const isAbs = (p: string): boolean => p.startsWith('/');
// A network interface name as the kernel accepts it (dev_valid_name).
const isIfName = (n: string): boolean => n.length > 0 && n.length < 16 && n !== '.' && n !== '..' && !/[/:\s]/.test(n);

class ConfigChecker {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private readonly nsByType = new Map<string, Namespace>();

  constructor(private readonly c: Config) {}

  run(): Validation {
    this.version();
    this.root();
    this.process();
    this.mounts();
    this.hooks();
    this.linux();
    return { errors: this.errors, warnings: this.warnings };
  }

  private err(msg: string): void { this.errors.push(msg); }

  private version(): void {
    const v = parseSemver(this.c.ociVersion);
    if (!v) return this.err(`/ociVersion "${this.c.ociVersion}" must be a SemVer version`);
    if (v.major !== 1) {
      return this.err(`/ociVersion ${this.c.ociVersion} is not supported: hull implements ${SPEC_VERSION_MIN} to ${SPEC_VERSION_MAX}`);
    }
    if (compareSemver(`${v.major}.${v.minor}.0`, SPEC_VERSION_MAX) > 0) {
      this.warnings.push(`ociVersion ${this.c.ociVersion} is newer than ${SPEC_VERSION_MAX}: fields hull does not know are ignored`);
    }
  }

  private root(): void {
    if (!this.c.root) return this.err('/root is required');
    if (this.c.root.path === '') this.err('/root/path must not be empty');
  }

  private process(): void {
    const p = this.c.process;
    if (!p) return this.err('/process is required');
    if (!isAbs(p.cwd)) this.err('/process/cwd must be an absolute path');
    if (!p.args || p.args.length === 0) this.err('/process/args must have at least one entry');
    p.env?.forEach((e, i) => {
      if (e.indexOf('=') <= 0) this.err(`/process/env/${i} must have the form KEY=value`);
    });
    const seen = new Set<string>();
    p.rlimits?.forEach((r, i) => {
      if (!RLIMIT_NAMES.has(r.type)) this.err(`/process/rlimits/${i}/type must be one of ${[...RLIMIT_NAMES].sort().join(', ')}`);
      else if (seen.has(r.type)) this.err(`/process/rlimits/${i}/type "${r.type}" is duplicated`);
      seen.add(r.type);
      if (r.soft > r.hard) this.err(`/process/rlimits/${i}/soft must not exceed hard`);
    });
    if (p.oomScoreAdj !== undefined && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
      this.err('/process/oomScoreAdj must be between -1000 and 1000');
    }
    // runtime-spec: an unknown capability MUST be warned about and SHOULD NOT fail the container.
    const warned = new Set<string>();
    for (const names of Object.values(p.capabilities ?? {})) {
      for (const name of names ?? []) {
        if (!CAPABILITIES.has(name.toUpperCase()) && !warned.has(name)) {
          warned.add(name);
          this.warnings.push(`unknown capability "${name}" skipped`);
        }
      }
    }
    this.scheduler(p.scheduler);
  }

  private scheduler(s: Scheduler | undefined): void {
    if (!s) return;
    const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
    if (realtime && (s.priority === undefined || s.priority < 1 || s.priority > 99)) {
      this.err(`/process/scheduler/priority must be between 1 and 99 for ${s.policy}`);
    } else if (!realtime && s.priority) {
      this.err(`/process/scheduler/priority must be 0 for ${s.policy}`);
    }
    if (s.policy === 'SCHED_DEADLINE') {
      const { runtime = 0, deadline = 0, period = 0 } = s;
      if (runtime === 0 || deadline === 0) this.err('/process/scheduler needs runtime and deadline for SCHED_DEADLINE');
      else if (runtime > deadline || (period !== 0 && deadline > period)) {
        this.err('/process/scheduler must satisfy runtime <= deadline <= period');
      }
    } else if (s.runtime || s.deadline || s.period) {
      this.err('/process/scheduler runtime, deadline and period are only for SCHED_DEADLINE');
    }
  }

  private mounts(): void {
    const userns = this.c.linux?.namespaces?.some((ns) => ns.type === 'user') ?? false;
    this.c.mounts?.forEach((m, i) => {
      // v1.3 config.md: relative destinations are deprecated but allowed, taken relative to "/".
      if (m.destination === '') {
        this.err(`/mounts/${i}/destination must not be empty`);
      } else if (!isAbs(m.destination)) {
        this.warnings.push(`/mounts/${i}/destination "${m.destination}" is relative (deprecated): taken as relative to /`);
      }
      const bind = m.options?.some((o) => o === 'bind' || o === 'rbind') ?? false;
      if (bind && !m.source) this.err(`/mounts/${i}/source is required for a bind mount`);
      if (!m.uidMappings !== !m.gidMappings) this.err(`/mounts/${i} must have both uidMappings and gidMappings, or neither`);
      const idmap = m.options?.some((o) => o === 'idmap' || o === 'ridmap') ?? false;
      if (idmap && !m.uidMappings && !m.gidMappings && !userns) {
        this.err(`/mounts/${i} is idmapped but has no uidMappings/gidMappings and the container has no user namespace`);
      }
    });
  }

  private hooks(): void {
    for (const [kind, list] of Object.entries(this.c.hooks ?? {})) {
      list?.forEach((h, i) => {
        if (!isAbs(h.path)) this.err(`/hooks/${kind}/${i}/path must be an absolute path`);
      });
    }
  }

  private linux(): void {
    const l = this.c.linux ?? {};
    l.namespaces?.forEach((ns, i) => {
      if (this.nsByType.has(ns.type)) this.err(`/linux/namespaces/${i}/type "${ns.type}" is duplicated`);
      else this.nsByType.set(ns.type, ns);
      if (ns.path !== undefined && !isAbs(ns.path)) this.err(`/linux/namespaces/${i}/path must be an absolute path`);
    });
    const userns = this.nsByType.get('user');
    const hasUid = (l.uidMappings?.length ?? 0) > 0, hasGid = (l.gidMappings?.length ?? 0) > 0;
    if (!userns) {
      if (hasUid) this.err('/linux/uidMappings requires a user namespace in /linux/namespaces');
      if (hasGid) this.err('/linux/gidMappings requires a user namespace in /linux/namespaces');
    } else if (!userns.path && (!hasUid || !hasGid)) {
      this.err('/linux/namespaces: a new user namespace needs both /linux/uidMappings and /linux/gidMappings');
    }
    const timens = this.nsByType.get('time');
    if (l.timeOffsets && Object.keys(l.timeOffsets).length > 0 && (!timens || timens.path)) {
      this.err('/linux/timeOffsets requires a new time namespace (one without a path) in /linux/namespaces');
    }
    if (this.c.hostname && !this.nsByType.has('uts')) this.err('/hostname requires a uts namespace in /linux/namespaces');
    if (this.c.domainname && !this.nsByType.has('uts')) this.err('/domainname requires a uts namespace in /linux/namespaces');
    this.netDevices(l.netDevices);
    this.sysctl(l.sysctl);
    this.cgroupsPath(l.cgroupsPath);
    l.devices?.forEach((d, i) => {
      if (!isAbs(d.path)) this.err(`/linux/devices/${i}/path must be an absolute path`);
      if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
        this.err(`/linux/devices/${i} needs major and minor for type ${d.type}`);
      }
    });
    l.resources?.devices?.forEach((d, i) => {
      if (d.type !== undefined && !['a', 'b', 'c'].includes(d.type)) this.err(`/linux/resources/devices/${i}/type must be one of a, b, c`);
      if (d.access !== undefined && !/^[rwm]*$/.test(d.access)) this.err(`/linux/resources/devices/${i}/access must only contain r, w, m`);
    });
    this.blockIO(l.resources?.blockIO);
    this.seccomp(l.seccomp);
    l.maskedPaths?.forEach((p, i) => { if (!isAbs(p)) this.err(`/linux/maskedPaths/${i} must be an absolute path`); });
    l.readonlyPaths?.forEach((p, i) => { if (!isAbs(p)) this.err(`/linux/readonlyPaths/${i} must be an absolute path`); });
    this.memoryPolicy(l.memoryPolicy);
    const clos = l.intelRdt?.closID;
    if (clos !== undefined && (clos === '' || clos === '.' || clos === '..' || clos.includes('/'))) {
      this.err('/linux/intelRdt/closID must be a plain directory name');
    }
  }

  private netDevices(devs: Linux['netDevices']): void {
    if (!devs) return;
    if (Object.keys(devs).length > 0 && !this.nsByType.has('network')) {
      this.err('/linux/netDevices requires a network namespace in /linux/namespaces');
    }
    for (const [host, d] of Object.entries(devs)) {
      if (!isIfName(host)) this.err(`${ptr('linux', 'netDevices', host)} is not a valid interface name`);
      if (d.name !== undefined && !isIfName(d.name)) this.err(`${ptr('linux', 'netDevices', host, 'name')} is not a valid interface name`);
    }
  }

  private sysctl(sysctl: Record<string, string> | undefined): void {
    for (const key of Object.keys(sysctl ?? {})) {
      const k = key.replace(/\//g, '.');
      const where = ptr('linux', 'sysctl', key);
      let ns: string | undefined;
      if (k.startsWith('net.')) ns = 'network';
      else if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) ns = 'ipc';
      else if (k === 'kernel.hostname' || k === 'kernel.domainname') ns = 'uts';
      if (!ns) this.err(`${where} is not namespaced: setting it would change the host`);
      else if (!this.nsByType.has(ns)) this.err(`${where} requires a ${ns} namespace in /linux/namespaces`);
    }
  }

  private cgroupsPath(p: string | undefined): void {
    if (p === undefined || p === '') return;
    if (/[\0\n]/.test(p)) return this.err('/linux/cgroupsPath must not contain NUL or newline');
    const parts = p.split(':');
    // Either a cgroupfs path, or systemd's slice:prefix:name.
    if (parts.length !== 1 && parts.length !== 3) return this.err('/linux/cgroupsPath must be a path or slice:prefix:name');
    if (p.split(/[/:]/).includes('..')) this.err('/linux/cgroupsPath must not contain ".."');
  }

  private blockIO(b: BlockIO | undefined): void {
    if (!b) return;
    b.weightDevice?.forEach((d, i) => {
      if (d.weight === undefined && d.leafWeight === undefined) {
        this.err(`/linux/resources/blockIO/weightDevice/${i} needs weight or leafWeight`);
      }
    });
    for (const key of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
      (b[key] as { rate?: number }[] | undefined)?.forEach((d, i) => {
        if (d.rate === undefined) this.err(`/linux/resources/blockIO/${key}/${i}/rate is required`);
      });
    }
  }

  private seccomp(s: Seccomp | undefined): void {
    if (!s) return;
    const notify = s.defaultAction === 'SCMP_ACT_NOTIFY' || (s.syscalls ?? []).some((sc) => sc.action === 'SCMP_ACT_NOTIFY');
    if (notify && !s.listenerPath) this.err('/linux/seccomp/listenerPath is required when SCMP_ACT_NOTIFY is used');
    s.syscalls?.forEach((sc, i) => sc.args?.forEach((a, j) => {
      if (a.index > 5) this.err(`/linux/seccomp/syscalls/${i}/args/${j}/index must be <= 5`);
    }));
  }

  private memoryPolicy(m: Linux['memoryPolicy']): void {
    if (!m) return;
    const nodes = m.nodes ?? '';
    const flags = m.flags ?? [];
    if (m.mode === 'MPOL_DEFAULT' || m.mode === 'MPOL_LOCAL') {
      if (nodes !== '') this.err(`/linux/memoryPolicy/nodes must be empty for ${m.mode}`);
    } else if (m.mode !== 'MPOL_PREFERRED' && nodes === '') {
      // MPOL_PREFERRED alone may take an empty set (it then means local allocation).
      this.err(`/linux/memoryPolicy/nodes is required for ${m.mode}`);
    }
    if (flags.includes('MPOL_F_STATIC_NODES') && flags.includes('MPOL_F_RELATIVE_NODES')) {
      this.err('/linux/memoryPolicy/flags cannot have both MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES');
    }
    if (flags.includes('MPOL_F_NUMA_BALANCING') && m.mode !== 'MPOL_BIND') {
      this.err('/linux/memoryPolicy/flags MPOL_F_NUMA_BALANCING requires MPOL_BIND');
    }
  }
}

/** Validates a parsed config.json: schema first (one error), then the semantic checks. */
export function validateConfig(config: unknown): Validation {
  const errors = schemaErrors(validator('config'), config);
  if (errors.length > 0) return { errors, warnings: [] };
  return new ConfigChecker(config as Config).run();
}

/** Validates a state document (runtime.md#state). */
export function validateState(state: unknown): string[] {
  return schemaErrors(validator('state'), state);
}

/** Validates a features document (features.md). */
export function validateFeatures(features: unknown): string[] {
  const errors = schemaErrors(validator('features'), features);
  if (errors.length > 0) return errors;
  const f = features as { ociVersionMin: string; ociVersionMax: string };
  if (compareSemver(f.ociVersionMax, f.ociVersionMin) < 0) return ['/ociVersionMax must not be less than /ociVersionMin'];
  return [];
}
