/* Namespaces: C1 joins the given ones (user first) and creates the rest; P writes the id maps. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ns_open_paths(const struct plan *p, int *fds) {
  /* Open every path before joining anything: after setns(mnt) the host paths may be gone. */
  for (size_t i = 0; i < p->n_ns; i++) {
    fds[i] = -1;
    if (!p->ns[i].path[0]) continue;
    fds[i] = open(p->ns[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) return fail_errno(errno, "open namespace %s", p->ns[i].path);
  }
  return 0;
}

int ns_join(const struct plan *p, const int *fds, int user) {
  for (size_t i = 0; i < p->n_ns; i++) {
    if (fds[i] < 0 || (p->ns[i].flag == CLONE_NEWUSER) != !!user) continue;
    if (setns(fds[i], (int)p->ns[i].flag) < 0) return fail_errno(errno, "setns %s", p->ns[i].path);
    close(fds[i]);
    report_debug("joined namespace %s", p->ns[i].path);
  }
  return 0;
}

int ns_has_new(const struct plan *p, uint32_t flag) {
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].flag == flag && !p->ns[i].path[0]) return 1;
  return 0;
}

uint32_t ns_new_flags(const struct plan *p) {
  uint32_t f = 0;
  for (size_t i = 0; i < p->n_ns; i++)
    if (!p->ns[i].path[0]) f |= p->ns[i].flag;
  return f;
}

static int write_proc(pid_t pid, const char *file, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "write %s", path);
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len); /* the kernel takes a map in exactly one write */
  int e = errno;
  close(fd);
  if (n < 0) return fail_errno(e, "write %s", path);
  if ((size_t)n != len) return fail_errno(EIO, "write %s", path);
  return 0;
}

int ns_write_maps(const struct plan *p, pid_t pid) {
  if (p->uid_map && p->uid_map[0] && write_proc(pid, "uid_map", p->uid_map) < 0) return -1;
  if (p->setgroups_deny && write_proc(pid, "setgroups", "deny") < 0) return -1;
  if (p->gid_map && p->gid_map[0] && write_proc(pid, "gid_map", p->gid_map) < 0) return -1;
  return 0;
}

/* linux.timeOffsets -> /proc/self/timens_offsets, after unshare(CLONE_NEWTIME), before the fork. */
int time_offsets_write(const struct plan *p) {
  char buf[128];
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "open /proc/self/timens_offsets");
  for (size_t i = 0; i < p->n_time_offsets; i++) {
    const struct time_offset *t = &p->time_offsets[i];
    int n = snprintf(buf, sizeof buf, "%s %lld %u\n", t->clock == 1 ? "monotonic" : "boottime", (long long)t->secs, t->nsecs);
    if (write(fd, buf, (size_t)n) != n) {
      int e = errno;
      close(fd);
      return fail_errno(e, "write time offset \"%.*s\"", n - 1, buf);
    }
  }
  close(fd);
  return 0;
}
