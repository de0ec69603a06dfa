/* hull-bootstrap <plan_fd> <report_fd>: builds one container from a plan (addon/README.md).
 *
 * P (host) -> C1 (joins/creates namespaces, asks P for id maps, forks C2 with CLONE_PARENT, exits)
 *          -> C2 (container init: rootfs, user, caps, ...; tells P it is ready, waits on exec.fifo).
 * P talks to the children over one SOCK_SEQPACKET pair: one message = one kind byte + text. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* messages */
enum { M_DEBUG = 'd', M_WARN = 'w', M_ERROR = 'e', M_MAPS = 'm', M_MAPS_DONE = 'a', M_GO = 'g', M_PID = 'p', M_READY = 'r' };
/* hooks: C2 -> P "run prestart + createRuntime", P -> C2 "done" with C2's host pid as text */
enum { M_HOOKS = 'h', M_HOOKS_DONE = 'H' };
/* seccomp: C2 -> P, the notify listener fd (SCM_RIGHTS), for the listenerPath socket */
enum { M_SECCOMP_FD = 'n' };
static int notify_fd = -1; /* P */

static int g_report_fd = -1; /* P only */
static int g_sync_fd = -1;   /* children: their end of the pair */
static int g_consock = -1;   /* C1 connects it on the host side, before any setns(mnt) */

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf += n;
    len -= (size_t)n;
  }
}

static void report_line(const char *kind, const char *text) {
  if (g_report_fd < 0) return;
  char line[8300];
  int n = snprintf(line, sizeof line, "%s %s\n", kind, text);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) { n = sizeof line - 1; line[n - 1] = '\n'; }
  write_all(g_report_fd, line, (size_t)n);
}

static void p_sink(char kind, const char *text) { report_line(kind == 'd' ? "debug" : "warn", text); }

static int sync_send(int fd, char kind, const char *text) {
  char buf[8200];
  size_t len = text ? strlen(text) : 0;
  if (len > sizeof buf - 1) len = sizeof buf - 1;
  buf[0] = kind;
  if (len) memcpy(buf + 1, text, len);
  ssize_t n;
  do n = send(fd, buf, len + 1, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

/* Returns the kind byte, 0 on EOF, -1 on error; text is NUL-terminated. */
static int g_recv_fd = -1; /* an fd that came with the last message (SCM_RIGHTS), or -1 */
static int sync_recv(int fd, char *text, size_t sz) {
  char buf[8200];
  union { struct cmsghdr h; char c[CMSG_SPACE(sizeof(int))]; } cm;
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.c, .msg_controllen = sizeof cm.c};
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  g_recv_fd = -1;
  struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(&g_recv_fd, CMSG_DATA(h), sizeof(int));
  if (n <= 0) return n == 0 ? 0 : -1;
  size_t len = (size_t)n - 1;
  if (len >= sz) len = sz - 1;
  memcpy(text, buf + 1, len);
  text[len] = 0;
  return (unsigned char)buf[0];
}

static void child_sink(char kind, const char *text) { sync_send(g_sync_fd, kind, text); }

static __attribute__((noreturn)) void child_fail(void) {
  sync_send(g_sync_fd, M_ERROR, fail_message());
  _exit(1);
}

/* ---- C2: the container init ---- */

static int g_fifofd = -1; /* exec.fifo reader, opened by P, inherited by C1 and C2 */
static pid_t g_host_pid; /* C2's pid as the host sees it (from P), for the hooks' state */

/* C2, after its mounts, before pivot_root: P runs prestart + createRuntime (runtime namespaces),
 * then C2 runs createContainer. Asked whenever the plan has hooks: C2 learns its host pid here. */
static int c2_hooks_before_pivot(const struct plan *p) {
  if (!p->n_hooks) return 0;
  char text[64];
  if (sync_send(g_sync_fd, M_HOOKS, NULL) < 0) return fail_errno(errno, "ask for hooks");
  if (sync_recv(g_sync_fd, text, sizeof text) != M_HOOKS_DONE) _exit(1); /* P failed and reports */
  g_host_pid = (pid_t)atoi(text);
  return hooks_run(p, HOOK_CREATE_CONTAINER, "creating", g_host_pid);
}

static __attribute__((noreturn)) void c2_main(const struct plan *p) {
  umask(0); /* created nodes and dirs get exactly the modes asked for */
  if (setsid() < 0) { fail_errno(errno, "setsid"); child_fail(); }
  int in_userns = 0, join_mnt = 0;
  for (size_t i = 0; i < p->n_ns; i++) {
    in_userns |= p->ns[i].flag == CLONE_NEWUSER;
    join_mnt |= p->ns[i].flag == CLONE_NEWNS && p->ns[i].path[0];
  }
  if (!join_mnt && !ns_has_new(p, CLONE_NEWNS)) { fail("a new or joined mount namespace is required"); child_fail(); }

  int fifofd = -1, procfd = -1;
  if (join_mnt) {
    /* exec into a running container: its rootfs is already set up; "/" is its root since setns. */
    if (p->exec_fifo) { fail("exec fifo given with a joined mount namespace"); child_fail(); }
    if (p->n_hooks) { fail("hooks given with a joined mount namespace"); child_fail(); }
    if (p->n_sysctls || p->has_oom) {
      if ((procfd = proc_open_private()) < 0) child_fail();
    }
  } else {
    int rootfd = -1;
    if (mounts_prepare_root(p, &rootfd) < 0) child_fail();
    /* Host-side handles, taken before pivot_root makes the host unreachable; the fifo was
     * opened by P (a user-ns root may not even reach the state dir). */
    fifofd = g_fifofd;
    if (p->n_sysctls || p->has_oom) {
      if ((procfd = proc_open_private()) < 0) child_fail();
    }
    if (mounts_apply(p, rootfd) < 0) child_fail();
    if (devices_create(p, rootfd, in_userns) < 0) child_fail();
    if (symlinks_create(p, rootfd) < 0) child_fail();
    if (p->cwd) {
      int cfd = ps_mkdir_all(rootfd, p->cwd, 0755);
      if (cfd < 0) { fail_errno(errno, "mkdir cwd %s", p->cwd); child_fail(); }
      close(cfd);
    }
    if (c2_hooks_before_pivot(p) < 0) child_fail();
    if (mounts_pivot(p, rootfd) < 0) child_fail();
    close(rootfd);
    if (mounts_readonly_and_masked(p) < 0) child_fail();
  }
  if (p->terminal && terminal_setup(p, g_consock) < 0) child_fail();
  if (!join_mnt && mounts_readonly_root(p) < 0) child_fail();
  if (set_hostname(p) < 0) child_fail();
  if (sysctls_apply(p, procfd) < 0) child_fail();
  if (oom_apply(p, procfd) < 0) child_fail();
  if (procfd >= 0) close(procfd); /* an unmasked procfs must never reach the container */
  if (keyring_join(p) < 0) child_fail();
  if (rlimits_apply(p) < 0) child_fail();

  /* scheduler, ioPriority, personality, memoryPolicy, execCPUAffinity.final, stdio owner (security.c) */
  if (sched_apply(p) < 0 || ioprio_apply(p) < 0 || personality_apply(p) < 0 || mempolicy_apply(p) < 0 ||
      cpu_affinity_final(p) < 0 || stdio_chown(p) < 0) child_fail();

  void *sctx = NULL;
  if (seccomp_prepare(p, &sctx) < 0) child_fail();
  if (caps_drop_bounding(p) < 0) child_fail();
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the caps go. */
  int late_seccomp = p->no_new_privs || caps_final_has(p, 21 /* CAP_SYS_ADMIN */);
  /* A notify listener gets its fd during create, so such a filter is loaded before "ready". */
  int sc_notify = seccomp_uses_notify(p);
  if (sctx && !late_seccomp && seccomp_load_ctx(p, sctx, g_sync_fd) < 0) child_fail();
  if (user_switch(p) < 0) child_fail();
  if (caps_apply(p) < 0) child_fail();
  if (nnp_apply(p) < 0) child_fail();
  umask(p->has_user && p->umask != 0xFFFFFFFFu ? p->umask : 0022);
  if (cwd_apply(p) < 0) child_fail();
  char exe[4096];
  if (exec_resolve(p, exe, sizeof exe) < 0) child_fail();
  if (sctx && late_seccomp && sc_notify && seccomp_load_ctx(p, sctx, g_sync_fd) < 0) child_fail();

  sync_send(g_sync_fd, M_READY, NULL);
  close(g_sync_fd);
  g_sync_fd = -1;
  report_set_sink(NULL);

  /* A second reader of exec.fifo (CLOEXEC, above the preserved fds) stays open through the
   * startContainer hooks until fds_prepare_exec closes it just before execve: `hull start` waits
   * for the last reader to go before it runs the poststart hooks. */
  if (fifofd >= 0) (void)fcntl(fifofd, F_DUPFD_CLOEXEC, 3 + (int)p->preserve_fds);
  if (fifofd >= 0 && fifo_wait(fifofd) < 0) {
    fprintf(stderr, "hull: %s\n", fail_message());
    _exit(1);
  }
  /* startContainer: in the container, as its process (user, caps, cwd, no_new_privs), before the
   * late seccomp load. `start` has returned: the error goes to the container's stderr. */
  if (hooks_run(p, HOOK_START_CONTAINER, "created", g_host_pid) < 0) {
    fprintf(stderr, "hull: %s\n", fail_message());
    _exit(1);
  }
  if (sctx && late_seccomp && !sc_notify && seccomp_load_ctx(p, sctx, -1) < 0) {
    fprintf(stderr, "hull: %s\n", fail_message());
    _exit(1);
  }
  if (fds_prepare_exec(p) < 0) {
    fprintf(stderr, "hull: %s\n", fail_message());
    _exit(1);
  }
  execve(exe, (char *const *)p->args, (char *const *)env_with_home(p));
  int e = errno;
  fprintf(stderr, "hull: exec %s: %s\n", exe, errno_text(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* ---- C1: namespaces ---- */

static __attribute__((noreturn)) void c1_main(const struct plan *p) {
  char buf[64];
  int nsfds[16];
  if (p->n_ns > 16) { fail("too many namespaces"); child_fail(); }
  if (ns_open_paths(p, nsfds) < 0) child_fail();
  if (sync_recv(g_sync_fd, buf, sizeof buf) != M_GO) _exit(1);
  g_consock = console_connect(p);
  if (g_consock < 0 && p->console_socket) child_fail();

  int userns = 0;
  for (size_t i = 0; i < p->n_ns; i++) userns |= p->ns[i].flag == CLONE_NEWUSER;
  if (ns_join(p, nsfds, 1) < 0) child_fail();
  if (ns_has_new(p, CLONE_NEWUSER)) {
    if (unshare(CLONE_NEWUSER) < 0) { fail_errno(errno, "unshare user namespace"); child_fail(); }
    sync_send(g_sync_fd, M_MAPS, NULL);
    if (sync_recv(g_sync_fd, buf, sizeof buf) != M_MAPS_DONE) _exit(1);
  }
  if (userns) {
    /* Become root of the user namespace so the setup below owns what it creates. */
    if (setresgid(0, 0, 0) < 0) { fail_errno(errno, "setresgid 0 in the user namespace"); child_fail(); }
    if (setresuid(0, 0, 0) < 0) { fail_errno(errno, "setresuid 0 in the user namespace"); child_fail(); }
  }
  if (ns_join(p, nsfds, 0) < 0) child_fail();
  uint32_t flags = ns_new_flags(p) & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
  if (flags && unshare((int)flags) < 0) { fail_errno(errno, "unshare namespaces 0x%x", flags); child_fail(); }
  /* Time offsets can only be set before any process lives in the new time namespace (C2 will). */
  if (p->n_time_offsets && time_offsets_write(p) < 0) child_fail();
  /* cgroup ns last: its root is the cgroup P has just put us in. */
  if (ns_has_new(p, CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) { fail_errno(errno, "unshare cgroup namespace"); child_fail(); }

  /* CLONE_PARENT: C2 becomes P's child, so P can reap (or kill) it after C1 is gone. */
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) { fail_errno(errno, "clone init"); child_fail(); }
  if (pid == 0) c2_main(p);
  snprintf(buf, sizeof buf, "%ld", pid);
  sync_send(g_sync_fd, M_PID, buf);
  _exit(0);
}

/* ---- P ---- */

static void close_extra_fds(const struct plan *p, int report_fd) {
  unsigned int first = 3 + p->preserve_fds;
  if ((unsigned)report_fd > first) syscall(SYS_close_range, first, (unsigned)report_fd - 1, 0);
  if ((unsigned)report_fd >= first) syscall(SYS_close_range, (unsigned)report_fd + 1, ~0U, 0);
  else syscall(SYS_close_range, first, ~0U, 0);
}

static pid_t g_c1 = -1, g_c2 = -1;

static void reap(pid_t *pid, int kill_it) {
  if (*pid <= 0) return;
  if (kill_it) kill(*pid, SIGKILL);
  while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {}
  *pid = -1;
}

/* P: prestart then createRuntime hooks, in the runtime namespaces, with the init's host pid; then
 * C2 may go on (createContainer). */
static int p_hooks(const struct plan *p, int sock) {
  if (hooks_run(p, HOOK_PRESTART, "creating", g_c2) < 0 || hooks_run(p, HOOK_CREATE_RUNTIME, "creating", g_c2) < 0) return -1;
  char text[32];
  snprintf(text, sizeof text, "%d", (int)g_c2);
  if (sync_send(sock, M_HOOKS_DONE, text) < 0) return fail_errno(errno, "answer the init after its hooks");
  return 0;
}

static int parse_fd(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end != 0 || v < 0 || v > 1 << 20) return -1;
  return (int)v;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--features")) return features_print();
  if (argc != 3) {
    fprintf(stderr, "usage: hull-bootstrap <plan_fd> <report_fd>\n");
    return 2;
  }
  int plan_fd = parse_fd(argv[1]), report_fd = parse_fd(argv[2]);
  if (plan_fd < 0 || report_fd < 0 || plan_fd == report_fd) {
    fprintf(stderr, "hull-bootstrap: bad fd arguments\n");
    return 2;
  }
  g_report_fd = report_fd;
  report_set_sink(p_sink);
  /* Non-dumpable while holding host resources: /proc/<pid> stays root-owned and un-ptrace-able. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  struct plan plan;
  struct cgroups_state cg = {0};
  int sv[2] = {-1, -1};
  uint8_t *buf = NULL;
  size_t len = 0;

  if (seal_ensure(argv) < 0) goto fail;
  if (plan_read_fd(plan_fd, &buf, &len) < 0) goto fail;
  close(plan_fd);
  if (plan_decode(buf, len, &plan) < 0) goto fail;
  close_extra_fds(&plan, report_fd);
  /* exec CPU affinity (initial), then the seccomp program, compiled here before anything exists */
  if (cpu_affinity_initial(&plan) < 0 || seccomp_compile(&plan) < 0) goto fail;

  if (plan.exec_fifo && (g_fifofd = fifo_open(&plan)) < 0) goto fail;
  if (cgroups_create(&plan, &cg) < 0) goto fail;
  if (devcg_attach(&plan) < 0) goto fail; /* v2 device rules, before the init joins */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) { fail_errno(errno, "socketpair"); goto fail; }

  g_c1 = fork();
  if (g_c1 < 0) { fail_errno(errno, "fork"); goto fail; }
  if (g_c1 == 0) {
    close(sv[0]);
    close(report_fd);
    g_report_fd = -1;
    g_sync_fd = sv[1];
    report_set_sink(child_sink);
    c1_main(&plan);
  }
  close(sv[1]);
  /* Only the init keeps a reader: once it is gone, `start` gets ENXIO instead of a silent success. */
  if (g_fifofd >= 0) { close(g_fifofd); g_fifofd = -1; }
  if (cgroups_join(&plan, g_c1) < 0) goto fail;
  sync_send(sv[0], M_GO, NULL);

  int hooks_asked = 0;
  for (;;) {
    char text[8200];
    int kind = sync_recv(sv[0], text, sizeof text);
    if (kind == M_READY) break;
    switch (kind) {
    case M_DEBUG: report_line("debug", text); continue;
    case M_WARN: report_line("warn", text); continue;
    case M_MAPS:
      if (ns_write_maps(&plan, g_c1) < 0) goto fail;
      sync_send(sv[0], M_MAPS_DONE, NULL);
      continue;
    case M_PID:
      g_c2 = (pid_t)atoi(text);
      reap(&g_c1, 0);
      if (hooks_asked && p_hooks(&plan, sv[0]) < 0) goto fail;
      hooks_asked = 0;
      continue;
    case M_HOOKS:
      /* C2 may ask before C1's M_PID arrives: then P answers once it knows the pid. */
      hooks_asked = 1;
      if (g_c2 > 0 && p_hooks(&plan, sv[0]) < 0) goto fail;
      if (g_c2 > 0) hooks_asked = 0;
      continue;
    case M_SECCOMP_FD:
      if (g_recv_fd < 0) { fail("seccomp: no listener fd from the init"); goto fail; }
      if (notify_fd >= 0) close(notify_fd);
      notify_fd = g_recv_fd;
      continue;
    case M_ERROR: fail("%s", text); goto fail;
    case 0: {
      int st = 0;
      pid_t who = g_c2 > 0 ? g_c2 : g_c1;
      if (who > 0 && waitpid(who, &st, WNOHANG) == who) {
        if (who == g_c2) g_c2 = -1; else g_c1 = -1;
        if (WIFSIGNALED(st)) { fail("container init killed by signal %d before it was ready", WTERMSIG(st)); goto fail; }
        fail("container init exited with status %d before it was ready", WEXITSTATUS(st));
        goto fail;
      }
      fail("container init exited before it was ready");
      goto fail;
    }
    default: fail_errno(errno, "read from init"); goto fail;
    }
  }
  reap(&g_c1, 0);
  if (seccomp_uses_notify(&plan)) {
    if (notify_fd < 0) { fail("seccomp: the init sent no listener fd"); goto fail; }
    if (g_c2 <= 0) { fail("seccomp: listener state: init pid unknown"); goto fail; }
    if (seccomp_send_listener(&plan, notify_fd, g_c2) < 0) goto fail;
    close(notify_fd);
    notify_fd = -1;
  }
  char pidtext[32];
  snprintf(pidtext, sizeof pidtext, "%d", (int)g_c2);
  report_line("ok", pidtext);
  return 0;

fail:
  reap(&g_c2, 1);
  reap(&g_c1, 1);
  cgroups_rollback(buf ? &plan : NULL, &cg);
  report_line("error", fail_message());
  return 1;
}
