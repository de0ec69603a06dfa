/* Device nodes and symlinks inside the rootfs (C2, before pivot). All creation is *at() on a parent
 * dir fd resolved in-root. In a user ns the host node is bind-mounted instead of mknod'ed, and is
 * never chown'ed (it is the host's node). */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int device_bind(int rootfd, int parent, const char *base, const struct device_req *d) {
  int fd = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST) return fail_errno(errno, "create device mount point %s", d->path);
  if (fd >= 0) close(fd);
  int target = ps_open(rootfd, d->path, O_PATH | O_NOFOLLOW, 0);
  if (target < 0) return fail_errno(errno, "open device mount point %s", d->path);
  struct stat st;
  if (fstat(target, &st) < 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
    close(target);
    return fail("bind device %s: mount point is not a file", d->path);
  }
  char fdp[64];
  fd_path(target, fdp, sizeof fdp);
  int r = mount(d->path, fdp, NULL, MS_BIND, NULL);
  int e = errno;
  close(target);
  if (r < 0) return fail_errno(e, "bind device %s", d->path);
  return 0;
}

int devices_create(const struct plan *p, int rootfd, int in_userns) {
  (void)in_userns; /* the planner picks bind (hflags 1) for user namespaces */
  for (size_t i = 0; i < p->n_devices; i++) {
    const struct device_req *d = &p->devices[i];
    char base[256];
    int parent = ps_open_parent(rootfd, d->path, base, sizeof base, 1);
    if (parent < 0) return fail_errno(errno, "mkdir parent of device %s", d->path);
    int r = 0;
    if (d->hflags & 1) {
      r = device_bind(rootfd, parent, base, d);
    } else {
      mode_t type = d->kind == 'b' ? S_IFBLK : d->kind == 'p' ? S_IFIFO : S_IFCHR;
      /* umask is 0 during setup, so the node gets exactly d->mode */
      if (mknodat(parent, base, type | (d->mode & 07777), makedev(d->major, d->minor)) < 0) {
        if (errno != EEXIST) r = fail_errno(errno, "mknod %s", d->path);
      } else if (fchownat(parent, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
        r = fail_errno(errno, "chown %s", d->path);
      }
    }
    close(parent);
    if (r < 0) return -1;
    report_debug("device %s %c %u:%u", d->path, (char)d->kind, d->major, d->minor);
  }
  return 0;
}

int symlinks_create(const struct plan *p, int rootfd) {
  for (size_t i = 0; i < p->n_symlinks; i++) {
    const struct symlink_req *s = &p->symlinks[i];
    char base[256];
    int parent = ps_open_parent(rootfd, s->linkpath, base, sizeof base, 1);
    if (parent < 0) return fail_errno(errno, "mkdir parent of symlink %s", s->linkpath);
    int r = symlinkat(s->target, parent, base);
    int e = errno;
    close(parent);
    if (r < 0 && e != EEXIST) return fail_errno(e, "symlink %s -> %s", s->linkpath, s->target);
  }
  return 0;
}
