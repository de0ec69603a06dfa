/* Seccomp. P compiles the profile with libseccomp into a classic BPF program before it forks (so a
 * bad profile fails `create` before anything exists, and the children inherit the program), prepends
 * an -ENOSYS stub for syscalls newer than the profile (as runc does), and optionally caches the
 * result keyed by the profile. C2 loads the program itself with seccomp(2): the flags (TSYNC, LOG,
 * SPEC_ALLOW, NEW_LISTENER) are ours, and with a notify action the listener fd goes back to P, which
 * hands it to the listenerPath socket with the container process state. */
#include "hull.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define X32_BIT 0x40000000u
#define ACT_NOTIFY 7

static struct sock_filter *g_prog;   /* the final program (stub + libseccomp's) */
static size_t g_prog_len;

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

int seccomp_uses_notify(const struct plan *p) {
  if (!p->has_seccomp) return 0;
  if (p->sc_default_action == ACT_NOTIFY) return 1;
  for (size_t i = 0; i < p->n_sc_rules; i++)
    if (p->sc_rules[i].action == ACT_NOTIFY) return 1;
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
  int rc = 0;
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

/* ---- the -ENOSYS stub ----
 * With a non-permissive default, a syscall the profile has never heard of (newer than every name in
 * it) must look unimplemented (ENOSYS), so that programs fall back (clone3 -> clone, ...), instead of
 * failing with the default errno. For each architecture of the filter: syscall numbers above the
 * largest one the profile names get ERRNO(ENOSYS); everything else goes on to libseccomp's program.
 * x86_64 and x32 share AUDIT_ARCH_X86_64 and differ by bit 30 of the number. */

struct arch_max { uint32_t audit; int64_t max64, max32; }; /* max32: the x32 half of x86_64, -1 = absent */

static uint32_t audit_arch_of(uint32_t token) {
  return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token; /* SCMP_ARCH_* are AUDIT_ARCH_* but x32 */
}

static int stub_wanted(const struct plan *p) {
  uint32_t d = p->sc_default_action;
  if (d == 5 || d == 6) return 0; /* ALLOW, LOG: unknown syscalls are allowed anyway */
  if (d == 3 && p->sc_default_errno == ENOSYS) return 0;
  return 1;
}

static void arch_note(struct arch_max *am, size_t *n, uint32_t token, const struct plan *p) {
  uint32_t audit = audit_arch_of(token);
  int64_t max = -1;
  for (size_t i = 0; i < p->n_sc_rules; i++) {
    int nr = seccomp_syscall_resolve_name_arch(token, p->sc_rules[i].syscall);
    if (nr >= 0 && nr > max) max = nr; /* negative: unknown, or a pseudo-syscall on this arch */
  }
  size_t k = 0;
  while (k < *n && am[k].audit != audit) k++;
  if (k == *n) { am[k] = (struct arch_max){audit, -1, -1}; (*n)++; }
  if (token == SCMP_ARCH_X32) { if (max > am[k].max32) am[k].max32 = max; }
  else if (max > am[k].max64) am[k].max64 = max;
}

/* A tiny assembler: jump targets are labels, resolved once the stub is laid out. */
enum { L_NONE = -1, L_ENOSYS = -2, L_FILTER = -3 };
struct ins { uint16_t code; int jt, jf; uint32_t k; }; /* jt/jf: absolute index or L_* */

static int build_stub(const struct plan *p, scmp_filter_ctx ctx, struct sock_filter **out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (!stub_wanted(p)) return 0;
  struct arch_max am[16];
  size_t n_am = 0;
  arch_note(am, &n_am, seccomp_arch_native(), p);
  for (size_t i = 0; i < p->n_sc_arches && n_am < 15; i++) {
    uint32_t tok = seccomp_arch_resolve_name(p->sc_arches[i]);
    if (tok && seccomp_arch_exist(ctx, tok) == 0) arch_note(am, &n_am, tok, p);
  }
  struct ins code[128];
  int n = 0;
  code[n++] = (struct ins){BPF_LD | BPF_W | BPF_ABS, 0, 0, 4}; /* A = arch */
  for (size_t a = 0; a < n_am; a++) {
    if (am[a].max64 < 0 && am[a].max32 < 0) continue;
    int jeq = n++;
    code[jeq] = (struct ins){BPF_JMP | BPF_JEQ | BPF_K, jeq + 1, L_NONE, am[a].audit}; /* jf: the next arch */
    code[n++] = (struct ins){BPF_LD | BPF_W | BPF_ABS, 0, 0, 0};                   /* A = nr */
    if (am[a].audit == AUDIT_ARCH_X86_64) {
      /* bit 30 set: an x32 syscall; each half compares with its own maximum or goes on to the filter */
      int jset = n++;
      int half64 = n++;
      int half32 = n++;
      code[jset] = (struct ins){BPF_JMP | BPF_JSET | BPF_K, half32, half64, X32_BIT};
      code[half64] = am[a].max64 >= 0 ? (struct ins){BPF_JMP | BPF_JGT | BPF_K, L_ENOSYS, L_FILTER, (uint32_t)am[a].max64}
                                      : (struct ins){BPF_JMP | BPF_JA, L_FILTER, 0, 0};
      code[half32] = am[a].max32 >= 0 ? (struct ins){BPF_JMP | BPF_JGT | BPF_K, L_ENOSYS, L_FILTER, (uint32_t)am[a].max32}
                                      : (struct ins){BPF_JMP | BPF_JA, L_FILTER, 0, 0};
    } else {
      code[n++] = (struct ins){BPF_JMP | BPF_JGT | BPF_K, L_ENOSYS, L_FILTER, (uint32_t)am[a].max64};
    }
    code[jeq].jf = n;
  }
  code[n++] = (struct ins){BPF_JMP | BPF_JA, L_FILTER, 0, 0};            /* no arch matched */
  int enosys = n;
  code[n++] = (struct ins){BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)};
  int filter = n;

  struct sock_filter *f = calloc((size_t)n, sizeof *f);
  if (!f) return fail_errno(ENOMEM, "seccomp: stub");
  for (int i = 0; i < n; i++) {
    int t[2] = {code[i].jt, code[i].jf};
    for (int j = 0; j < 2; j++) if (t[j] == L_ENOSYS) t[j] = enosys; else if (t[j] == L_FILTER) t[j] = filter;
    f[i].code = code[i].code;
    f[i].k = code[i].k;
    if (BPF_CLASS(code[i].code) == BPF_JMP) {
      if (BPF_OP(code[i].code) == BPF_JA) {
        f[i].k = (uint32_t)(t[0] - i - 1);
      } else {
        int dt = t[0] - i - 1, df = t[1] - i - 1;
        if (dt < 0 || df < 0 || dt > 255 || df > 255) { free(f); return fail("seccomp: stub jump out of range"); }
        f[i].jt = (uint8_t)dt;
        f[i].jf = (uint8_t)df;
      }
    }
  }
  *out = f;
  *n_out = (size_t)n;
  for (size_t a = 0; a < n_am; a++) {
    if (am[a].max64 >= 0) report_debug("seccomp: ENOSYS above syscall %lld (audit arch 0x%x)", (long long)am[a].max64, am[a].audit);
    if (am[a].max32 >= 0) report_debug("seccomp: ENOSYS above x32 syscall %lld", (long long)(am[a].max32 & ~(int64_t)X32_BIT));
  }
  return 0;
}

/* libseccomp's program, read back through a memfd (2.5 has no in-memory export). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **out, size_t *n_out) {
  int fd = memfd_create("hull-seccomp", MFD_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "seccomp: memfd");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) { close(fd); return fail("seccomp: export filter: %s", errno_text(-rc)); }
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter)) {
    close(fd);
    return fail("seccomp: export filter: bad size");
  }
  struct sock_filter *f = malloc((size_t)st.st_size);
  if (!f) { close(fd); return fail_errno(ENOMEM, "seccomp: export"); }
  ssize_t got = pread(fd, f, (size_t)st.st_size, 0);
  close(fd);
  if (got != st.st_size) { free(f); return fail("seccomp: export filter: short read"); }
  *out = f;
  *n_out = (size_t)st.st_size / sizeof *f;
  return 0;
}

static int compile_libseccomp(const struct plan *p) {
  uint32_t def = to_action(p->sc_default_action, p->sc_default_errno);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return fail("seccomp: init failed (default action %u)", p->sc_default_action);
  struct sock_filter *stub = NULL, *body = NULL;
  size_t n_stub = 0, n_body = 0;
  int ret = -1;
  for (size_t i = 0; i < p->n_sc_arches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(p->sc_arches[i]);
    if (!arch) { fail("seccomp: unknown architecture %s", p->sc_arches[i]); goto out; }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) { fail("seccomp: add architecture %s: %s", p->sc_arches[i], errno_text(-rc)); goto out; }
  }
  for (size_t i = 0; i < p->n_sc_rules; i++)
    if (add_rule(ctx, &p->sc_rules[i], def) < 0) goto out;
  if (build_stub(p, ctx, &stub, &n_stub) < 0) goto out;
  if (export_bpf(ctx, &body, &n_body) < 0) goto out;
  if (n_stub + n_body > BPF_MAXINSNS) {
    fail("seccomp: filter has %zu instructions (the kernel takes %d)", n_stub + n_body, BPF_MAXINSNS);
    goto out;
  }
  g_prog = malloc((n_stub + n_body) * sizeof *g_prog);
  if (!g_prog) { fail_errno(ENOMEM, "seccomp"); goto out; }
  if (n_stub) memcpy(g_prog, stub, n_stub * sizeof *stub);
  memcpy(g_prog + n_stub, body, n_body * sizeof *body);
  g_prog_len = n_stub + n_body;
  ret = 0;
out:
  free(stub);
  free(body);
  seccomp_release(ctx);
  return ret;
}

/* ---- cache: <dir>/<fnv64 of key>.bpf = "HULLBPF1" | u32 keylen | key | u32 n | n insns ----
 * The key is every input of the program (the profile as decoded, libseccomp's version, the native
 * arch); a hit must match it byte for byte, so a hash collision can only cost a compile. */

struct buf { uint8_t *p; size_t len, cap; };
static int buf_put(struct buf *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *np = realloc(b->p, cap);
    if (!np) return -1;
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
  return 0;
}
static int buf_u32(struct buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static int buf_str(struct buf *b, const char *s) { return buf_put(b, s, strlen(s) + 1); }

static int cache_key(const struct plan *p, struct buf *k) {
  const struct scmp_version *v = seccomp_version();
  char ver[96];
  snprintf(ver, sizeof ver, "hull-bpf-1 libseccomp %u.%u.%u native 0x%x", v->major, v->minor, v->micro, seccomp_arch_native());
  int r = buf_str(k, ver) | buf_u32(k, p->sc_default_action) | buf_u32(k, p->sc_default_errno) |
          buf_u32(k, (uint32_t)p->n_sc_arches);
  for (size_t i = 0; i < p->n_sc_arches; i++) r |= buf_str(k, p->sc_arches[i]);
  r |= buf_u32(k, (uint32_t)p->n_sc_rules);
  for (size_t i = 0; i < p->n_sc_rules; i++) {
    const struct sc_rule *x = &p->sc_rules[i];
    r |= buf_u32(k, x->action) | buf_u32(k, x->errno_ret) | buf_u32(k, x->nargs);
    for (uint32_t j = 0; j < x->nargs; j++) r |= buf_put(k, &x->args[j], sizeof x->args[j]);
    r |= buf_str(k, x->syscall);
  }
  return r ? fail_errno(ENOMEM, "seccomp: cache key") : 0;
}

static uint64_t fnv64(const uint8_t *d, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) { h ^= d[i]; h *= 0x100000001b3ULL; }
  return h;
}

static int cache_read(const char *file, const struct buf *key) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st;
  uint8_t *d = NULL;
  int ok = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022) &&
      st.st_size > 16 && st.st_size < (off_t)PLAN_MAX_BYTES + (off_t)BPF_MAXINSNS * 8 + 64 && (d = malloc((size_t)st.st_size)) &&
      pread(fd, d, (size_t)st.st_size, 0) == st.st_size) {
    size_t len = (size_t)st.st_size, off = 8;
    uint32_t klen, n;
    if (!memcmp(d, "HULLBPF1", 8)) {
      memcpy(&klen, d + off, 4); off += 4;
      if (klen == key->len && len - off >= klen && !memcmp(d + off, key->p, klen)) {
        off += klen;
        if (len - off >= 4) {
          memcpy(&n, d + off, 4); off += 4;
          if (n > 0 && n <= BPF_MAXINSNS && len - off == (size_t)n * sizeof(struct sock_filter) && (g_prog = malloc(len - off))) {
            memcpy(g_prog, d + off, len - off);
            g_prog_len = n;
            ok = 1;
          }
        }
      }
    }
  }
  free(d);
  close(fd);
  return ok ? 0 : -1;
}

/* Best effort: a cache that cannot be written only costs the next create a compile. */
static void cache_write(const char *dir, const char *file, const struct buf *key) {
  char d[PATH_MAX];
  if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d) return;
  for (char *s = d + 1;; s++) { /* missing parents too, private */
    if (*s != '/' && *s) continue;
    char c = *s;
    *s = 0;
    if (mkdir(d, 0700) < 0 && errno != EEXIST) return;
    if (!c) break;
    *s = c;
  }
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.%d.tmp", file, (int)getpid()) >= (int)sizeof tmp) return;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  struct buf b = {0};
  uint32_t klen = (uint32_t)key->len, n = (uint32_t)g_prog_len;
  int r = buf_put(&b, "HULLBPF1", 8) | buf_u32(&b, klen) | buf_put(&b, key->p, key->len) | buf_u32(&b, n) |
          buf_put(&b, g_prog, g_prog_len * sizeof *g_prog);
  int ok = !r && write(fd, b.p, b.len) == (ssize_t)b.len;
  ok = close(fd) == 0 && ok;
  free(b.p);
  if (!ok || rename(tmp, file) < 0) unlink(tmp);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int seccomp_compile(const struct plan *p) {
  if (!p->has_seccomp) return 0;
  if (p->sc_flags & 8) {
    /* runtime-spec ties this flag to libseccomp's support for it, as runc and crun do. */
    const struct scmp_version *v = seccomp_version();
    if (v->major < 2 || (v->major == 2 && v->minor < 6))
      return fail("seccomp: flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by libseccomp %u.%u.%u (needs 2.6)",
                  v->major, v->minor, v->micro);
  }
  double t0 = now_ms();
  struct buf key = {0};
  char file[PATH_MAX] = "";
  if (p->sc_cache_dir) {
    if (cache_key(p, &key) < 0) return -1;
    snprintf(file, sizeof file, "%s/%016llx.bpf", p->sc_cache_dir, (unsigned long long)fnv64(key.p, key.len));
    if (cache_read(file, &key) == 0) {
      report_debug("seccomp: %zu instructions from cache %s in %.2f ms", g_prog_len, file, now_ms() - t0);
      /* --debug says the same with or without a cache: name what the compile skipped. */
      for (size_t i = 0; p->debug && i < p->n_sc_rules; i++)
        if (seccomp_syscall_resolve_name(p->sc_rules[i].syscall) == __NR_SCMP_ERROR)
          report_debug("seccomp: syscall %s is unknown to libseccomp, skipped", p->sc_rules[i].syscall);
      free(key.p);
      return 0;
    }
  }
  if (compile_libseccomp(p) < 0) { free(key.p); return -1; }
  report_debug("seccomp: %zu rules compiled to %zu instructions in %.2f ms", p->n_sc_rules, g_prog_len, now_ms() - t0);
  if (file[0]) cache_write(p->sc_cache_dir, file, &key);
  free(key.p);
  return 0;
}

int seccomp_prepare(const struct plan *p, void **out) {
  *out = p->has_seccomp ? g_prog : NULL;
  return 0;
}

/* One sendmsg of `len` bytes of `data` carrying `fd` (SCM_RIGHTS), retried on EINTR; sendmsg's result. */
static ssize_t sendmsg_fd(int sock, const void *data, size_t len, int fd) {
  struct iovec iov = {(void *)data, len};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n;
}

/* Sends one fd with a kind byte over the P<->child seqpacket socket. */
static int send_fd(int sock, char kind, int fd) {
  return sendmsg_fd(sock, &kind, 1, fd) < 0 ? -1 : 0;
}

int seccomp_load_ctx(const struct plan *p, void *prog, int sync_fd) {
  int notify = seccomp_uses_notify(p);
  unsigned long flags = 0;
  if (p->sc_flags & 1) flags |= SECCOMP_FILTER_FLAG_TSYNC;
  if (p->sc_flags & 2) flags |= SECCOMP_FILTER_FLAG_LOG;
  if (p->sc_flags & 4) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (p->sc_flags & 8) flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  if (notify) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH; /* TSYNC alone excludes a listener */
  }
  struct sock_fprog fprog = {(unsigned short)g_prog_len, (struct sock_filter *)prog};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
  if (rc < 0) return fail_errno(errno, "seccomp: load filter");
  if (notify) {
    int fd = (int)rc;
    int r = send_fd(sync_fd, 'n', fd);
    int e = errno;
    close(fd);
    if (r < 0) return fail_errno(e, "seccomp: pass the listener fd");
  }
  return 0;
}

/* P: runtime-spec "Seccomp" listener: connect to listenerPath, send the notify fd with SCM_RIGHTS and
 * the container process state (JSON) as the payload, then close. The state was made by the planner
 * with "pid":0 where the init's pid goes. */
int seccomp_send_listener(const struct plan *p, int notify_fd, pid_t pid) {
  const char *tmpl = p->sc_listener_state ? p->sc_listener_state : "{}";
  const char *path = p->sc_listener_path;
  if (!path || !path[0]) return fail("seccomp: a listener fd but no listenerPath");
  char pidtxt[32];
  snprintf(pidtxt, sizeof pidtxt, "\"pid\":%d", (int)pid);
  struct buf b = {0};
  const char *s = tmpl, *hit;
  int r = 0;
  while ((hit = strstr(s, "\"pid\":0")) && (hit[7] == ',' || hit[7] == '}')) {
    r |= buf_put(&b, s, (size_t)(hit - s)) | buf_put(&b, pidtxt, strlen(pidtxt));
    s = hit + 7;
  }
  r |= buf_put(&b, s, strlen(s));
  if (r) { free(b.p); return fail_errno(ENOMEM, "seccomp: listener state"); }

  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) { free(b.p); return fail("seccomp: listenerPath %s is too long", path); }
  strcpy(sa.sun_path, path);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) { free(b.p); return fail_errno(errno, "seccomp: socket"); }
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(sock);
    free(b.p);
    return fail_errno(e, "seccomp: connect to listenerPath %s", path);
  }
  ssize_t n = sendmsg_fd(sock, b.p, b.len, notify_fd);
  size_t sent = n > 0 ? (size_t)n : 0;
  while (n >= 0 && sent < b.len) { /* the fd went with the first bytes; the rest of a long state follows */
    n = send(sock, b.p + sent, b.len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) { n = 0; continue; }
    if (n > 0) sent += (size_t)n;
  }
  int e = errno;
  close(sock);
  free(b.p);
  if (n < 0) return fail_errno(e, "seccomp: send to listenerPath %s", path);
  report_debug("seccomp: listener fd and state sent to %s", path);
  return 0;
}
