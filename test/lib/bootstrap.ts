/* c8 ignore start */ // test helpers, not code under test
// Shared by the tests that drive build/Release/hull-bootstrap directly with plans (test/bootstrap.test.ts,
// test/security-bootstrap.test.ts): spawning it as the CLI does, a busybox rootfs, the exec.fifo
// release and the kill of a left-over init. Needs the built native core (`npm run build:native`).
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HullNative } from '../../lib/native';

export const RELEASE = path.join(__dirname, '..', '..', 'build', 'Release');
export const BOOTSTRAP = path.join(RELEASE, 'hull-bootstrap');
export const native = require(path.join(RELEASE, 'hull_addon.node')) as HullNative;

export const CLONE_NEWNS = 0x00020000, CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWPID = 0x20000000, CLONE_NEWCGROUP = 0x02000000;
export const MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_RDONLY = 1, MS_BIND = 4096, MS_REC = 16384;

/** The bootstrap's report lines, its exit code, and the `ok <pid>` / `error <text>` lines parsed. */
export interface Report { lines: string[]; code: number | null; ok?: number; error?: string }

/** Spawn the bootstrap the way the CLI does: stdio [0,1,2,...preserved,plan,report], args `<plan_fd> <report_fd>`. */
export function runBootstrap(plan: Buffer, outFd: number | 'ignore' = 'ignore', preserved: number[] = []): Promise<Report> {
  return new Promise((resolve, reject) => {
    const n = preserved.length;
    const child = spawn(BOOTSTRAP, [String(3 + n), String(4 + n)],
      { stdio: ['ignore', outFd, outFd, ...preserved, 'pipe', 'pipe'], env: {} });
    let text = '';
    const planPipe = child.stdio[3 + n] as NodeJS.WritableStream;
    const reportPipe = child.stdio[4 + n] as NodeJS.ReadableStream;
    planPipe.on('error', () => undefined);
    reportPipe.setEncoding('utf8');
    reportPipe.on('data', (d: string) => { text += d; });
    child.on('error', reject);
    planPipe.end(plan);
    child.on('close', (code) => {
      const lines = text.split('\n').filter((l) => l !== '');
      const r: Report = { lines, code };
      for (const l of lines) {
        if (l.startsWith('ok ')) r.ok = Number(l.slice(3));
        if (l.startsWith('error ')) r.error = l.slice(6);
      }
      resolve(r);
    });
  });
}

export const rand = () => Math.random().toString(36).slice(2, 10);

/**
 * A busybox rootfs in a temp dir `<tmp>/<prefix>XXXXXX` (rootfs/ and exec.fifo in it), the applets
 * linked by name; `passwd`: the text of /etc/passwd, when one is wanted.
 */
export function makeRootfs(prefix: string, passwd?: string): { dir: string; rootfs: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  // `busybox --install -s` would point the links at the host's realpath (/usr/bin/busybox): link by name.
  for (const applet of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  }
  if (passwd !== undefined) fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), passwd);
  execFileSync('mkfifo', [path.join(dir, 'exec.fifo')]);
  return { dir, rootfs };
}

/** What `hull start` does: one byte into exec.fifo (the init is blocked on it), then remove it. */
export function releaseFifo(fifo: string): void {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.writeSync(fd, Buffer.from('0'));
  fs.closeSync(fd);
  fs.unlinkSync(fifo);
}

/** Kill an init that a failed test left running and reap it (the test process must be the subreaper). */
export async function killInit(pid: number | undefined): Promise<void> {
  if (!pid) return;
  try { process.kill(pid, 'SIGKILL'); } catch { return; }
  await native.waitpid(pid).catch(() => undefined);
}
