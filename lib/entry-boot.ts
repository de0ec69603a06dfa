// What bin/hull runs when the bundle is up to date: loads dist/hull.bundle.js (one file: lib/ and
// its entry lib/entry-fast.ts; yargs and pino are separate bundles in dist/vendor/, loaded only when
// used) with the V8 code cache that bin/bundle.mjs wrote beside it, so the bundle is neither read
// as many files nor parsed at every start. A missing or rejected cache (another node, other V8
// flags) only costs the compile. bin/bundle.mjs calls writeCache() with the same wrapper.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const BUNDLE = path.join(__dirname, 'hull.bundle.js');
export const CACHE = path.join(__dirname, 'hull.bundle.cache');

type ModuleFn = (exports: object, req: NodeRequire, module: { exports: any }, filename: string, dirname: string) => void;

function compile(cachedData?: Buffer): { script: vm.Script; fn: ModuleFn } {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  // The CommonJS wrapper, on one line so that line numbers in stacks stay those of the file.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    cachedData,
  });
  return { script, fn: script.runInThisContext() as ModuleFn };
}

function load(cachedData?: Buffer): { script: vm.Script; hull: typeof import('./entry-fast') } {
  const { script, fn } = compile(cachedData);
  const mod = { exports: {} as any };
  // The bundle lives beside this file: its relative requires (./vendor/yargs.js, ./schemas/…,
  // ../build/Release/…) and require.main resolve as they would for dist/hull.bundle.js itself.
  fn(mod.exports, require, mod, BUNDLE, __dirname);
  return { script, hull: mod.exports };
}

/**
 * Build step: compile and initialise the bundle, run the given command lines through it (bin/bundle.mjs
 * passes ones without side effects outside a temp dir: check, and commands that fail early), then
 * save V8's code cache, which then also holds the functions those commands compiled.
 */
export async function writeCache(train: string[][]): Promise<number> {
  const { script, hull } = load();
  for (const argv of train) await hull.hullMain(argv);
  const data = script.createCachedData();
  fs.writeFileSync(CACHE, data);
  return data.length;
}

if (require.main === module) {
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(CACHE);
  } catch {
    /* no cache: compile */
  }
  load(cachedData).hull.hullMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
