/* In-root path resolution. Every lookup is openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) below the
 * rootfs fd, and every creation is *at() on a dir fd obtained that way, so no symlink (absolute,
 * relative, or swapped in by a race) can make a lookup, mkdir, mknod or mount land outside the root.
 * Functions return -1 with errno set; callers add the context. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fd_path(int fd, char *buf, size_t sz) {
  snprintf(buf, sz, "/proc/self/fd/%d", fd);
  return 0;
}

int ps_clean(const char *in, char *out, size_t outsz) {
  size_t o = 0;
  const char *s = in;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 1 && s[0] == '.') {
      /* skip */
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--; /* ".." never climbs above the root */
      if (o > 0) o--;
    } else {
      if (o + (o ? 1 : 0) + n + 1 > outsz) { errno = ENAMETOOLONG; return -1; }
      if (o) out[o++] = '/';
      memcpy(out + o, s, n);
      o += n;
    }
    s += n;
  }
  out[o] = 0;
  return 0;
}

static int openat2_in(int dirfd, const char *rel, int flags, uint64_t resolve) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = 0,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve};
  const char *p = rel[0] ? rel : ".";
  for (int tries = 0; tries < 128; tries++) {
    long fd = syscall(SYS_openat2, dirfd, p, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno != EAGAIN && errno != EINTR) return -1; /* EAGAIN: a concurrent rename; retry */
  }
  return -1;
}

int ps_open(int rootfd, const char *path, int flags, uint64_t extra_resolve) {
  char rel[4096];
  if (ps_clean(path, rel, sizeof rel) < 0) return -1;
  return openat2_in(rootfd, rel, flags, extra_resolve);
}

static int mkdir_all_depth(int rootfd, const char *path, mode_t mode, int depth) {
  char rel[4096];
  if (depth > 40) { errno = ELOOP; return -1; }
  if (ps_clean(path, rel, sizeof rel) < 0) return -1;
  int fd = openat2_in(rootfd, rel, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0 || errno != ENOENT) return fd;
  /* Walk: resolve each prefix in-root; create the missing component in the dir fd resolved so far. */
  int cur = openat2_in(rootfd, "", O_PATH | O_DIRECTORY, 0);
  if (cur < 0) return -1;
  size_t len = strlen(rel);
  for (size_t i = 0; i <= len; i++) {
    if (rel[i] != '/' && rel[i] != 0) continue;
    char save = rel[i];
    rel[i] = 0;
    char *slash = strrchr(rel, '/');
    const char *comp = slash ? slash + 1 : rel;
    int next = openat2_in(rootfd, rel, O_PATH | O_DIRECTORY, 0);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST) { int e = errno; close(cur); errno = e; return -1; }
      next = openat2_in(rootfd, rel, O_PATH | O_DIRECTORY, 0);
      char target[4096];
      ssize_t tl;
      if (next < 0 && errno == ENOENT && (tl = readlinkat(cur, comp, target, sizeof target - 1)) > 0) {
        /* A dangling symlink: create its target instead, still in-root (as MkdirAllInRoot does). */
        target[tl] = 0;
        char joined[8400];
        if (target[0] == '/')
          snprintf(joined, sizeof joined, "%s/%s", target, save ? rel + i + 1 : "");
        else
          snprintf(joined, sizeof joined, "/%.*s/%s/%s", slash ? (int)(slash - rel) : 0, rel, target, save ? rel + i + 1 : "");
        close(cur);
        return mkdir_all_depth(rootfd, joined, mode, depth + 1);
      }
    }
    rel[i] = save;
    if (next < 0) { int e = errno; close(cur); errno = e; return -1; }
    close(cur);
    cur = next;
  }
  return cur;
}

int ps_mkdir_all(int rootfd, const char *path, mode_t mode) { return mkdir_all_depth(rootfd, path, mode, 0); }

int ps_open_parent(int rootfd, const char *path, char *base, size_t basesz, int create) {
  char rel[4096];
  if (ps_clean(path, rel, sizeof rel) < 0) return -1;
  if (!rel[0]) { errno = EINVAL; return -1; }
  char *slash = strrchr(rel, '/');
  const char *b = slash ? slash + 1 : rel;
  if (strlen(b) + 1 > basesz) { errno = ENAMETOOLONG; return -1; }
  strcpy(base, b);
  if (slash) *slash = 0; else rel[0] = 0;
  char abs[4097];
  snprintf(abs, sizeof abs, "/%s", rel);
  if (create) return ps_mkdir_all(rootfd, abs, 0755);
  return openat2_in(rootfd, rel, O_PATH | O_DIRECTORY, 0);
}

int ps_create_file(int rootfd, const char *path, mode_t mode) {
  char base[256];
  int dir = ps_open_parent(rootfd, path, base, sizeof base, 1);
  if (dir < 0) return -1;
  int fd = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  int e = errno;
  close(dir);
  if (fd >= 0) close(fd);
  else if (e != EEXIST) { errno = e; return -1; }
  return ps_open(rootfd, path, O_PATH, 0);
}
