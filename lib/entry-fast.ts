// Entry point of the bundle that bin/hull runs (dist/hull.bundle.js, built by bin/bundle.mjs from the
// tsc output and loaded by lib/entry-boot.ts).
// The hot, simple command lines (lib/fastargs.ts) run their handler directly; everything else goes
// to the yargs CLI (lib/cli.ts main), which dist/hull.js, the plain tsc entry, always uses.
// The handlers below are the same calls lib/cli.ts makes for these commands; test/fastargs.test.ts
// runs both entries on the same command lines and compares what they do.
import { createOptions, globals, main, print, reportFailure, table, versionText, wantsVersion } from './cli';
import { FastArgs, parseFast } from './fastargs';
import { configureLog } from './log';

const lifecycle = () => require('./lifecycle') as typeof import('./lifecycle');

async function runFast(f: FastArgs): Promise<number> {
  const a = f.argv as any;
  configureLog({ file: a.log, format: a['log-format'], debug: a.debug });
  try {
    switch (f.command) {
      case 'create':
        await lifecycle().create(globals(a), createOptions(a));
        return 0;
      case 'run': {
        const { run } = require('./run') as typeof import('./run');
        return await run(globals(a), { ...createOptions(a), detach: !!a.detach, keep: !!a.keep, noSubreaper: !!a['no-subreaper'] });
      }
      case 'exec': {
        const ex = require('./exec') as typeof import('./exec');
        return await ex.exec(globals(a), ex.execOptionsFromArgv(a, f.rest));
      }
      case 'start':
        lifecycle().start(globals(a), String(a.id));
        return 0;
      case 'state':
        print(JSON.stringify(lifecycle().state(globals(a), String(a.id)), null, 2) + '\n');
        return 0;
      case 'kill': {
        const { parseSignal } = require('./signals') as typeof import('./signals');
        lifecycle().kill(globals(a), String(a.id), parseSignal(a.signal), !!a.all);
        return 0;
      }
      case 'delete':
        await lifecycle().del(globals(a), String(a.id), !!a.force);
        return 0;
      case 'list': {
        const all = lifecycle().list(globals(a));
        if (a.quiet) print(all.map((s) => s.id + '\n').join(''));
        else if (a.format === 'json') print(JSON.stringify(all) + '\n');
        else print(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]));
        return 0;
      }
      case 'pause':
        (require('./manage') as typeof import('./manage')).pause(globals(a), String(a.id));
        return 0;
      case 'resume':
        (require('./manage') as typeof import('./manage')).resume(globals(a), String(a.id));
        return 0;
      default:
        throw new Error(`fast path: no handler for ${f.command}`);
    }
  } catch (e) {
    return reportFailure(e);
  }
}

export function hullMain(argv: string[]): Promise<number> {
  if (wantsVersion(argv)) {
    print(versionText());
    return Promise.resolve(0);
  }
  const f = parseFast(argv);
  return f ? runFast(f) : main(argv);
}
