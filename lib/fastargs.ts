// A strict parser for the hot, simple command lines (what engines send for start, state, kill,
// delete, create, ...), so that they need not load and run yargs (~15-25 ms per call; see
// bench/README.md, "Design measurements"). It accepts only command lines whose meaning under the
// yargs grammar of lib/cli.ts is unambiguous, and produces the argv object yargs would; anything
// else (help, unknown or repeated flags, missing or extra arguments, `--`, short-flag groups, a
// boolean followed by "true"/"false", empty values) returns null and goes to yargs, which stays the
// one definition of the grammar, its errors and its help. test/fastargs.test.ts checks the two agree.

/** digits: a decimal count, as a number (yargs type number); digit-string: the same, kept a string. */
type Kind = 'string' | 'boolean' | 'digits' | 'digit-string';

interface Flag { name: string; kind: Kind; choices?: readonly string[] }

const GLOBALS: Record<string, Flag> = {
  '--root': { name: 'root', kind: 'string' },
  '--log': { name: 'log', kind: 'string' },
  '--log-format': { name: 'log-format', kind: 'string', choices: ['text', 'json'] },
  '--rootless': { name: 'rootless', kind: 'string' },
  '--debug': { name: 'debug', kind: 'boolean' },
  '--systemd-cgroup': { name: 'systemd-cgroup', kind: 'boolean' },
};

const CREATE: Record<string, Flag> = {
  '--bundle': { name: 'bundle', kind: 'string' },
  '-b': { name: 'bundle', kind: 'string' },
  '--console-socket': { name: 'console-socket', kind: 'string' },
  '--pid-file': { name: 'pid-file', kind: 'string' },
  '--no-pivot': { name: 'no-pivot', kind: 'boolean' },
  '--no-new-keyring': { name: 'no-new-keyring', kind: 'boolean' },
  '--preserve-fds': { name: 'preserve-fds', kind: 'digits' },
};

interface CommandDef {
  /** positional names: required first, then optional */
  required: string[];
  optional?: string[];
  flags: Record<string, Flag>;
  /** option defaults as yargs sets them (absent booleans without a default stay absent) */
  defaults: Record<string, unknown>;
  /** exec: what follows the id is the command, not flags (lib/cli.ts splitExecArgs) */
  idLast?: boolean;
  /** exec: yargs' value of the variadic positional when nothing follows the id */
  extra?: Record<string, unknown>;
}

const ID = { required: ['id'] };
const CREATE_DEFAULTS = { bundle: '', 'no-pivot': false, 'no-new-keyring': false, 'preserve-fds': 0 };

const COMMANDS: Record<string, CommandDef> = {
  create: { ...ID, flags: CREATE, defaults: CREATE_DEFAULTS },
  run: {
    ...ID,
    flags: {
      ...CREATE,
      '--detach': { name: 'detach', kind: 'boolean' },
      '-d': { name: 'detach', kind: 'boolean' },
      '--no-subreaper': { name: 'no-subreaper', kind: 'boolean' },
      '--keep': { name: 'keep', kind: 'boolean' },
    },
    defaults: { ...CREATE_DEFAULTS, detach: false, 'no-subreaper': false, keep: false },
  },
  // The engines' flags (containerd's shim and conmon: `exec --process F --detach --pid-file P
  // [--console-socket S] [--tty] [--preserve-fds N] ID`) and `exec [those flags] ID CMD ARGS...`.
  exec: {
    ...ID,
    idLast: true,
    flags: {
      '--process': { name: 'process', kind: 'string' },
      '-p': { name: 'process', kind: 'string' },
      '--detach': { name: 'detach', kind: 'boolean' },
      '-d': { name: 'detach', kind: 'boolean' },
      '--pid-file': { name: 'pid-file', kind: 'string' },
      '--console-socket': { name: 'console-socket', kind: 'string' },
      '--tty': { name: 'tty', kind: 'boolean' },
      '-t': { name: 'tty', kind: 'boolean' },
      '--preserve-fds': { name: 'preserve-fds', kind: 'digit-string' },
    },
    defaults: {},
    extra: { command: [] },
  },
  start: { ...ID, flags: {}, defaults: {} },
  state: { ...ID, flags: {}, defaults: {} },
  pause: { ...ID, flags: {}, defaults: {} },
  resume: { ...ID, flags: {}, defaults: {} },
  kill: {
    required: ['id'],
    optional: ['signal'],
    flags: { '--all': { name: 'all', kind: 'boolean' }, '-a': { name: 'all', kind: 'boolean' } },
    defaults: { all: false },
  },
  delete: {
    ...ID,
    flags: { '--force': { name: 'force', kind: 'boolean' }, '-f': { name: 'force', kind: 'boolean' } },
    defaults: { force: false },
  },
  list: {
    required: [],
    flags: {
      '--format': { name: 'format', kind: 'string', choices: ['table', 'json'] },
      '-f': { name: 'format', kind: 'string', choices: ['table', 'json'] },
      '--quiet': { name: 'quiet', kind: 'boolean' },
      '-q': { name: 'quiet', kind: 'boolean' },
    },
    defaults: { format: 'table', quiet: false },
  },
};

const GLOBAL_DEFAULTS = { root: '/run/hull', 'log-format': 'text', debug: false, 'systemd-cgroup': false };

export const FAST_COMMANDS: readonly string[] = Object.keys(COMMANDS);

/**
 * The argv object (yargs-shaped, only the keys hull's handlers read) plus the command name; for
 * exec, `rest` is what follows the id (a leading `--` dropped), as lib/cli.ts splitExecArgs gives it.
 */
export interface FastArgs { command: string; argv: Record<string, unknown>; rest: string[] }

/**
 * Parse `argv` (without node and script) when it is one of the simple, unambiguous shapes; null
 * means "let yargs do it". Never throws.
 */
export function parseFast(argv: readonly string[]): FastArgs | null {
  let command: string | undefined;
  let def: CommandDef | undefined;
  const seen = new Set<string>();
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (def?.idLast && positionals.length) {
      rest = argv.slice(i);
      if (rest[0] === '--') rest = rest.slice(1);
      break;
    }
    if (!tok.startsWith('-')) {
      if (command === undefined) {
        if (!Object.prototype.hasOwnProperty.call(COMMANDS, tok)) return null;
        command = tok;
        def = COMMANDS[tok];
      } else {
        if (tok === '') return null;
        positionals.push(tok);
      }
      continue;
    }
    // An option: `--name`, `--name=value` or `--name value`; anything else (`-`, `--`, `-ab`,
    // `-b=x`, `--no-x` for a flag not declared so, unknown names) is for yargs.
    const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
    const key = eq > 0 ? tok.slice(0, eq) : tok;
    const flag = Object.prototype.hasOwnProperty.call(GLOBALS, key)
      ? GLOBALS[key]
      : def && Object.prototype.hasOwnProperty.call(def.flags, key) ? def.flags[key] : undefined;
    if (!flag || seen.has(flag.name)) return null;
    seen.add(flag.name);
    if (flag.kind === 'boolean') {
      // yargs-parser takes a following "true"/"false" as the value of a boolean
      if (eq > 0) return null;
      const next = argv[i + 1];
      if (next === 'true' || next === 'false') return null;
      values[flag.name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = tok.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) return null;
      i++;
    }
    if (value === '') return null;
    if (flag.choices && !flag.choices.includes(value)) return null;
    if (flag.kind === 'digits' || flag.kind === 'digit-string') {
      if (!/^[0-9]{1,9}$/.test(value)) return null;
      values[flag.name] = flag.kind === 'digits' ? Number(value) : value;
    } else values[flag.name] = value;
  }
  if (!command || !def) return null;
  const optional = def.optional ?? [];
  if (positionals.length < def.required.length || positionals.length > def.required.length + optional.length) return null;
  const out: Record<string, unknown> = { ...GLOBAL_DEFAULTS, ...def.defaults, ...def.extra, ...values };
  [...def.required, ...optional].forEach((name, j) => {
    if (j < positionals.length) out[name] = positionals[j];
  });
  return { command, argv: out, rest };
}
