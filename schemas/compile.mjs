// Compiles the JSON Schemas in this directory ahead of time into CommonJS validators
// (dist/schemas/{config,state,features}.js) with ajv's standalone code generation, so
// hull never compiles a schema at run time.
//
// Cost of loading (node 20, 2 cores, warm page cache, measured with
// `node -e "t=process.hrtime.bigint();require('./dist/schemas/config.js');..."`):
// config.js 2.5-2.8 ms, state.js 1.2-1.4 ms, features.js 1.4-1.6 ms, where requiring an
// empty file costs 1.1 ms. Compiling the config schema with ajv at run time instead costs
// ~135 ms, hence this script.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { transformSync } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, '..', 'dist', 'schemas');

const readSchema = (name) => JSON.parse(fs.readFileSync(path.join(here, name), 'utf8'));
const shared = ['defs.json', 'defs-linux.json', 'config-linux.json'].map(readSchema);

// One output file per entry schema: loading the state validator need not pay for config.
const targets = {
  config: 'config-schema.json',
  state: 'state-schema.json',
  features: 'features-schema.json',
};

fs.mkdirSync(outDir, { recursive: true });
for (const [name, file] of Object.entries(targets)) {
  const ajv = new Ajv({
    schemas: [...shared, readSchema(file)],
    code: { source: true, esm: false },
    // First error only: enough for a one-line message, and cheaper.
    allErrors: false,
    // Features allow null for every optional member: type unions are intended.
    allowUnionTypes: true,
    inlineRefs: false,
    strict: true,
  });
  const id = readSchema(file).$id;
  if (!ajv.getSchema(id)) throw new Error(`schema ${id} did not compile`);
  const code = standaloneCode(ajv, ajv.getSchema(id));
  // Minified: a smaller file parses faster on every hull invocation.
  const { code: small } = transformSync(code, { minify: true, format: 'cjs', target: 'node20' });
  fs.writeFileSync(path.join(outDir, `${name}.js`), `'use strict';\n${small}`);
}
console.log(`schemas compiled into ${path.relative(process.cwd(), outDir) || '.'}`);
