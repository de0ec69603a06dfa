/*
 * subreaper: run one runtime command as a child subreaper, so the container
 * init (orphaned when `create`/`run --detach` exits) is re-parented here and
 * reaped here instead of becoming a zombie under the host's pid 1.
 *
 *   subreaper STATUSFILE CMD [ARGS...]
 *
 * STATUSFILE gets "cmd <code>" when CMD exits, "reaped <pid> <code>" for every
 * other descendant that is reaped (code = exit status, or 128+signal), and
 * "done" when no descendant is left. The process exits only then, so the
 * harness can tell "every process of the container is gone" by its exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: subreaper STATUSFILE CMD [ARGS...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    perror("subreaper: prctl");
    return 2;
  }
  int sfd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (sfd < 0) {
    perror("subreaper: open status file");
    return 2;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("subreaper: fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[2], argv + 2);
    dprintf(2, "subreaper: exec %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  for (;;) {
    int st = 0;
    pid_t p = waitpid(-1, &st, __WALL);
    if (p < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: nothing left */
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (p == child) {
      dprintf(sfd, "cmd %d\n", code);
      /* Let go of the caller's stdio and any extra fds it handed us. */
      int nul = open("/dev/null", O_RDWR);
      if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
      }
      for (int fd = 3; fd < 1024; fd++)
        if (fd != sfd) close(fd);
    } else {
      dprintf(sfd, "reaped %d %d\n", (int)p, code);
    }
  }
  dprintf(sfd, "done\n");
  return 0;
}
