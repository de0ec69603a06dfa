// Runs the C bootstrap: hands it the plan on one pipe, reads its report from another.
// fds 0-2 go to it untouched (they are the container's stdio; no Node stream is ever opened on
// them, so libuv never flips O_NONBLOCK on a description the container shares), and fds
// 3..3+N-1 are the preserved ones.
import { spawn } from 'node:child_process';
import { bootstrapPath } from './native';
import { HullError } from './errors';
import { logDebug, logWarn } from './log';

export interface BootstrapResult { pid: number }

export function runBootstrap(plan: Buffer, preserveFds: number): Promise<BootstrapResult> {
  const planFd = 3 + preserveFds;
  const reportFd = planFd + 1;
  const stdio: (number | 'pipe')[] = [0, 1, 2];
  for (let fd = 3; fd < planFd; fd++) stdio.push(fd);
  stdio.push('pipe', 'pipe');
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(bootstrapPath(), [String(planFd), String(reportFd)], { stdio, env: {} });
    } catch (e) {
      reject(new HullError(`cannot start the bootstrap: ${(e as Error).message}`));
      return;
    }
    const planPipe = child.stdio[planFd] as NodeJS.WritableStream;
    const reportPipe = child.stdio[reportFd] as NodeJS.ReadableStream;
    let report = '';
    let spawnError: Error | undefined;
    child.on('error', (e) => { spawnError = e; });
    reportPipe.setEncoding('utf8');
    reportPipe.on('data', (d: string) => { report += d; });
    // The bootstrap may fail before reading the whole plan: that is reported, not an EPIPE crash.
    planPipe.on('error', () => undefined);
    planPipe.end(plan);
    child.on('close', (code, signal) => {
      if (spawnError) return reject(new HullError(`cannot start the bootstrap: ${spawnError.message}`));
      let result: BootstrapResult | undefined;
      let error: string | undefined;
      for (const line of report.split('\n')) {
        if (!line) continue;
        const sp = line.indexOf(' ');
        const kind = sp < 0 ? line : line.slice(0, sp);
        const rest = sp < 0 ? '' : line.slice(sp + 1);
        if (kind === 'debug') logDebug(rest);
        else if (kind === 'warn') logWarn(rest);
        else if (kind === 'ok') result = { pid: Number(rest) };
        else if (kind === 'error') error = rest;
      }
      if (error !== undefined) return reject(new HullError(error));
      if (result && code === 0 && result.pid > 0) return resolve(result);
      reject(new HullError(`bootstrap failed without a report (exit ${code ?? 'signal ' + signal})`));
    });
  });
}
