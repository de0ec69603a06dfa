/* Seccomp through libseccomp (C2). The filter is built before the container is reported ready, so a
 * bad profile fails `create`; it is loaded as late as the no_new_privs/CAP_SYS_ADMIN rule allows. */
#include "hull.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

static uint32_t to_action(uint32_t a, uint32_t err) {
  if (!err) err = EPERM; /* an unset errnoRet means EPERM (runtime-spec); ERRNO(0) would fake success */
  switch (a) {
  case 0: return SCMP_ACT_KILL_THREAD;
  case 1: return SCMP_ACT_KILL_PROCESS;
  case 2: return SCMP_ACT_TRAP;
  case 3: return SCMP_ACT_ERRNO(err);
  case 4: return SCMP_ACT_TRACE(err);
  case 5: return SCMP_ACT_ALLOW;
  case 6: return SCMP_ACT_LOG;
  default: return SCMP_ACT_NOTIFY;
  }
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t v, const char *what) {
  int rc = seccomp_attr_set(ctx, attr, v);
  if (rc < 0) return fail("seccomp: flag %s is not supported: %s", what, errno_text(-rc));
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r, uint32_t def) {
  int nr = seccomp_syscall_resolve_name(r->syscall);
  if (nr == __NR_SCMP_ERROR) {
    report_debug("seccomp: syscall %s is unknown to libseccomp, skipped", r->syscall);
    return 0;
  }
  uint32_t act = to_action(r->action, r->errno_ret);
  if (act == def) return 0; /* libseccomp refuses rules that repeat the default action */
  struct scmp_arg_cmp conds[6];
  int same_index = 0;
  for (uint32_t i = 0; i < r->nargs; i++) {
    conds[i].arg = r->args[i].index;
    conds[i].op = (enum scmp_compare)r->args[i].op;
    conds[i].datum_a = r->args[i].value;
    conds[i].datum_b = r->args[i].value_two;
    for (uint32_t j = 0; j < i; j++) same_index |= r->args[j].index == r->args[i].index;
  }
  int rc;
  if (same_index) {
    /* libseccomp cannot AND two tests of one argument: one rule per condition (runc does the same). */
    for (uint32_t i = 0; i < r->nargs; i++)
      if ((rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[i])) < 0) break;
  } else {
    rc = seccomp_rule_add_array(ctx, act, nr, r->nargs, conds);
  }
  if (rc < 0) return fail("seccomp: add rule for %s: %s", r->syscall, errno_text(-rc));
  return 0;
}

int seccomp_prepare(const struct plan *p, void **out) {
  *out = NULL;
  if (!p->has_seccomp) return 0;
  int uses_notify = p->sc_default_action == 7;
  for (size_t i = 0; i < p->n_sc_rules; i++) uses_notify |= p->sc_rules[i].action == 7;
  if (p->sc_listener_path[0] || uses_notify)
    return fail("seccomp: the notify action and listenerPath are not supported");

  uint32_t def = to_action(p->sc_default_action, p->sc_default_errno);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return fail("seccomp: init failed");
  /* no_new_privs is the plan's decision, not libseccomp's */
  if (set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "NNP") < 0) goto err;
  if ((p->sc_flags & 1) && set_attr(ctx, SCMP_FLTATR_CTL_TSYNC, 1, "SECCOMP_FILTER_FLAG_TSYNC") < 0) goto err;
  if ((p->sc_flags & 2) && set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, "SECCOMP_FILTER_FLAG_LOG") < 0) goto err;
  if ((p->sc_flags & 4) && set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") < 0) goto err;
  if (p->sc_flags & 8) {
#ifdef SCMP_FLTATR_CTL_WAITKILL
    if (set_attr(ctx, SCMP_FLTATR_CTL_WAITKILL, 1, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") < 0) goto err;
#else
    fail("seccomp: flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by libseccomp %u.%u.%u",
         seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro);
    goto err;
#endif
  }
  for (size_t i = 0; i < p->n_sc_arches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(p->sc_arches[i]);
    if (!arch) { fail("seccomp: unknown architecture %s", p->sc_arches[i]); goto err; }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) { fail("seccomp: add architecture %s: %s", p->sc_arches[i], errno_text(-rc)); goto err; }
  }
  for (size_t i = 0; i < p->n_sc_rules; i++)
    if (add_rule(ctx, &p->sc_rules[i], def) < 0) goto err;
  *out = ctx;
  report_debug("seccomp: %zu rules prepared", p->n_sc_rules);
  return 0;
err:
  seccomp_release(ctx);
  return -1;
}

int seccomp_load_ctx(const struct plan *p, void *ctx) {
  (void)p;
  int rc = seccomp_load((scmp_filter_ctx)ctx);
  if (rc < 0) return fail("seccomp: load filter: %s", errno_text(-rc));
  seccomp_release((scmp_filter_ctx)ctx);
  return 0;
}
