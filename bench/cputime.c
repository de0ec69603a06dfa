// bench/cputime.c: time whole commands, interleaved, by wall clock AND by CPU time (user+sys of
// the command and the descendants it reaps, from wait4), which a loaded machine disturbs much
// less than wall time. Used for bench/README.md, "Design measurements".
//
//   cc -O2 -o /tmp/cputime bench/cputime.c
//   /tmp/cputime N cmdA args... :: cmdB args... [;; untimed-after-B args...] :: ...
//
// Commands are absolute paths (execve, no PATH search), run with stdin/stdout (and stderr unless
// TM_STDERR is set) on /dev/null, in rotating order (rep r starts at command r mod n), after two
// unmeasured warm-up rounds. `;;` adds an untimed command run after that one each time (e.g. a
// `delete` after a timed `create`). Prints per command: median wall, p25 and min wall, median CPU.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sys/resource.h>
extern char **environ;
static int cmpd(const void *a, const void *b) { double x = *(double*)a, y = *(double*)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  char **cmds[64]; char **post[64] = {0}; int nc = 0; cmds[nc++] = &argv[2];
  for (int i = 2; i < argc; i++) { if (!strcmp(argv[i], "::")) { argv[i] = NULL; cmds[nc++] = &argv[i + 1]; } else if (!strcmp(argv[i], ";;")) { argv[i] = NULL; post[nc - 1] = &argv[i + 1]; } }
  double *w = calloc(nc * n, sizeof(double)), *c = calloc(nc * n, sizeof(double));
  int devnull = open("/dev/null", O_RDWR);
  for (int r = -2; r < n; r++) for (int k = 0; k < nc; k++) {
    int j = (k + r + 2) % nc; struct timespec a, b; struct rusage ru; int st;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t p = fork();
    if (!p) { dup2(devnull, 0); dup2(devnull, 1); if (!getenv("TM_STDERR")) dup2(devnull, 2); execve(cmds[j][0], cmds[j], environ); _exit(127); }
    wait4(p, &st, 0, &ru);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (post[j]) { pid_t q = fork(); if (!q) { dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2); execve(post[j][0], post[j], environ); _exit(127); } waitpid(q, NULL, 0); }
    if (st && r == 0) fprintf(stderr, "warning: %s exit status %d\n", cmds[j][0], st);
    if (r >= 0) { w[j * n + r] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
      c[j * n + r] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3; }
  }
  for (int k = 0; k < nc; k++) {
    qsort(w + k * n, n, sizeof(double), cmpd); qsort(c + k * n, n, sizeof(double), cmpd);
    printf("wall %6.1f (p25 %6.1f min %6.1f)  cpu %6.1f   ", w[k * n + n / 2], w[k * n + n / 4], w[k * n], c[k * n + n / 2]);
    for (char **a = cmds[k]; *a; a++) printf("%s ", *a);
    printf("\n");
  }
}
