/* Process attributes and the final exec (C2): hostname, sysctl and oom_score_adj through a private
 * procfs, keyring, rlimits, cwd, args[0] lookup, the exec.fifo barrier, fd hygiene. */
#include "hull.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A procfs instance of our own, never attached anywhere: a container-controlled /proc (or a volume
 * mounted over /proc/sys) cannot redirect these writes (CVE-2025-52881 class). */
int proc_open_private(void) {
  int fs = fsopen("proc", FSOPEN_CLOEXEC);
  if (fs < 0) return fail_errno(errno, "open private procfs");
  int mnt = -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
      (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0) {
    int e = errno;
    close(fs);
    return fail_errno(e, "open private procfs");
  }
  close(fs);
  return mnt;
}

static int proc_write(int procfd, const char *rel, const char *value, const char *what) {
  struct open_how how = {.flags = O_WRONLY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
  int fd = (int)syscall(SYS_openat2, procfd, rel, &how, sizeof how);
  if (fd < 0) return fail_errno(errno, "%s", what);
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  int e = errno;
  close(fd);
  if (n < 0) return fail_errno(e, "%s", what);
  if ((size_t)n != len) return fail_errno(EIO, "%s", what);
  return 0;
}

int set_hostname(const struct plan *p) {
  if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0) return fail_errno(errno, "sethostname %s", p->hostname);
  if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0) return fail_errno(errno, "setdomainname %s", p->domainname);
  return 0;
}

int sysctls_apply(const struct plan *p, int procfd) {
  for (size_t i = 0; i < p->n_sysctls; i++) {
    char rel[300], what[600];
    const char *k = p->sysctls[i].key;
    size_t n = (size_t)snprintf(rel, sizeof rel, "sys/%s", k);
    /* dotted key -> path; a '/' in a key stands for a '.' in a name (eth0.100) */
    for (size_t j = 4; j < n; j++) rel[j] = rel[j] == '.' ? '/' : rel[j] == '/' ? '.' : rel[j];
    snprintf(what, sizeof what, "write sysctl %s", k);
    if (proc_write(procfd, rel, p->sysctls[i].value, what) < 0) return -1;
    report_debug("sysctl %s = %s", k, p->sysctls[i].value);
  }
  return 0;
}

int oom_apply(const struct plan *p, int procfd) {
  if (!p->has_oom) return 0;
  char rel[64], val[16];
  snprintf(rel, sizeof rel, "%d/oom_score_adj", (int)getpid());
  snprintf(val, sizeof val, "%d", (int)p->oom_score_adj);
  return proc_write(procfd, rel, val, "write oom_score_adj");
}

int keyring_join(const struct plan *p) {
  if (p->no_new_keyring) return 0;
  const char *name = p->container_id && p->container_id[0] ? p->container_id : "hull";
  long serial = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
  if (serial < 0 && errno == ENOSYS) return 0;
  if (serial < 0) return fail_errno(errno, "join session keyring %s", name);
  /* Joining by name finds any keyring of that name its owner may search: the next container with
   * this id would share it. Possessor rights only, plus view (so it shows in /proc/keys): a new
   * session keyring per container, as asked. */
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, serial, 0x3f010000) < 0) /* someone else's keyring of that name */
    report_warn("session keyring %s: set permissions: %s (it may be shared)", name, errno_text(errno));
  return 0;
}

static const char *rlimit_name(uint32_t r) {
  static const char *names[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
                                "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
                                "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                                "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
  return r < sizeof names / sizeof *names ? names[r] : "RLIMIT_UNKNOWN";
}

int rlimits_apply(const struct plan *p) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const struct rlimit_req *r = &p->rlimits[i];
    struct rlimit lim = {(rlim_t)r->soft, (rlim_t)r->hard};
    if (setrlimit((__rlimit_resource_t)r->resource, &lim) < 0) return fail_errno(errno, "setrlimit %s", rlimit_name(r->resource));
  }
  return 0;
}

int cwd_apply(const struct plan *p) {
  const char *cwd = p->cwd ? p->cwd : "/";
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail_errno(errno, "open /");
  /* In-root and without magic links: cwd=/proc/self/fd/N cannot reach a leaked fd (CVE-2024-21626). */
  int fd = ps_open(root, cwd, O_PATH | O_DIRECTORY, 0);
  int e = errno;
  close(root);
  if (fd < 0) return fail_errno(e, "chdir to cwd (\"%s\") set in config.json failed", cwd);
  int r = fchdir(fd);
  e = errno;
  close(fd);
  if (r < 0) return fail_errno(e, "chdir to cwd (\"%s\") set in config.json failed", cwd);
  return 0;
}

const char *env_get(const struct plan *p, const char *key) {
  size_t kl = strlen(key);
  const char *found = NULL;
  for (size_t i = 0; i < p->n_env; i++)
    if (!strncmp(p->env[i], key, kl) && p->env[i][kl] == '=') found = p->env[i] + kl + 1; /* last wins */
  return found;
}

static int is_executable(const char *path, int *err) {
  struct stat st;
  if (stat(path, &st) < 0) { *err = errno; return 0; }
  if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) { *err = EACCES; return 0; }
  return 1;
}

/* Go's exec.LookPath, with runc's error texts. */
int exec_resolve(const struct plan *p, char *out, size_t outsz) {
  const char *name = p->args[0];
  if (!name[0]) return fail("exec: \"\": executable file not found in $PATH");
  int err = 0;
  if (strchr(name, '/')) {
    struct stat st;
    if (stat(name, &st) < 0) return fail_errno(errno, "exec: \"%s\": stat %s", name, name);
    if (!is_executable(name, &err)) return fail("exec: \"%s\": %s", name, errno_text(err));
    snprintf(out, outsz, "%s", name);
    return 0;
  }
  const char *path = env_get(p, "PATH");
  if (!path) path = "";
  const char *s = path;
  for (;;) {
    const char *e = strchr(s, ':');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n > 0 || e || *path) {
      int len = n ? snprintf(out, outsz, "%.*s/%s", (int)n, s, name) : snprintf(out, outsz, "./%s", name);
      if (len > 0 && (size_t)len < outsz && is_executable(out, &err)) return 0;
    }
    if (!e) break;
    s = e + 1;
  }
  return fail("exec: \"%s\": executable file not found in $PATH", name);
}

/* Creates exec.fifo (0622, as runc) in the fresh state dir and opens the reader end. */
int fifo_open(const struct plan *p) {
  if (!p->exec_fifo) return -1;
  mode_t old = umask(0);
  int r = mkfifo(p->exec_fifo, 0622);
  umask(old);
  if (r < 0 && errno != EEXIST) return fail_errno(errno, "mkfifo %s", p->exec_fifo);
  int fd = open(p->exec_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail_errno(errno, "open exec fifo %s", p->exec_fifo);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
    close(fd);
    return fail("open exec fifo %s: not a fifo", p->exec_fifo);
  }
  return fd;
}

/* No POLLHUP reaches a reader that opened before any writer: POLLIN means `hull start` wrote. */
int fifo_wait(int fifofd) {
  for (;;) {
    struct pollfd pfd = {fifofd, POLLIN, 0};
    int r = poll(&pfd, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno(errno, "poll exec fifo");
    char c;
    ssize_t n = read(fifofd, &c, 1);
    if (n == 1) break;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n == 0) return fail("exec fifo closed without a start signal");
    return fail_errno(errno, "read exec fifo");
  }
  close(fifofd);
  return 0;
}

int fds_prepare_exec(const struct plan *p) {
  unsigned int first = 3 + p->preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, 0) < 0) return fail_errno(errno, "close_range");
  for (unsigned int fd = 3; fd < first; fd++) {
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  return 0;
}

/* runc's rule: a process without HOME gets the home dir of its uid from the container's own
 * /etc/passwd (read after pivot_root and the user switch), else "/". Opened non-blocking and
 * checked regular, so an image cannot stall the init with a fifo there. */
const char *const *env_with_home(const struct plan *p) {
  if (env_get(p, "HOME")) return p->env;
  static char home[PATH_MAX + 8];
  const char *dir = "/";
  char line[4096];
  FILE *f = NULL;
  int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) f = fdopen(fd, "r");
  else if (fd >= 0) close(fd);
  while (f && fgets(line, sizeof line, f)) {
    char *fields[7] = {0}, *s = line;
    int n = 0;
    for (; n < 7 && s; n++) { fields[n] = s; s = strchr(s, ':'); if (s) *s++ = 0; }
    if (n < 6 || !fields[2][0]) continue;
    char *end;
    unsigned long uid = strtoul(fields[2], &end, 10);
    if (*end || uid != (unsigned long)getuid()) continue;
    if (fields[5][0]) dir = fields[5];
    snprintf(home, sizeof home, "HOME=%s", dir);
    break;
  }
  if (!home[0]) snprintf(home, sizeof home, "HOME=%s", dir);
  if (f) fclose(f);
  const char **env = calloc(p->n_env + 2, sizeof *env);
  if (!env) return p->env;
  memcpy(env, p->env, p->n_env * sizeof *env);
  env[p->n_env] = home;
  return env;
}
