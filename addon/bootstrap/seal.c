/* CVE-2019-5736: the init must never run from a host file the container could open for writing
 * through /proc/self/exe. Re-exec once from a sealed memfd copy; the copy skips this step. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int is_sealed(int fd) {
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

int seal_ensure(char **argv) {
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0) return fail_errno(errno, "seal: open /proc/self/exe");
  if (is_sealed(self)) { close(self); return 0; }

  struct stat st;
  if (fstat(self, &st) < 0) { int e = errno; close(self); return fail_errno(e, "seal: stat /proc/self/exe"); }
  /* MFD_EXEC: keep working when vm.memfd_noexec defaults new memfds to non-executable. */
  int mfd = memfd_create("hull-bootstrap", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create("hull-bootstrap", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) { int e = errno; close(self); return fail_errno(e, "seal: memfd_create"); }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, self, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { int e = n < 0 ? errno : EIO; close(self); close(mfd); return fail_errno(e, "seal: copy /proc/self/exe"); }
    left -= n;
  }
  close(self);
  int seals = REQUIRED_SEALS | F_SEAL_EXEC;
  if (fcntl(mfd, F_ADD_SEALS, seals) < 0 && fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0) {
    int e = errno; close(mfd); return fail_errno(e, "seal: add seals");
  }
  extern char **environ;
  syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  int e = errno;
  close(mfd);
  return fail_errno(e, "seal: execveat memfd");
}
