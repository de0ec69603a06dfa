// `hull check`: validate a bundle and explain what hull will do with it. No side effects.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HullError } from './errors';
import { loadConfig } from './lifecycle';

function out(line: string): void {
  fs.writeSync(1, line + '\n');
}

export function check(bundleArg: string): number {
  const bundle = path.resolve(bundleArg);
  let spec: any;
  try {
    spec = loadConfig(bundle);
  } catch (e) {
    out(`error: ${(e as Error).message}`);
    return 1;
  }
  const { validateConfig } = require('./validate') as typeof import('./validate');
  const v = validateConfig(spec);
  const warnings = [...v.warnings];
  const errors = v.errors.map((e) => `config.json: ${e}`);
  if (!errors.length) {
    // Plan it for real (without side effects) to surface what only planning can see.
    try {
      const cg = require('./cgroups') as typeof import('./cgroups');
      const dirs = cg.containerDirs(cg.detectLayout(), spec.linux?.cgroupsPath, 'check', { systemd: false, ownCgroup: fs.readFileSync('/proc/self/cgroup', 'utf8') });
      const writes = cg.resourceWrites(dirs, spec.linux?.resources ?? {}, { linuxDevices: spec.linux?.devices });
      const { buildPlan } = require('./planner') as typeof import('./planner');
      const { encodePlan } = require('./plan') as typeof import('./plan');
      const plan = buildPlan({
        id: 'check', spec, bundle, fifo: '/nonexistent/exec.fifo', cgroups: dirs, cgroupWrites: writes,
        noPivot: false, noNewKeyring: false, preserveFds: 0, debug: false, warn: (w) => warnings.push(w),
      });
      const bytes = encodePlan(plan.records).length;
      const ns = Object.entries(plan.namespaces).map(([t, p]) => (p ? `${t} (join ${p})` : t)).join(', ');
      out(`rootfs: ${plan.rootfs}${spec.root?.readonly ? ' (read-only)' : ''}`);
      out(`process: ${JSON.stringify(spec.process.args)} as ${spec.process.user?.uid ?? 0}:${spec.process.user?.gid ?? 0} in ${spec.process.cwd}`);
      out(`namespaces: ${ns || 'none (host)'}`);
      out(`mounts: ${(spec.mounts ?? []).length}; cgroup dirs: ${dirs.dirs.length}; cgroup writes: ${writes.length}`);
      out(`plan: ${plan.records.length} records, ${bytes} bytes`);
    } catch (e) {
      errors.push(e instanceof HullError ? e.message : (e as Error).message);
    }
  }
  for (const w of warnings) out(`warning: ${w}`);
  for (const e of errors) out(`error: ${e}`);
  out(errors.length ? `${bundle}: invalid (${errors.length} error${errors.length > 1 ? 's' : ''})` : `${bundle}: valid`);
  return errors.length ? 1 : 0;
}
