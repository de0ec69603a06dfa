// Build step: record what `hull --version` prints and which node runs hull (bin/hull has no PATH).
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
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
