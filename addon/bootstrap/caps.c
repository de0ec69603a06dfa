/* User switch, capabilities and no_new_privs (C2). Order: bounding set dropped while we still hold
 * CAP_SETPCAP, then setgroups/setresgid/setresuid with KEEPCAPS, then capset, then ambient. */
#include "hull.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int capset_sets(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  return (int)syscall(SYS_capset, &hdr, data);
}

int caps_drop_bounding(const struct plan *p) {
  if (!p->has_caps) return 0;
  for (int cap = 0; cap < 64; cap++) {
    if (p->cap_bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past CAP_LAST_CAP */
      return fail_errno(errno, "drop bounding capability %d", cap);
    }
  }
  return 0;
}

int user_switch(const struct plan *p) {
  if (!p->has_user) return 0;
  if (!p->setgroups_deny) {
    if (setgroups(p->n_gids, p->gids) < 0) return fail_errno(errno, "setgroups");
  } else if (p->n_gids) {
    report_warn("additional gids ignored: setgroups is denied in this user namespace");
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_errno(errno, "prctl(PR_SET_KEEPCAPS)");
  if (setresgid(p->gid, p->gid, p->gid) < 0) return fail_errno(errno, "setresgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0) return fail_errno(errno, "setresuid %u", p->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_errno(errno, "prctl(PR_SET_KEEPCAPS)");
  report_debug("user %u:%u, %u additional gids", p->uid, p->gid, p->n_gids);
  return 0;
}

int caps_apply(const struct plan *p) {
  if (!p->has_caps) {
    /* No caps record: keep all; a non-root uid switch cleared the effective set, restore it. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &hdr, d) < 0) return fail_errno(errno, "capget");
    d[0].effective = d[0].permitted;
    d[1].effective = d[1].permitted;
    if (syscall(SYS_capset, &hdr, d) < 0) return fail_errno(errno, "capset");
    return 0;
  }
  if (capset_sets(p->cap_effective, p->cap_permitted, p->cap_inheritable) < 0) return fail_errno(errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fail_errno(errno, "clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++) {
    if (!(p->cap_ambient & (1ULL << cap))) continue;
    /* The kernel requires it to be permitted and inheritable: warn like runc, do not fail. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      report_warn("raise ambient capability %d: %s", cap, errno_text(errno));
  }
  return 0;
}

int nnp_apply(const struct plan *p) {
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail_errno(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return 0;
}

int caps_final_has(const struct plan *p, int cap) {
  if (!p->has_caps) return 1;
  return (p->cap_effective >> cap) & 1;
}
