#!/usr/bin/env node
// Builds the Results tables of conformance/README.md from two TAP runs of the suite:
//   npx tap --reporter=tap conformance/*.test.ts > hull.tap
//   RUNTIME=runc npx tap --reporter=tap conformance/*.test.ts > runc.tap
//   node conformance/lib/results.mjs "runc 1.1.5=runc.tap" "crun 1.8.1=crun.tap" hull=hull.tap
// A test is "pass", "FAIL", or, when it only fails through assertions marked # TODO (known runc
// deviations, see runcTodo in harness.ts), "FAIL (todo: known runc deviation)". "-" = not run.
import { readFileSync } from 'node:fs';

function parse(file) {
  const out = new Map(); // file -> Map(test -> result)
  let cur = null;
  let pendingTodoFail = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let m = /^# Subtest: (conformance\/\S+\.test\.ts)/.exec(line);
    if (m) { cur = m[1]; out.set(cur, out.get(cur) ?? new Map()); continue; }
    if (/^ {8}not ok \d+ .*# TODO/.test(line)) pendingTodoFail = true;
    m = /^ {4}(ok|not ok) \d+ - (.*?)(?: # time=.*)?$/.exec(line);
    if (m && cur) {
      const res = m[1] === 'not ok' ? 'FAIL' : pendingTodoFail ? 'FAIL (todo: known runc deviation)' : 'pass';
      out.get(cur).set(m[2], res);
      pendingTodoFail = false;
    }
  }
  return out;
}

// Each argument is label=file.tap; columns in the order given.
const runs = process.argv.slice(2).map((a) => {
  const i = a.lastIndexOf('=');
  return { label: a.slice(0, i), results: parse(a.slice(i + 1)) };
});
const files = [...new Set(runs.flatMap((r) => [...r.results.keys()]))].sort();
let text = '';
for (const f of files) {
  const names = [...new Set(runs.flatMap((r) => [...(r.results.get(f)?.keys() ?? [])]))];
  text += `**${f.replace('conformance/', '')}**\n\n| test | ${runs.map((r) => r.label).join(' | ')} |\n|---|${runs.map(() => '---|').join('')}\n`;
  for (const n of names) text += `| ${n.replace(/\|/g, '\\|')} | ${runs.map((r) => r.results.get(f)?.get(n) ?? '-').join(' | ')} |\n`;
  text += '\n';
}
process.stdout.write(text);
