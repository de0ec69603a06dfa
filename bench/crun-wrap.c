/* crun-wrap.c: the same as bench/crun-wrap, without the shell and the extra
 * execs (sh, unshare, sh, mount), so that the wrapper adds well under a
 * millisecond instead of several.  bench/lifecycle compiles it into its temp
 * dir when a C compiler is available:  cc -O2 -o crun-wrap crun-wrap.c
 *
 * If /sys/fs/cgroup/unified is a cgroup2 mount (hybrid host), enter a new
 * mount namespace, make it private (recursively, so nothing propagates back to
 * the host), hide /sys/fs/cgroup/unified under a tiny tmpfs, then exec crun
 * (CRUN env var, default "crun" from PATH) with the arguments unchanged.
 * Otherwise just exec crun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int main(int argc, char **argv) {
	const char *crun = getenv("CRUN");
	struct statfs st;
	(void)argc;
	if (!crun || !*crun) crun = "crun";
	if (statfs("/sys/fs/cgroup/unified", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC) {
		if (unshare(CLONE_NEWNS) < 0) { perror("crun-wrap: unshare(CLONE_NEWNS)"); return 125; }
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) { perror("crun-wrap: make / private"); return 125; }
		if (mount("crun-wrap", "/sys/fs/cgroup/unified", "tmpfs", 0, "size=4k,mode=0755") < 0) {
			perror("crun-wrap: mount tmpfs on /sys/fs/cgroup/unified");
			return 125;
		}
	}
	argv[0] = (char *)crun;
	execvp(crun, argv);
	fprintf(stderr, "crun-wrap: exec %s: %s\n", crun, strerror(errno));
	return 127;
}
