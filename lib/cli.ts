// The CLI: runc's command set and global flags, parsed by yargs. Each command lazily requires
// only what it needs, so `start`/`state`/`kill` never load the validator, the planner or pino.
import * as fs from 'node:fs';
import type { Argv } from 'yargs';
import { HullError } from './errors';
import { configureLog, logError } from './log';
import type { GlobalOptions } from './lifecycle';

const VERSION = '0.1.0';

export function globals(a: any): GlobalOptions {
  return {
    root: a.root || '/run/hull',
    systemdCgroup: !!a['systemd-cgroup'],
    rootless: a.rootless === true || a.rootless === 'true',
    debug: !!a.debug,
  };
}

const lifecycle = () => require('./lifecycle') as typeof import('./lifecycle');
const manage = () => require('./manage') as typeof import('./manage');

export function print(text: string): void {
  fs.writeSync(1, text);
}

export function versionText(): string {
  let info: { commit?: string; libseccomp?: string } = {};
  try {
    info = JSON.parse(fs.readFileSync(require('node:path').join(__dirname, 'buildinfo.json'), 'utf8'));
  } catch { /* not built from git */ }
  return `hull version ${VERSION}\ncommit: ${info.commit ?? 'unknown'}\nspec: 1.3.0\nnode: ${process.version}\nlibseccomp: ${info.libseccomp ?? 'unknown'}\n`;
}

/** runc's `list` table: Go tabwriter(minwidth 12, tabwidth 1, padding 3). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => r[c].length + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('') + '\n').join('');
}

const createFlags = (y: Argv) =>
  y
    .option('bundle', { alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory' })
    .option('console-socket', { type: 'string', describe: 'path to an AF_UNIX socket which will receive the pty master' })
    .option('pid-file', { type: 'string', describe: 'file to write the init process id to' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot_root (MS_MOVE + chroot instead)' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'do not create a new session keyring' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N additional file descriptors (3..3+N-1) to the container' })
    .positional('id', { type: 'string', describe: 'container id' });

export function createOptions(a: any) {
  const n = Number(a['preserve-fds'] ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new HullError(`invalid --preserve-fds ${a['preserve-fds']}`);
  return {
    id: String(a.id),
    bundle: a.bundle || process.cwd(),
    pidFile: a['pid-file'] || undefined,
    consoleSocket: a['console-socket'] || undefined,
    noPivot: !!a['no-pivot'],
    noNewKeyring: !!a['no-new-keyring'],
    preserveFds: n,
  };
}

/**
 * yargs' CommonJS shim reads process.stdout.columns when it is loaded, which makes Node open a
 * stream on fd 1; for a pipe libuv then sets O_NONBLOCK on the open file description, which
 * `create`/`exec` share with the container (conmon's and the shim's pipes). Hand it a stand-in
 * for the duration of the require so fds 0-2 are never touched.
 */
function loadYargs(): typeof import('yargs/yargs') {
  const real = Object.getOwnPropertyDescriptor(process, 'stdout');
  Object.defineProperty(process, 'stdout', { value: { columns: undefined }, configurable: true });
  try {
    return require('yargs/yargs') as typeof import('yargs/yargs');
  } finally {
    if (real) Object.defineProperty(process, 'stdout', real);
  }
}

const VALUE_GLOBALS = new Set(['--root', '--log', '--log-format', '--rootless']);

/** `hull --version` / `-v` before any command (runc's form); `create -v` stays an error. */
export function wantsVersion(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version' || a === '-v') return true;
    if (VALUE_GLOBALS.has(a)) i++;
    else if (!a.startsWith('-')) return false;
  }
  return false;
}

/** Index of the command word: the first argument that is neither a global flag nor its value (argv.length if none). */
function commandIndex(argv: string[]): number {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (VALUE_GLOBALS.has(a)) i++;
    else if (!a.startsWith('-')) break;
  }
  return i;
}

/** `ps ID -o pid,comm`: what follows the id belongs to ps(1), not to hull's parser. */
function splitPsArgs(argv: string[]): { argv: string[]; psArgs: string[] } {
  let i = commandIndex(argv);
  if (argv[i] !== 'ps') return { argv, psArgs: [] };
  for (i++; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--format' || a === '-f') i++;
    else if (a === '--') return { argv: argv.slice(0, i), psArgs: argv.slice(i + 1) };
    else if (!a.startsWith('-')) return { argv: argv.slice(0, i + 1), psArgs: argv.slice(i + 1).filter((x, j) => !(j === 0 && x === '--')) };
  }
  return { argv, psArgs: [] };
}

const EXEC_VALUE_FLAGS = new Set([
  '--console-socket', '--cwd', '--env', '-e', '--user', '-u', '--additional-gids', '-g', '--process', '-p',
  '--pid-file', '--process-label', '--apparmor', '--cap', '-c', '--preserve-fds', '--cgroup', ...VALUE_GLOBALS,
]);

/** `exec [flags] ID cmd args...`: as in runc, flags end at the id; the rest is the command (a leading `--` dropped). */
function splitExecArgs(argv: string[]): { argv: string[]; execArgs: string[] } {
  let i = commandIndex(argv);
  if (argv[i] !== 'exec') return { argv, execArgs: [] };
  for (i++; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (EXEC_VALUE_FLAGS.has(a)) i++;
    else if (!a.startsWith('-') || a === '-') {
      const rest = argv.slice(i + 1);
      return { argv: argv.slice(0, i + 1), execArgs: rest[0] === '--' ? rest.slice(1) : rest };
    }
  }
  return { argv, execArgs: [] };
}

export async function main(rawArgv: string[]): Promise<number> {
  const { argv: psSplit, psArgs } = splitPsArgs(rawArgv);
  const { argv, execArgs } = splitExecArgs(psSplit);
  // yargs never takes a lone "-" as a flag's value; containerd's shim sends `update --resources - ID`
  for (let i = 0; i + 1 < argv.length; i++) if ((argv[i] === '--resources' || argv[i] === '-r') && argv[i + 1] === '-') argv.splice(i, 2, '--resources=-');
  const yargs = loadYargs();
  let exitCode = 0;
  const y = yargs(argv)
    .scriptName('hull')
    .usage('hull [global options] <command> [command options] <container-id>\n\nAn OCI runtime (runtime-spec 1.3.0), a drop-in for runc.')
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'boolean-negation': false, 'dot-notation': false, 'camel-case-expansion': false })
    .option('root', { type: 'string', default: '/run/hull', describe: 'root directory for the state of containers', global: true })
    .option('log', { type: 'string', describe: 'log file (errors and warnings are appended)', global: true })
    .option('log-format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'log format', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'debug logging', global: true })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'cgroupsPath is slice:prefix:name (systemd)', global: true })
    .option('rootless', { type: 'string', describe: 'rootless mode: true, false or auto (default)', global: true })
    .middleware((a: any) => {
      configureLog({ file: a.log, format: a['log-format'], debug: a.debug });
    })
    .command('create <id>', 'create a container (its init waits for start)', createFlags, async (a: any) => {
      await lifecycle().create(globals(a), createOptions(a));
    })
    .command('start <id>', 'start a created container', (y2) => y2.positional('id', { type: 'string' }), (a: any) => {
      lifecycle().start(globals(a), String(a.id));
    })
    .command('run <id>', 'create and start a container, wait for it unless --detach', (y2) =>
      createFlags(y2)
        .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'do not wait for the container to exit' })
        .option('no-subreaper', { type: 'boolean', default: false, describe: 'do not become a subreaper' })
        .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' }),
      async (a: any) => {
        const { run } = require('./run') as typeof import('./run');
        exitCode = await run(globals(a), { ...createOptions(a), detach: !!a.detach, keep: !!a.keep, noSubreaper: !!a['no-subreaper'] });
      })
    .command('exec <id> [command..]', 'run a process in a container: exec [options] <id> <command> [args...] | -p process.json <id>', (y2) =>
      y2.positional('id', { type: 'string' }).positional('command', { type: 'string', describe: 'command and arguments (everything after the id)' })
        .option('process', { alias: 'p', type: 'string', describe: 'path to a process.json (the whole OCI process), or - for stdin' })
        .option('console-socket', { type: 'string', describe: 'path to an AF_UNIX socket which will receive the pty master' })
        .option('cwd', { type: 'string', describe: 'current working directory in the container' })
        .option('env', { alias: 'e', type: 'string', describe: 'set an environment variable K=V (repeatable)' })
        .option('tty', { alias: 't', type: 'boolean', describe: 'allocate a pseudo-TTY' })
        .option('user', { alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' })
        .option('additional-gids', { alias: 'g', type: 'string', describe: 'additional gids (repeatable)' })
        .option('detach', { alias: 'd', type: 'boolean', describe: 'detach from the process (exit once it runs)' })
        .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
        .option('process-label', { type: 'string', describe: 'SELinux process label (ignored: no SELinux)' })
        .option('apparmor', { type: 'string', describe: 'AppArmor profile (an error: no AppArmor support)' })
        .option('no-new-privs', { type: 'boolean', describe: 'set no_new_privs for the process' })
        .option('cap', { alias: 'c', type: 'string', describe: 'add a capability to the bounding, effective and permitted sets (repeatable)' })
        .option('preserve-fds', { type: 'string', describe: 'pass N additional file descriptors (3..3+N-1) to the process' })
        .option('cgroup', { type: 'string', describe: 'run the process in an existing sub-cgroup: [<controller>[,...]:]<path> (repeatable)' })
        .option('ignore-paused', { type: 'boolean', describe: 'allow exec in a paused container (waits for resume)' }),
      async (a: any) => {
        const ex = require('./exec') as typeof import('./exec');
        exitCode = await ex.exec(globals(a), ex.execOptionsFromArgv(a, execArgs));
      })
    .command('state <id>', 'print the state of a container', (y2) => y2.positional('id', { type: 'string' }), (a: any) => {
      print(JSON.stringify(lifecycle().state(globals(a), String(a.id)), null, 2) + '\n');
    })
    .command('kill <id> [signal]', 'send a signal (default SIGTERM) to the container init', (y2) =>
      y2.positional('id', { type: 'string' }).positional('signal', { type: 'string' })
        .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to every process of the container' }),
      (a: any) => {
        const { parseSignal } = require('./signals') as typeof import('./signals');
        lifecycle().kill(globals(a), String(a.id), parseSignal(a.signal), !!a.all);
      })
    .command('delete <id>', 'delete a container and everything it holds', (y2) =>
      y2.positional('id', { type: 'string' }).option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill it first if it is running' }),
      async (a: any) => {
        await lifecycle().del(globals(a), String(a.id), !!a.force);
      })
    .command('list', 'list containers', (y2) =>
      y2.option('format', { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only ids' }),
      (a: any) => {
        const all = lifecycle().list(globals(a));
        if (a.quiet) print(all.map((s) => s.id + '\n').join(''));
        else if (a.format === 'json') print(JSON.stringify(all) + '\n');
        else print(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]));
      })
    .command('spec', 'write a default config.json', (y2) =>
      y2.option('bundle', { alias: 'b', type: 'string', default: '' }),
      (a: any) => {
        // `spec --rootless` is a bare flag here, while the global --rootless takes a value.
        const rootless = a.rootless === true || a.rootless === '' || a.rootless === 'true';
        const path = require('node:path') as typeof import('node:path');
        const file = path.join(a.bundle || process.cwd(), 'config.json');
        if (fs.existsSync(file)) throw new HullError('File config.json exists. Remove it first');
        const { defaultSpec } = require('./spec') as typeof import('./spec');
        fs.writeFileSync(file, JSON.stringify(defaultSpec(rootless), null, '\t') + '\n');
      })
    .command('check', 'validate a bundle and explain what hull will do with it (exit 0 or 1)', (y2) =>
      y2.option('bundle', { alias: 'b', type: 'string', default: '' }),
      (a: any) => {
        const { check } = require('./check') as typeof import('./check');
        exitCode = check(a.bundle || process.cwd());
      })
    .command('features', 'print the features this build and host support (runtime-spec features.md JSON)', (y2) => y2, () => {
      const { features } = require('./features') as typeof import('./features');
      print(JSON.stringify(features(), null, 4) + '\n');
    })
    .command('pause <id>', 'freeze every process of a container', (y2) => y2.positional('id', { type: 'string' }), (a: any) => {
      manage().pause(globals(a), String(a.id));
    })
    .command('resume <id>', 'thaw a paused container', (y2) => y2.positional('id', { type: 'string' }), (a: any) => {
      manage().resume(globals(a), String(a.id));
    })
    .command('ps <id>', 'list the processes of a container (ps options may follow the id)', (y2) =>
      y2.positional('id', { type: 'string' }).option('format', { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table' }),
      (a: any) => {
        manage().ps(globals(a), String(a.id), a.format, psArgs);
      })
    .command('update <id>', 'update the resource limits of a running container', (y2) =>
      y2.positional('id', { type: 'string' })
        .option('resources', { alias: 'r', type: 'string', describe: 'LinuxResources JSON file, or - for stdin' })
        .option('blkio-weight', { type: 'string' }).option('cpu-period', { type: 'string' })
        .option('cpu-quota', { type: 'string' }).option('cpu-share', { type: 'string' })
        .option('cpu-rt-period', { type: 'string' }).option('cpu-rt-runtime', { type: 'string' })
        .option('cpu-burst', { type: 'string' }).option('cpu-idle', { type: 'string' })
        .option('cpuset-cpus', { type: 'string' }).option('cpuset-mems', { type: 'string' })
        .option('memory', { type: 'string' }).option('memory-reservation', { type: 'string' })
        .option('memory-swap', { type: 'string' }).option('pids-limit', { type: 'string' })
        .option('kernel-memory', { type: 'string', hidden: true }).option('kernel-memory-tcp', { type: 'string', hidden: true })
        .option('l3-cache-schema', { type: 'string' }).option('mem-bw-schema', { type: 'string' }),
      (a: any) => {
        manage().update(globals(a), String(a.id), a);
      })
    .command('events <id>', 'print cgroup statistics and OOM events as JSON lines', (y2) =>
      y2.positional('id', { type: 'string' })
        .option('stats', { type: 'boolean', default: false, describe: 'print the stats once and exit' })
        .option('interval', { type: 'string', default: '5s', describe: 'interval between stats lines' }),
      async (a: any) => {
        const m = manage();
        await m.events(globals(a), String(a.id), !!a.stats, m.parseInterval(String(a.interval)));
      })
    .demandCommand(1, 'a command is required')
    .strict()
    .version(false)
    .option('version', { alias: 'v', type: 'boolean', describe: 'print the version' })
    .help('help')
    .alias('help', 'h')
    .wrap(100)
    .fail((msg, err) => {
      throw err ?? new HullError(msg);
    });

  if (wantsVersion(argv)) {
    print(versionText());
    return 0;
  }
  try {
    await y.parseAsync();
    return exitCode;
  } catch (e) {
    return reportFailure(e);
  }
}

/** A failed command: its one-line message to stderr and --log (the stack too with HULL_TRACE); exit status 1. */
export function reportFailure(e: unknown): number {
  const msg = e instanceof HullError ? e.message : (e as Error).message || String(e);
  logError(msg);
  if (!(e instanceof HullError) && process.env.HULL_TRACE) fs.writeSync(2, String((e as Error).stack) + '\n');
  return 1;
}
