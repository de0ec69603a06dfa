/* process.terminal (C2): a pty from the container's own devpts, master sent over the console socket
 * (one sendmsg, one SCM_RIGHTS fd), slave made stdio, controlling tty and /dev/console. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Connected before pivot_root: the socket is a host path. */
int console_connect(const struct plan *p) {
  if (!p->console_socket) return -1;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail_errno(errno, "console socket");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int pathfd = -1;
  if (strlen(p->console_socket) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, p->console_socket);
  } else {
    /* too long for sun_path: connect through an O_PATH fd to it */
    pathfd = open(p->console_socket, O_PATH | O_CLOEXEC);
    if (pathfd < 0) { int e = errno; close(s); return fail_errno(e, "connect console socket %s", p->console_socket); }
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", pathfd);
  }
  int r;
  do r = connect(s, (struct sockaddr *)&addr, sizeof addr); while (r < 0 && errno == EINTR);
  int e = errno;
  if (pathfd >= 0) close(pathfd);
  if (r < 0) { close(s); return fail_errno(e, "connect console socket %s", p->console_socket); }
  return s;
}

static int send_fd(int sock, int fd, const char *name) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)name, strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

int terminal_setup(const struct plan *p, int sock) {
  if (sock < 0) return fail("terminal: a console socket is required");
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail_errno(errno, "open /");
  int ret = -1, master = -1, slave = -1, console = -1;
  master = ps_open(root, "/dev/ptmx", O_RDWR | O_NOCTTY, 0);
  if (master < 0) { fail_errno(errno, "open /dev/ptmx"); goto out; }
  int unlock = 0, ptn = -1;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) { fail_errno(errno, "unlock pty"); goto out; }
  if (ioctl(master, TIOCGPTN, &ptn) < 0) { fail_errno(errno, "get pty number"); goto out; }
  /* the peer is opened from the master itself: no path lookup in /dev/pts to be raced */
  slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) { fail_errno(errno, "open pty peer"); goto out; }
  if (p->has_console_size) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_rows, .ws_col = (unsigned short)p->console_cols};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) { fail_errno(errno, "set console size"); goto out; }
  }
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%d", ptn);
  /* exec (a joined mount namespace): the container's /dev/console stays the init's */
  int exec_mode = 0;
  for (size_t i = 0; i < p->n_ns; i++) exec_mode |= p->ns[i].flag == CLONE_NEWNS && p->ns[i].path[0];
  if (!exec_mode) {
    console = ps_create_file(root, "/dev/console", 0666);
    if (console < 0) { fail_errno(errno, "create /dev/console"); goto out; }
    if (bind_fd_onto(slave, console, 0) < 0) { fail_errno(errno, "mount %s to /dev/console", name); goto out; }
  }
  if (send_fd(sock, master, name) < 0) { fail_errno(errno, "send pty master over console socket %s", p->console_socket); goto out; }
  if (ioctl(slave, TIOCSCTTY, 0) < 0) { fail_errno(errno, "set controlling tty"); goto out; }
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) { fail_errno(errno, "dup2 pty to fd %d", fd); goto out; }
  report_debug("terminal %s sent", name);
  ret = 0;
out:
  if (console >= 0) close(console);
  if (slave >= 0) close(slave);
  if (master >= 0) close(master);
  close(sock);
  close(root);
  return ret;
}
