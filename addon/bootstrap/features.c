/* `hull-bootstrap --features`: what the seccomp side of this build can do on this kernel, as one JSON
 * object on stdout. lib/features.ts turns it into the runtime-spec features document.
 *   libseccomp  version of the library actually loaded, and its API level
 *   archs       libseccomp arch names this libseccomp resolves
 *   actions     OCI action names the kernel reports available (SECCOMP_GET_ACTION_AVAIL) and
 *               libseccomp's API level allows
 *   flags       OCI filter flags that both this libseccomp and the kernel accept */
#include "hull.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static int kernel_action(uint32_t action) {
  return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* A known flag with a NULL program fails with EFAULT (the program is read after the flags are
 * checked); an unknown one with EINVAL. */
static int kernel_flag(unsigned long flag) {
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

/* libseccomp refuses an attribute it (or the kernel, which it asks itself) does not support. */
static int lib_attr(int attr) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return 0;
  int ok = seccomp_attr_set(ctx, (enum scmp_filter_attr)attr, 1) == 0;
  seccomp_release(ctx);
  return ok;
}

static void item(int *first, const char *name) {
  printf("%s\"%s\"", *first ? "" : ",", name);
  *first = 0;
}

int features_print(void) {
  const struct scmp_version *v = seccomp_version();
  unsigned int api = seccomp_api_get();
  printf("{\"libseccomp\":\"%u.%u.%u\",\"apiLevel\":%u,\"archs\":[", v->major, v->minor, v->micro, api);

  static const char *archs[] = {"x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "m68k", "mips",
                                "mips64", "mips64n32", "mipsel", "mipsel64", "mipsel64n32", "ppc", "ppc64",
                                "ppc64le", "riscv64", "s390", "s390x", "parisc", "parisc64", "sh", "sheb"};
  int first = 1;
  for (size_t i = 0; i < sizeof archs / sizeof *archs; i++)
    if (seccomp_arch_resolve_name(archs[i]) != 0) item(&first, archs[i]);

  printf("],\"actions\":[");
  first = 1;
  static const struct { const char *name; uint32_t kernel; unsigned int min_api; } actions[] = {
    {"SCMP_ACT_KILL", SECCOMP_RET_KILL_THREAD, 0}, {"SCMP_ACT_KILL_THREAD", SECCOMP_RET_KILL_THREAD, 0},
    {"SCMP_ACT_KILL_PROCESS", SECCOMP_RET_KILL_PROCESS, 3}, {"SCMP_ACT_TRAP", SECCOMP_RET_TRAP, 0},
    {"SCMP_ACT_ERRNO", SECCOMP_RET_ERRNO, 0}, {"SCMP_ACT_TRACE", SECCOMP_RET_TRACE, 0},
    {"SCMP_ACT_ALLOW", SECCOMP_RET_ALLOW, 0}, {"SCMP_ACT_LOG", SECCOMP_RET_LOG, 3},
    {"SCMP_ACT_NOTIFY", SECCOMP_RET_USER_NOTIF, 5},
  };
  for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
    if (api >= actions[i].min_api && kernel_action(actions[i].kernel)) item(&first, actions[i].name);

  printf("],\"flags\":[");
  first = 1;
  if (lib_attr(SCMP_FLTATR_CTL_TSYNC) && kernel_flag(SECCOMP_FILTER_FLAG_TSYNC)) item(&first, "SECCOMP_FILTER_FLAG_TSYNC");
  if (lib_attr(SCMP_FLTATR_CTL_LOG) && kernel_flag(SECCOMP_FILTER_FLAG_LOG)) item(&first, "SECCOMP_FILTER_FLAG_LOG");
  if (lib_attr(SCMP_FLTATR_CTL_SSB) && kernel_flag(SECCOMP_FILTER_FLAG_SPEC_ALLOW)) item(&first, "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
#ifdef SCMP_FLTATR_CTL_WAITKILL
  if (lib_attr(SCMP_FLTATR_CTL_WAITKILL) && kernel_flag(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
    item(&first, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
#endif
  printf("]}\n");
  return fflush(stdout) == 0 ? 0 : 1;
}
