/*
 * hull launcher: bin/hull is a symlink to dist/hull-launch, this program, built by bin/postbuild.mjs
 * (static when the toolchain allows). It replaces a /bin/sh script, which cost ~1 ms per call, and
 * ~1 ms more through a symlink (readlink -f); see bench/README.md, "Design measurements".
 *
 * - Needs no environment at all (engines may call it without PATH): everything is found from
 *   /proc/self/exe, i.e. the directory of the real file, whatever symlinks led here.
 * - Runs <dir>/node (the node recorded at build time) on <dir>/entry-boot.js (the bundle, with its
 *   code cache) when <dir>/hull.bundle.js is newer than <dir>/hull.js, the tsc output; otherwise (a
 *   bare `npx tsc -p .` ran after the bundle was made) on <dir>/hull.js.
 * - Drops NODE_EXTRA_CA_CERTS: hull makes no TLS connections and Node 20 spends ~34 ms reading
 *   that file at every start. Everything else, argv and fds, is passed on unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static int newer(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
  if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec) return sa.st_mtim.tv_sec > sb.st_mtim.tv_sec;
  return sa.st_mtim.tv_nsec > sb.st_mtim.tv_nsec;
}

static void join(char *out, const char *dir, const char *name) {
  if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
    fprintf(stderr, "hull: path too long: %s/%s\n", dir, name);
    exit(127);
  }
}

int main(int argc, char **argv) {
  char dir[PATH_MAX], node[PATH_MAX], bundle[PATH_MAX], tsc[PATH_MAX], boot[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  if (n <= 0) {
    fprintf(stderr, "hull: cannot read /proc/self/exe: %s\n", strerror(errno));
    return 127;
  }
  dir[n] = 0;
  char *slash = strrchr(dir, '/');
  if (!slash) return 127;
  *slash = 0;
  join(node, dir, "node");
  join(bundle, dir, "hull.bundle.js");
  join(tsc, dir, "hull.js");
  join(boot, dir, "entry-boot.js");

  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) return 127;
  args[0] = node;
  args[1] = newer(bundle, tsc) ? boot : tsc;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  unsetenv("NODE_EXTRA_CA_CERTS");
  execve(node, args, environ);
  fprintf(stderr, "hull: cannot run %s: %s (run `npm run build`)\n", node, strerror(errno));
  return 127;
}
