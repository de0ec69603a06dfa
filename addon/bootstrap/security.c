/* Process attributes of issue 5 (C2 unless noted): scheduler (sched_setattr), I/O priority,
 * personality, memory policy, exec CPU affinity (initial in P, final in C2), stdio ownership for a
 * non-root user; and the v2 device cgroup: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) built from
 * the device rules and attached by P to the container's v2 dir before the init joins it. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- scheduler ---- */

struct hull_sched_attr { /* SCHED_ATTR_SIZE_VER1 */
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};

static const char *policy_name(uint32_t p) {
  static const char *n[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"};
  return p < 7 ? n[p] : "SCHED_UNKNOWN";
}

int sched_apply(const struct plan *p) {
  if (!p->has_sched) return 0;
  struct hull_sched_attr a = {
      .size = sizeof a, .sched_policy = p->sched_policy, .sched_flags = p->sched_flags, .sched_nice = p->sched_nice,
      .sched_priority = p->sched_priority, .sched_runtime = p->sched_runtime, .sched_deadline = p->sched_deadline,
      .sched_period = p->sched_period,
      /* The spec has no clamp values: with a UTIL_CLAMP flag, -1 resets that clamp to the default. */
      .sched_util_min = 0xFFFFFFFFu, .sched_util_max = 0xFFFFFFFFu,
  };
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
    int e = errno;
    /* with CONFIG_RT_GROUP_SCHED a new cpu cgroup has no realtime budget */
    const char *hint = e == EPERM && (p->sched_policy == 1 || p->sched_policy == 2)
                           ? " (a realtime policy needs linux.resources.cpu.realtimeRuntime when the kernel groups realtime tasks)" : "";
    return fail_errno(e, "sched_setattr %s (priority %u, nice %d, flags 0x%x)%s", policy_name(p->sched_policy),
                      p->sched_priority, p->sched_nice, p->sched_flags, hint);
  }
  report_debug("scheduler %s priority %u nice %d flags 0x%x", policy_name(p->sched_policy), p->sched_priority,
               p->sched_nice, p->sched_flags);
  return 0;
}

/* ---- I/O priority ---- */

int ioprio_apply(const struct plan *p) {
  if (!p->has_ioprio) return 0;
  static const char *cls[] = {"", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
  int v = (int)((p->ioprio_class << 13) | p->ioprio_level);
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, v) < 0)
    return fail_errno(errno, "ioprio_set %s %u", cls[p->ioprio_class], p->ioprio_level);
  return 0;
}

/* ---- personality ---- */

int personality_apply(const struct plan *p) {
  if (!p->has_personality) return 0;
  if (personality(p->personality) < 0) return fail_errno(errno, "personality %s", p->personality ? "LINUX32" : "LINUX");
  return 0;
}

/* ---- lists: "0-3,7" -> bit mask ---- */

static int parse_list(const char *s, unsigned long *mask, size_t nbits, const char *what) {
  memset(mask, 0, nbits / 8);
  const char *q = s;
  while (*q) {
    char *end;
    unsigned long a = strtoul(q, &end, 10), b = a;
    if (end == q) return fail("%s %s: bad list", what, s);
    if (*end == '-') {
      q = end + 1;
      b = strtoul(q, &end, 10);
      if (end == q || b < a) return fail("%s %s: bad range", what, s);
    }
    if (b >= nbits) return fail("%s %s: %lu is out of range", what, s, b);
    for (unsigned long i = a; i <= b; i++) mask[i / (8 * sizeof *mask)] |= 1UL << (i % (8 * sizeof *mask));
    if (*end == ',') end++;
    else if (*end) return fail("%s %s: bad list", what, s);
    q = end;
  }
  return 0;
}

/* ---- memory policy ---- */

#define MAX_NODES 1024
int mempolicy_apply(const struct plan *p) {
  if (!p->has_mempolicy) return 0;
  unsigned long mask[MAX_NODES / (8 * sizeof(unsigned long))];
  const unsigned long *nm = NULL;
  unsigned long maxnode = 0;
  if (p->mpol_nodes[0]) {
    if (parse_list(p->mpol_nodes, mask, MAX_NODES, "memory policy nodes") < 0) return -1;
    nm = mask;
    maxnode = MAX_NODES + 1; /* the kernel reads maxnode - 1 bits */
  }
  if (syscall(SYS_set_mempolicy, (int)(p->mpol_mode | p->mpol_flags), nm, maxnode) < 0)
    return fail_errno(errno, "set_mempolicy mode %u flags 0x%x nodes \"%s\"", p->mpol_mode, p->mpol_flags, p->mpol_nodes);
  report_debug("memory policy mode %u flags 0x%x nodes \"%s\"", p->mpol_mode, p->mpol_flags, p->mpol_nodes);
  return 0;
}

/* ---- exec CPU affinity (runtime-spec: not for the container's init; exec mode only) ---- */

static int exec_mode(const struct plan *p) {
  for (size_t i = 0; i < p->n_ns; i++)
    if (p->ns[i].flag == CLONE_NEWNS && p->ns[i].path[0]) return 1;
  return 0;
}

static int set_affinity(const char *list, const char *what) {
  cpu_set_t set;
  if (parse_list(list, (unsigned long *)(void *)&set, CPU_SETSIZE, what) < 0) return -1;
  if (sched_setaffinity(0, sizeof set, &set) < 0) return fail_errno(errno, "sched_setaffinity %s %s", what, list);
  return 0;
}

/* P, before anything else: the runtime side runs on these CPUs until the process joins the cgroup. */
int cpu_affinity_initial(const struct plan *p) {
  if (!p->cpu_initial || !p->cpu_initial[0]) return 0;
  if (!exec_mode(p)) { report_debug("execCPUAffinity ignored: it does not apply to the container's init"); return 0; }
  return set_affinity(p->cpu_initial, "execCPUAffinity.initial");
}

/* C2, after joining the cgroup (which may have reset the mask to the cpuset's CPUs). */
int cpu_affinity_final(const struct plan *p) {
  if (!p->cpu_final || !p->cpu_final[0] || !exec_mode(p)) return 0;
  return set_affinity(p->cpu_final, "execCPUAffinity.final");
}

/* ---- stdio ownership ----
 * A non-root user must be able to reopen its stdio (/dev/stdout, /proc/self/fd/1), so fds 0-2 are
 * chowned to it, as runc does; but never a device node: the stdio may be the host's /dev/null or a
 * tty, and chowning that would change it for the whole host (crun 1.8 chowns /dev/null). */
int stdio_chown(const struct plan *p) {
  if (!p->has_user || p->terminal) return 0;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st) < 0) continue; /* closed */
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) continue;
    if (st.st_uid == p->uid && st.st_gid == p->gid) continue;
    if (fchown(fd, p->uid, p->gid) < 0) {
      /* unmapped ids in a user namespace, or a file we may not chown: runc ignores these too */
      if (errno == EINVAL || errno == EPERM || errno == EROFS) { report_debug("chown stdio fd %d: %s, left as is", fd, errno_text(errno)); continue; }
      return fail_errno(errno, "chown stdio fd %d to %u:%u", fd, p->uid, p->gid);
    }
  }
  return 0;
}

/* ---- v2 device cgroup: eBPF ----
 * ctx (struct bpf_cgroup_dev_ctx): u32 access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*, u32 major,
 * u32 minor. The rules are tried last to first, so the last matching rule decides (the order the v1
 * files give them); no match denies. An allow rule matches when it covers every access asked for, a
 * deny rule when it covers any of them. */

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

int devcg_attach(const struct plan *p) {
  if (!p->has_devcg) return 0;
  size_t cap = 8 + p->n_devcg_rules * 8, n = 0;
  struct bpf_insn *prog = calloc(cap, sizeof *prog);
  if (!prog) return fail_errno(ENOMEM, "device program");
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0); /* r2 = access_type */
  prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
  prog[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xFFFF);    /* r3 = device type */
  prog[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16);       /* r2 = access */
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0); /* r4 = major */
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0); /* r5 = minor */
  int catch_all = 0;
  for (size_t k = p->n_devcg_rules; k-- > 0;) {
    const struct devcg_rule *r = &p->devcg_rules[k];
    struct bpf_insn blk[8];
    int m = 0;
    if (r->type != 'a') blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    if (r->access != 7) {
      blk[m++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_2, 0, 0);
      if (r->allow) { /* asked & ~allowed must be 0 */
        blk[m++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t)(~r->access & 7));
        blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, 0);
      } else {        /* asked & denied must be non-0 */
        blk[m++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t)r->access);
        blk[m++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_6, 0, 0, 0);
      }
    }
    if (r->major >= 0) blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, r->major);
    if (r->minor >= 0) blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, r->minor);
    blk[m++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
    blk[m++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* every conditional jump of the block skips to the block's end (= the next rule) */
    for (int i = 0; i < m; i++)
      if (BPF_CLASS(blk[i].code) == BPF_JMP && BPF_OP(blk[i].code) != BPF_EXIT) blk[i].off = (int16_t)(m - i - 1);
    memcpy(prog + n, blk, (size_t)m * sizeof *blk);
    n += (size_t)m;
    if (m == 2) { catch_all = 1; break; } /* matches everything: earlier rules are dead code, which the verifier refuses */
  }
  if (!catch_all) {
    prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0); /* no rule matched: deny */
    prog[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }

  static char log[8192];
  log[0] = 0;
  union bpf_attr la;
  memset(&la, 0, sizeof la);
  la.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  la.insns = (uint64_t)(uintptr_t)prog;
  la.insn_cnt = (uint32_t)n;
  la.license = (uint64_t)(uintptr_t) "Apache";
  int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &la, sizeof la);
  int e = errno;
  if (pfd < 0 && (e == EACCES || e == EINVAL)) { /* the verifier refused it: once more, for its log */
    la.log_buf = (uint64_t)(uintptr_t)log;
    la.log_size = sizeof log;
    la.log_level = 1;
    int again = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &la, sizeof la);
    if (again >= 0) { close(again); log[0] = 0; }
    for (char *c = log; *c; c++) if (*c == '\n') *c = ' ';
  }
  free(prog);
  const char *dir = p->cgroups[p->devcg_index];
  if (pfd < 0) return fail_errno(e, "load device cgroup program for %s%s%s", dir, log[0] ? ": " : "", log);
  int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) { e = errno; close(pfd); return fail_errno(e, "open %s", dir); }
  union bpf_attr aa;
  memset(&aa, 0, sizeof aa);
  aa.target_fd = (uint32_t)cg;
  aa.attach_bpf_fd = (uint32_t)pfd;
  aa.attach_type = BPF_CGROUP_DEVICE;
  aa.attach_flags = BPF_F_ALLOW_MULTI;
  int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &aa, sizeof aa);
  e = errno;
  close(cg);
  close(pfd);
  if (r < 0) return fail_errno(e, "attach device cgroup program to %s", dir);
  report_debug("device cgroup program (%zu rules, %zu instructions) attached to %s", p->n_devcg_rules, n, dir);
  return 0;
}
