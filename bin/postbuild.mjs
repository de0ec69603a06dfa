// Build step: record what `hull --version` prints and which node runs hull (bin/hull has no PATH).
import { execFileSync, execSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd) => { try { return execSync(cmd, { cwd: top, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return undefined; } };
mkdirSync(join(top, 'dist'), { recursive: true });
writeFileSync(join(top, 'dist', 'buildinfo.json'), JSON.stringify({
  commit: run('git rev-parse HEAD'),
  libseccomp: run('pkg-config --modversion libseccomp'),
}) + '\n');
rmSync(join(top, 'dist', 'node'), { force: true });
symlinkSync(process.execPath, join(top, 'dist', 'node'));

// The launcher: bin/hull is a symlink to dist/hull-launch, bin/launcher.c compiled here (static if
// the toolchain allows: no dynamic loader work per call). Without a C compiler, bin/hull.sh, the
// same logic in /bin/sh (~1 ms more per call), takes its place.
const launch = join(top, 'dist', 'hull-launch');
rmSync(launch, { force: true });
let built = false;
for (const extra of [['-static'], []]) {
  try {
    execFileSync('cc', ['-O2', '-s', '-Wall', '-Werror', ...extra, '-o', launch, join(top, 'bin', 'launcher.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
    built = true;
    break;
  } catch { /* try the next way */ }
}
if (!built) copyFileSync(join(top, 'bin', 'hull.sh'), launch);
chmodSync(launch, 0o755);
