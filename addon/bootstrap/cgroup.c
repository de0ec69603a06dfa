/* Cgroups, done by P on the host side: mkdir (remembering what it created), limits, join C1.
 * On failure P removes exactly the dirs it created, deepest first. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, const char *value, const char *step) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "%s %s", step, path);
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  int e = errno;
  close(fd);
  if (n < 0) return fail_errno(e, "%s %s", step, path);
  if ((size_t)n != len) return fail_errno(EIO, "%s %s", step, path);
  return 0;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks: inherit the parent's. */
static int cpuset_inherit(const char *dir) {
  static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    char path[PATH_MAX], ppath[PATH_MAX], val[4096];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0; /* not a cpuset hierarchy */
    ssize_t n = read(fd, val, sizeof val - 1);
    close(fd);
    if (n > 0 && !(n == 1 && val[0] == '\n')) continue;
    const char *slash = strrchr(dir, '/');
    snprintf(ppath, sizeof ppath, "%.*s/%s", (int)(slash - dir), dir, files[i]);
    fd = open(ppath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno, "read %s", ppath);
    n = read(fd, val, sizeof val - 1);
    close(fd);
    if (n < 0) return fail_errno(errno, "read %s", ppath);
    val[n] = 0;
    if (write_file(path, val, "write") < 0) return -1;
  }
  return 0;
}

static int mkdir_tracked(const char *dir, struct cgroups_state *st) {
  char path[PATH_MAX];
  size_t len = strlen(dir);
  if (len >= sizeof path) return fail_errno(ENAMETOOLONG, "mkdir %s", dir);
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != 0) continue;
    char save = path[i];
    path[i] = 0;
    if (mkdir(path, 0755) == 0) {
      char *copy = strdup(path);
      char **grown = realloc(st->created, (st->n + 1) * sizeof *grown);
      if (!copy || !grown) { free(copy); if (grown) st->created = grown; rmdir(path); return fail_errno(ENOMEM, "mkdir %s", path); }
      st->created = grown;
      st->created[st->n++] = copy;
      if (cpuset_inherit(path) < 0) return -1;
    } else if (errno != EEXIST) {
      return fail_errno(errno, "mkdir %s", path);
    }
    path[i] = save;
  }
  return 0;
}

int cgroups_create(const struct plan *p, struct cgroups_state *st) {
  for (size_t i = 0; i < p->n_cgroups; i++)
    if (mkdir_tracked(p->cgroups[i], st) < 0) return -1;
  for (size_t i = 0; i < p->n_cg_writes; i++) {
    const struct cg_write *w = &p->cg_writes[i];
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", p->cgroups[w->index], w->file);
    if (write_file(path, w->value, "write") < 0) return -1;
    report_debug("cgroup: %s = %s", path, w->value);
  }
  return 0;
}

int cgroups_join(const struct plan *p, pid_t pid) {
  char val[32];
  snprintf(val, sizeof val, "%d", (int)pid);
  for (size_t i = 0; i < p->n_cgroups; i++) {
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/cgroup.procs", p->cgroups[i]);
    if (write_file(path, val, "join cgroup") < 0) return -1;
  }
  return 0;
}

void cgroups_rollback(const struct plan *p, struct cgroups_state *st) {
  (void)p;
  while (st->n > 0) {
    char *d = st->created[--st->n];
    /* The reaped tasks can take a moment to leave the css_set: retry EBUSY briefly. */
    int r, tries = 0;
    while ((r = rmdir(d)) < 0 && errno == EBUSY && tries++ < 100) {
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    if (r < 0 && errno != ENOENT) report_warn("rollback: rmdir %s: %s", d, errno_text(errno));
    free(d);
  }
}
