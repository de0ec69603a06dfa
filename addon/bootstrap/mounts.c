/* Mounts (C2): rootfs propagation and bind, the plan's mounts (in-root targets, mounted through the
 * target fd), pivot_root, readonly and masked paths, readonly root. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static int in_userns(const struct plan *p) {
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].flag == CLONE_NEWUSER) return 1;
  return 0;
}

/* pivot_root and MS_MOVE refuse a shared parent mount: make the mount holding the rootfs private
 * (in our new mount namespace only). */
static int rootfs_parent_private(const char *rootfs) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", rootfs);
  for (;;) {
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
        (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
      if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0) return fail_errno(errno, "make %s private", path);
      return 0;
    }
    char *slash = strrchr(path, '/');
    if (!slash) return 0;
    if (slash == path) {
      if (path[1] == 0) return 0;
      path[1] = 0;
    } else {
      *slash = 0;
    }
  }
}

int mounts_prepare_root(const struct plan *p, int *rootfd) {
  uint32_t prop = p->has_propagation ? (p->propagation & PROPAGATION) : MS_SLAVE;
  if (!prop) prop = MS_SLAVE;
  if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0) return fail_errno(errno, "set propagation of /");
  if (rootfs_parent_private(p->rootfs) < 0) return -1;
  if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) return fail_errno(errno, "bind rootfs %s", p->rootfs);
  *rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*rootfd < 0) return fail_errno(errno, "open rootfs %s", p->rootfs);
  /* /proc, /sys and /dev are where the kernel filesystems, device nodes and masks go: one that is a
   * symlink in the rootfs is refused whether or not the config mounts over it (CVE-2019-19921,
   * CVE-2025-54867, CVE-2026-41579 classes). Nothing has been created yet. A mount onto one of them
   * is refused by mount_one, with the mount in the message. */
  static const char *const special[] = {"proc", "sys", "dev"};
  for (size_t i = 0; i < 3; i++) {
    int mounted = 0;
    for (size_t k = 0; k < p->n_mounts && !mounted; k++) {
      char rel[PATH_MAX];
      mounted = ps_clean(p->mounts[k].dest, rel, sizeof rel) == 0 && !strcmp(rel, special[i]);
    }
    if (mounted) continue;
    struct stat st;
    if (fstatat(*rootfd, special[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(*rootfd, special[i], target, sizeof target - 1);
      target[n > 0 ? n : 0] = 0;
      close(*rootfd);
      *rootfd = -1;
      return fail("rootfs /%s is a symlink (to %s): refused", special[i], target);
    }
  }
  report_debug("rootfs %s bound, propagation 0x%x", p->rootfs, prop);
  return 0;
}

/* Files under /proc that may be bind-mounted over (lxcfs-style); anything else there is refused. */
static int proc_bind_allowed(const char *rel) {
  static const char *ok[] = {"proc/cpuinfo", "proc/diskstats", "proc/meminfo", "proc/stat", "proc/swaps",
                             "proc/uptime", "proc/loadavg", "proc/slabinfo", "proc/net/dev",
                             "proc/sys/kernel/ns_last_pid", NULL};
  for (int i = 0; ok[i]; i++)
    if (!strcmp(rel, ok[i])) return 1;
  return 0;
}

static unsigned long locked_flags(const char *source) {
  struct statvfs s;
  if (statvfs(source, &s) < 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

#define HF_BIND 1u       /* source is a host path to bind */
#define HF_TMPCOPYUP 2u  /* tmpfs: copy what the destination held into it (podman --read-only) */

/* Copies a directory tree from one dir fd to another, *at() calls only, never following a symlink:
 * both sides are inside the container (the old one hidden under the new tmpfs, reached by an fd
 * opened before the mount). Owners and modes are kept; sockets are skipped. */
static int copy_tree(int from, int to, int depth) {
  if (depth > 64) { errno = ELOOP; return -1; }
  int dfd = dup(from);
  if (dfd < 0) return -1;
  DIR *d = fdopendir(dfd);
  if (!d) { close(dfd); return -1; }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = -1; break; }
    mode_t perm = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      int sub = -1, dst = -1;
      if (mkdirat(to, e->d_name, perm) < 0 ||
          (sub = openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
          (dst = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
          copy_tree(sub, dst, depth + 1) < 0 || fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, perm) < 0)
        rc = -1;
      if (sub >= 0) close(sub);
      if (dst >= 0) close(dst);
    } else if (S_ISREG(st.st_mode)) {
      int in = openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out = in < 0 ? -1 : openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
      char buf[65536];
      ssize_t n = 0;
      while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) { n = -1; break; }
      if (in < 0 || out < 0 || n < 0 || fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, perm) < 0) rc = -1;
      if (in >= 0) close(in);
      if (out >= 0) close(out);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(from, e->d_name, target, sizeof target - 1);
      if (n < 0) { rc = -1; break; }
      target[n] = 0;
      if (symlinkat(target, to, e->d_name) < 0 || fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) rc = -1;
    } else if (!S_ISSOCK(st.st_mode)) {
      if (mknodat(to, e->d_name, st.st_mode, st.st_rdev) < 0 || fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) rc = -1;
    }
  }
  int err = errno;
  closedir(d);
  errno = err;
  return rc;
}

static int mount_one(const struct plan *p, int rootfd, const struct mount_req *m) {
  char rel[PATH_MAX], fdp[64];
  const char *src = m->source[0] ? m->source : "none";
  if (ps_clean(m->dest, rel, sizeof rel) < 0) return fail_errno(errno, "mount %s to %s", src, m->dest);
  if (!rel[0]) return fail("mount %s to %s: cannot mount over the container root", src, m->dest);

  /* A symlinked /proc, /sys or /dev would let the kernel fs land elsewhere (CVE-2019-19921 class). */
  if (!strcmp(rel, "proc") || !strcmp(rel, "sys") || !strcmp(rel, "dev")) {
    int lfd = ps_open(rootfd, rel, O_PATH | O_NOFOLLOW, 0);
    if (lfd >= 0) {
      struct stat st;
      int islink = fstat(lfd, &st) == 0 && S_ISLNK(st.st_mode);
      close(lfd);
      if (islink) return fail("mount %s to %s: /%s is a symlink", src, m->dest, rel);
    }
  }
  int is_bind = (m->hflags & HF_BIND) || (m->flags & MS_BIND);
  if (!strcmp(rel, "proc") && strcmp(m->type, "proc"))
    return fail("mount %s to %s: %s cannot be mounted because it is not of type proc", src, m->dest, m->dest);
  if (!strncmp(rel, "proc/", 5) && strcmp(m->type, "proc") && !proc_bind_allowed(rel))
    return fail("mount %s to %s: %s cannot be mounted because it is inside /proc", src, m->dest, m->dest);

  unsigned long flags = m->flags & ~(unsigned long)PROPAGATION;
  unsigned long prop = m->propagation | (m->flags & PROPAGATION);
  int target;
  if (flags & MS_REMOUNT) {
    target = ps_open(rootfd, rel, O_PATH, 0);
    if (target < 0) return fail_errno(errno, "remount %s", m->dest);
    fd_path(target, fdp, sizeof fdp);
    int r = mount(NULL, fdp, NULL, flags, m->data[0] ? m->data : NULL);
    int e = errno;
    close(target);
    if (r < 0) return fail_errno(e, "remount %s", m->dest);
    return 0;
  }
  if (is_bind) {
    struct stat st;
    if (stat(m->source, &st) < 0) return fail_errno(errno, "mount %s to %s: stat %s", src, m->dest, m->source);
    target = S_ISDIR(st.st_mode) ? ps_mkdir_all(rootfd, rel, 0755) : ps_create_file(rootfd, rel, 0644);
  } else {
    target = ps_mkdir_all(rootfd, rel, 0755);
  }
  if (target < 0) return fail_errno(errno, "mount %s to %s: create mount point", src, m->dest);
  /* tmpcopyup: a handle on what the destination holds now, before the tmpfs hides it. */
  int hidden = -1;
  if ((m->hflags & HF_TMPCOPYUP) && !is_bind && (hidden = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    int e0 = errno;
    close(target);
    return fail_errno(e0, "mount %s to %s: open for tmpcopyup", src, m->dest);
  }
  fd_path(target, fdp, sizeof fdp);
  int r;
  if (is_bind) r = mount(m->source, fdp, NULL, MS_BIND | (flags & MS_REC), NULL);
  else r = mount(src, fdp, m->type, flags, m->data[0] ? m->data : NULL);
  int e = errno;
  close(target);
  if (r < 0) {
    if (hidden >= 0) close(hidden);
    return fail_errno(e, "mount %s to %s", src, m->dest);
  }
  if (hidden >= 0) {
    int fresh = ps_open(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
    int rc = fresh < 0 ? -1 : copy_tree(hidden, fresh, 0);
    e = errno;
    close(hidden);
    if (fresh >= 0) close(fresh);
    if (rc < 0) return fail_errno(e, "mount %s to %s: tmpcopyup", src, m->dest);
  }

  unsigned long extra = flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
  if ((is_bind && extra) || prop) {
    /* Re-open, still in-root, to reach the top of the mount just made. */
    target = ps_open(rootfd, rel, O_PATH, 0);
    if (target < 0) return fail_errno(errno, "mount %s to %s: reopen", src, m->dest);
    fd_path(target, fdp, sizeof fdp);
    if (is_bind && extra) {
      unsigned long locked = in_userns(p) ? locked_flags(m->source) : 0;
      if (mount(NULL, fdp, NULL, MS_REMOUNT | MS_BIND | extra | locked, NULL) < 0) {
        e = errno;
        close(target);
        return fail_errno(e, "remount %s to %s", src, m->dest);
      }
    }
    if (prop && mount(NULL, fdp, NULL, prop, NULL) < 0) {
      e = errno;
      close(target);
      return fail_errno(e, "set propagation of %s", m->dest);
    }
    close(target);
  }
  report_debug("mounted %s (%s) on %s", src, is_bind ? "bind" : m->type, m->dest);
  return 0;
}

int mounts_apply(const struct plan *p, int rootfd) {
  for (size_t i = 0; i < p->n_mounts; i++)
    if (mount_one(p, rootfd, &p->mounts[i]) < 0) return -1;
  return 0;
}

int mounts_pivot(const struct plan *p, int rootfd) {
  if (fchdir(rootfd) < 0) return fail_errno(errno, "chdir to rootfs %s", p->rootfs);
  if (p->no_pivot) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) return fail_errno(errno, "move rootfs %s to /", p->rootfs);
    if (chroot(".") < 0) return fail_errno(errno, "chroot %s", p->rootfs);
  } else {
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) return fail_errno(errno, "open /");
    /* pivot_root(".", "."): the old root ends up stacked on "/", then gets detached. */
    if (syscall(SYS_pivot_root, ".", ".") < 0) { int e = errno; close(oldroot); return fail_errno(e, "pivot_root %s", p->rootfs); }
    if (fchdir(oldroot) < 0) { int e = errno; close(oldroot); return fail_errno(e, "chdir to old root"); }
    close(oldroot);
    /* Never let the unmount propagate back to the host. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return fail_errno(errno, "make old root slave");
    if (umount2(".", MNT_DETACH) < 0) return fail_errno(errno, "unmount old root");
  }
  if (chdir("/") < 0) return fail_errno(errno, "chdir /");
  report_debug("%s done", p->no_pivot ? "chroot" : "pivot_root");
  return 0;
}

int mount_move_fd(int treefd, int targetfd) {
  return move_mount(treefd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int bind_fd_onto(int srcfd, int targetfd, int recursive) {
  int tree = open_tree(srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0) return -1;
  int r = mount_move_fd(tree, targetfd);
  int e = errno;
  close(tree);
  errno = e;
  return r;
}

/* After pivot: every step is fd-based (new mount API), so it works without a /proc in the container. */
int mounts_readonly_and_masked(const struct plan *p) {
  if (!p->n_readonly && !p->n_masked) return 0;
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail_errno(errno, "open /");
  int ret = -1, devnull = -1;

  for (size_t i = 0; i < p->n_readonly; i++) {
    const char *path = p->readonly[i];
    int fd = ps_open(root, path, O_PATH, 0);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail_errno(errno, "readonly path %s", path);
      goto out;
    }
    int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    int r = tree < 0 ? -1 : mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
    if (r == 0) r = mount_move_fd(tree, fd);
    int e = errno;
    if (tree >= 0) close(tree);
    close(fd);
    if (r < 0) { fail_errno(e, "readonly path %s", path); goto out; }
  }

  for (size_t i = 0; i < p->n_masked; i++) {
    const char *path = p->masked[i];
    int fd = ps_open(root, path, O_PATH, 0);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail_errno(errno, "mask %s", path);
      goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) { fail_errno(errno, "mask %s", path); close(fd); goto out; }
    int r;
    if (S_ISDIR(st.st_mode)) {
      /* A fresh detached read-only tmpfs per dir, moved straight onto the target fd. */
      int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
      int mnt = -1;
      if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
          (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY)) < 0) {
        fail_errno(errno, "mask %s: create read-only tmpfs", path);
        if (fs >= 0) close(fs);
        close(fd);
        goto out;
      }
      close(fs);
      r = mount_move_fd(mnt, fd);
      int e2 = errno;
      close(mnt);
      errno = e2;
    } else {
      if (devnull < 0) {
        /* CVE-2025-31133: the container's /dev/null may be anything; only the real 1:3 will do. */
        devnull = ps_open(root, "/dev/null", O_PATH | O_NOFOLLOW, 0);
        struct stat dn;
        if (devnull < 0) { fail_errno(errno, "mask %s: open /dev/null", path); close(fd); goto out; }
        if (fstat(devnull, &dn) < 0 || !S_ISCHR(dn.st_mode) || dn.st_rdev != makedev(1, 3)) {
          fail("mask %s: /dev/null is not the null device (char 1:3)", path);
          close(fd);
          goto out;
        }
      }
      r = bind_fd_onto(devnull, fd, 0);
    }
    int e = errno;
    close(fd);
    if (r < 0) { fail_errno(e, "mask %s", path); goto out; }
  }
  ret = 0;
out:
  if (devnull >= 0) close(devnull);
  close(root);
  return ret;
}

int mounts_readonly_root(const struct plan *p) {
  if (!p->rootfs_readonly) return 0;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof attr) < 0) return fail_errno(errno, "remount / read-only");
  return 0;
}
