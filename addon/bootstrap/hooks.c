/* OCI hooks run by the bootstrap (runtime-spec config.md, "POSIX-platform Hooks"): prestart and
 * createRuntime in P (runtime namespaces, paths resolved on the host), createContainer in C2 before
 * pivot_root (container namespaces, paths still resolved on the host), startContainer in C2 after
 * exec.fifo (container namespaces and root). poststart and poststop are run by the CLI (lib/hooks.ts).
 *
 * One hook: fork; the child gets the state JSON on stdin (a memfd, rewound), stdout and stderr into
 * memfds, no other fd, an empty signal mask, and only the hook's own env; it execve()s `path` with
 * `args`. The parent waits on a pidfd with the hook's timeout and SIGKILLs it when it expires. A
 * non-zero exit, a signal or a timeout is an error naming the hook, with the tail of its stderr. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_TAIL 1024

static const char *kind_name(uint32_t kind) {
  static const char *names[HOOK_KINDS] = {"prestart", "createRuntime", "createContainer", "startContainer"};
  return kind < HOOK_KINDS ? names[kind] : "unknown";
}

int hooks_any(const struct plan *p, uint32_t kind) {
  for (size_t i = 0; i < p->n_hooks; i++)
    if (p->hooks[i].kind == kind) return 1;
  return 0;
}

static int write_all_fd(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    s += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The state JSON as a readable memfd positioned at 0. */
static int state_memfd(const struct plan *p, const char *status, pid_t pid) {
  int fd = memfd_create("hull-hook-state", MFD_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "hook state: memfd_create");
  char mid[96];
  int n = snprintf(mid, sizeof mid, "\"status\":\"%s\",\"pid\":%d", status, (int)pid);
  if (write_all_fd(fd, p->hook_state_head, strlen(p->hook_state_head)) < 0 || write_all_fd(fd, mid, (size_t)n) < 0 ||
      write_all_fd(fd, p->hook_state_tail, strlen(p->hook_state_tail)) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
    int e = errno;
    close(fd);
    return fail_errno(e, "hook state: write");
  }
  return fd;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `pid`; with a timeout (seconds, 0 = none) SIGKILLs it when the time is up.
 * Returns 0 with *status set, or -1 (errno) when waiting itself failed. */
static int wait_hook(pid_t pid, uint32_t timeout, int *status, int *timed_out) {
  *timed_out = 0;
  if (timeout) {
    int64_t deadline = now_ms() + (int64_t)timeout * 1000;
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
      int64_t left = deadline - now_ms();
      if (left <= 0) break;
      if (pfd >= 0) {
        struct pollfd pf = {pfd, POLLIN, 0};
        int r = poll(&pf, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
        if (r < 0 && errno != EINTR) { close(pfd); pfd = -1; continue; }
        if (r > 0) break; /* exited */
      } else {
        /* no pidfd (a seccomp profile in force for startContainer may refuse it): poll waitpid */
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) return 0;
        if (w < 0 && errno != EINTR) return -1;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
      }
    }
    if (pfd >= 0) close(pfd);
    if (waitpid(pid, status, WNOHANG) == pid) return 0;
    *timed_out = 1;
    kill(pid, SIGKILL);
  }
  for (;;) {
    pid_t w = waitpid(pid, status, 0);
    if (w == pid) return 0;
    if (w < 0 && errno != EINTR) return -1;
  }
}

/* The last OUTPUT_TAIL bytes of a capture memfd, on one line (report lines end at '\n'). */
static void output_tail(int fd, char *out, size_t outsz) {
  out[0] = 0;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size <= 0) return;
  size_t want = (size_t)st.st_size < outsz - 1 ? (size_t)st.st_size : outsz - 1;
  ssize_t n = pread(fd, out, want, st.st_size - (off_t)want);
  if (n <= 0) return;
  out[n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) out[i] = ' ';
  while (n > 0 && out[n - 1] == ' ') out[--n] = 0;
  size_t lead = strspn(out, " ");
  if (lead) memmove(out, out + lead, (size_t)n - lead + 1);
}

static int run_one(const struct plan *p, const struct hook_req *h, const char *status, pid_t state_pid) {
  const char *kind = kind_name(h->kind);
  int statefd = -1, outfd = -1, errfd = -1, execpipe[2] = {-1, -1}, ret = -1;
  if ((statefd = state_memfd(p, status, state_pid)) < 0) {
    fail_wrap("%s hook #%zu (%s)", kind, h->index, h->path);
    return -1;
  }
  outfd = memfd_create("hull-hook-stdout", MFD_CLOEXEC);
  errfd = memfd_create("hull-hook-stderr", MFD_CLOEXEC);
  if (outfd < 0 || errfd < 0 || pipe2(execpipe, O_CLOEXEC) < 0) {
    fail_errno(errno, "%s hook #%zu (%s): set up", kind, h->index, h->path);
    goto out;
  }
  /* The container process's umask is not the hook's business: createContainer runs while C2
   * still has umask 0 (P keeps the CLI's). */
  mode_t hook_umask = h->kind == HOOK_CREATE_CONTAINER ? 022 : (mode_t)-1;
  pid_t pid = fork();
  if (pid < 0) {
    fail_errno(errno, "%s hook #%zu (%s): fork", kind, h->index, h->path);
    goto out;
  }
  if (pid == 0) {
    /* Lift every fd we hand on above 2 first, so no dup2 below can clobber another one. */
    int in = fcntl(statefd, F_DUPFD_CLOEXEC, 3), out = fcntl(outfd, F_DUPFD_CLOEXEC, 3);
    int errf = fcntl(errfd, F_DUPFD_CLOEXEC, 3), report = fcntl(execpipe[1], F_DUPFD_CLOEXEC, 3);
    if (in < 0 || out < 0 || errf < 0 || report < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errf, 2) < 0) {
      int e = errno;
      if (report >= 0 && write(report, &e, sizeof e) < 0) {}
      _exit(127);
    }
    /* Nothing of the runtime's reaches the hook: every fd above 2 except the exec-error pipe,
     * which is CLOEXEC and closes on a successful execve. */
    if (report > 3) syscall(SYS_close_range, 3, (unsigned)report - 1, 0);
    syscall(SYS_close_range, (unsigned)report + 1, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (hook_umask != (mode_t)-1) umask(hook_umask);
    execve(h->path, (char *const *)h->argv, (char *const *)h->envp);
    int e = errno;
    if (write(report, &e, sizeof e) < 0) {}
    _exit(127);
  }
  close(execpipe[1]);
  execpipe[1] = -1;
  int exec_err = 0;
  ssize_t n;
  do n = read(execpipe[0], &exec_err, sizeof exec_err); while (n < 0 && errno == EINTR);
  int st = 0, timed_out = 0;
  if (wait_hook(pid, n == (ssize_t)sizeof exec_err ? 0 : h->timeout, &st, &timed_out) < 0) {
    fail_errno(errno, "%s hook #%zu (%s): wait", kind, h->index, h->path);
    goto out;
  }
  if (n == (ssize_t)sizeof exec_err) {
    fail("%s hook #%zu (%s): exec: %s", kind, h->index, h->path, errno_text(exec_err));
    goto out;
  }
  if (timed_out) {
    fail("%s hook #%zu (%s): timed out after %us (killed)", kind, h->index, h->path, h->timeout);
    goto out;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    report_debug("%s hook #%zu (%s) done", kind, h->index, h->path);
    ret = 0;
    goto out;
  }
  char err[OUTPUT_TAIL + 1], outtxt[OUTPUT_TAIL + 1];
  output_tail(errfd, err, sizeof err);
  output_tail(outfd, outtxt, sizeof outtxt);
  char how[64];
  if (WIFSIGNALED(st)) snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
  else snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(st));
  fail("%s hook #%zu (%s): %s%s%s%s%s", kind, h->index, h->path, how,
       err[0] ? ", stderr: " : "", err, outtxt[0] ? ", stdout: " : "", outtxt);
out:
  if (statefd >= 0) close(statefd);
  if (outfd >= 0) close(outfd);
  if (errfd >= 0) close(errfd);
  if (execpipe[0] >= 0) close(execpipe[0]);
  if (execpipe[1] >= 0) close(execpipe[1]);
  return ret;
}

/* Runs every hook of `kind`, in plan (= config) order; the first failure stops and is returned. */
int hooks_run(const struct plan *p, uint32_t kind, const char *status, pid_t pid) {
  for (size_t i = 0; i < p->n_hooks; i++)
    if (p->hooks[i].kind == kind && run_one(p, &p->hooks[i], status, pid) < 0) return -1;
  return 0;
}
