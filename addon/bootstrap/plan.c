/* Plan decoding: every length and count is checked; nothing is ever truncated (CVE-2021-43784 class). */
#include "hull.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct cur { const uint8_t *p; size_t len, off; size_t rec; };

#define PFAIL(c, ...) plan_fail((c)->rec, __VA_ARGS__)

static int plan_fail(size_t rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int plan_fail(size_t rec, const char *fmt, ...) {
  char what[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return fail("plan: %s (record %zu)", what, rec);
}

static int get_u32(struct cur *c, uint32_t *v) {
  if (c->len - c->off < 4) return PFAIL(c, "truncated u32");
  memcpy(v, c->p + c->off, 4);
  c->off += 4;
  return 0;
}
static int get_u64(struct cur *c, uint64_t *v) {
  if (c->len - c->off < 8) return PFAIL(c, "truncated u64");
  memcpy(v, c->p + c->off, 8);
  c->off += 8;
  return 0;
}
/* A str ends at the first NUL, which must lie inside the record. */
static int get_str(struct cur *c, const char **s, size_t max, const char *what) {
  const uint8_t *start = c->p + c->off;
  const uint8_t *nul = memchr(start, 0, c->len - c->off);
  if (!nul) return PFAIL(c, "unterminated string (%s)", what);
  size_t n = (size_t)(nul - start);
  if (max && n >= max) return PFAIL(c, "%s is %zu bytes (max %zu)", what, n, max - 1);
  *s = (const char *)start;
  c->off += n + 1;
  return 0;
}
static int get_path(struct cur *c, const char **s, const char *what, int absolute) {
  if (get_str(c, s, PATH_MAX, what) < 0) return -1;
  if (absolute && (*s)[0] != '/') return PFAIL(c, "%s %s is not absolute", what, **s ? *s : "\"\"");
  return 0;
}
static int done(struct cur *c) {
  if (c->off != c->len) return PFAIL(c, "%zu trailing bytes in record", c->len - c->off);
  return 0;
}

static int ns_flag_ok(uint32_t f) {
  return f == CLONE_NEWUSER || f == CLONE_NEWNS || f == CLONE_NEWPID || f == CLONE_NEWUTS ||
         f == CLONE_NEWIPC || f == CLONE_NEWNET || f == CLONE_NEWCGROUP || f == CLONE_NEWTIME;
}

int plan_read_fd(int fd, uint8_t **bufp, size_t *lenp) {
  size_t cap = 65536, len = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return fail_errno(ENOMEM, "plan: read");
  for (;;) {
    if (len == cap) {
      if (cap > PLAN_MAX_BYTES) { free(buf); return fail("plan: larger than %u bytes (record 0)", PLAN_MAX_BYTES); }
      cap *= 2;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) { free(buf); return fail_errno(ENOMEM, "plan: read"); }
      buf = nb;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { int e = errno; free(buf); return fail_errno(e, "plan: read fd %d", fd); }
    if (n == 0) break;
    len += (size_t)n;
  }
  *bufp = buf;
  *lenp = len;
  return 0;
}

/* HOOK: u32 kind, u32 timeout, u32 nargs, u32 nenv, str path, nargs x str arg, nenv x str env */
static int decode_hook(struct cur *c, struct plan *p) {
  struct hook_req *h = &p->hooks[p->n_hooks];
  uint32_t nargs = 0, nenv = 0;
  if (get_u32(c, &h->kind) < 0 || get_u32(c, &h->timeout) < 0 || get_u32(c, &nargs) < 0 || get_u32(c, &nenv) < 0) return -1;
  if (h->kind >= HOOK_KINDS) return PFAIL(c, "unknown hook kind %u", h->kind);
  if (get_path(c, &h->path, "hook path", 1) < 0) return -1;
  if (nargs < 1 || nargs > MAX_ARGS) return PFAIL(c, "hook with %u args (1 to %d)", nargs, MAX_ARGS);
  if (nenv > MAX_ENV) return PFAIL(c, "hook with %u env entries (max %d)", nenv, MAX_ENV);
  /* every str takes at least its NUL: refuse counts the payload cannot hold before allocating */
  if ((size_t)nargs + nenv > c->len - c->off) return PFAIL(c, "truncated hook args or env");
  const char **argv = calloc(nargs + 1, sizeof *argv), **envp = calloc(nenv + 1, sizeof *envp);
  if (!argv || !envp) { free(argv); free(envp); return fail_errno(ENOMEM, "plan"); }
  h->argv = argv;
  h->envp = envp;
  for (uint32_t k = 0; k < nargs; k++)
    if (get_str(c, &argv[k], 0, "hook arg") < 0) return -1;
  for (uint32_t k = 0; k < nenv; k++) {
    if (get_str(c, &envp[k], 0, "hook env") < 0) return -1;
    if (!strchr(envp[k], '=') || envp[k][0] == '=') return PFAIL(c, "hook env entry is not K=V");
  }
  h->index = 0;
  for (size_t k = 0; k < p->n_hooks; k++) h->index += p->hooks[k].kind == h->kind;
  p->n_hooks++;
  return 0;
}

/* Process and security records (50-69; addon/README.md). */
static int cpu_list_ok(const char *s) { return strspn(s, "0123456789,-") == strlen(s); }
static int decode_security(struct cur *c, uint16_t type, struct plan *p) {
  uint32_t v = 0;
  switch (type) {
  case R_SC_LISTENER_STATE:
    if (get_str(c, &p->sc_listener_state, 1 << 20, "seccomp listener state") < 0) return -1;
    if (p->sc_listener_state[0] != '{') return PFAIL(c, "seccomp listener state is not a JSON object");
    return 0;
  case R_SC_CACHE: return get_path(c, &p->sc_cache_dir, "seccomp cache dir", 1);
  case R_SCHEDULER:
    p->has_sched = 1;
    if (get_u32(c, &p->sched_policy) < 0 || get_u32(c, &v) < 0 || get_u32(c, &p->sched_priority) < 0 ||
        get_u32(c, &p->sched_flags) < 0 || get_u64(c, &p->sched_runtime) < 0 || get_u64(c, &p->sched_deadline) < 0 ||
        get_u64(c, &p->sched_period) < 0) return -1;
    p->sched_nice = (int32_t)v;
    if (p->sched_policy > 6 || p->sched_policy == 4) return PFAIL(c, "unknown scheduler policy %u", p->sched_policy);
    if (p->sched_flags & ~0x7Fu) return PFAIL(c, "unknown scheduler flags 0x%x", p->sched_flags);
    if (p->sched_nice < -20 || p->sched_nice > 19) return PFAIL(c, "nice %d out of range", p->sched_nice);
    if (p->sched_priority > 99) return PFAIL(c, "scheduler priority %u out of range", p->sched_priority);
    return 0;
  case R_IO_PRIORITY:
    p->has_ioprio = 1;
    if (get_u32(c, &p->ioprio_class) < 0 || get_u32(c, &p->ioprio_level) < 0) return -1;
    if (p->ioprio_class < 1 || p->ioprio_class > 3) return PFAIL(c, "unknown I/O priority class %u", p->ioprio_class);
    if (p->ioprio_level > 7) return PFAIL(c, "I/O priority %u out of range", p->ioprio_level);
    return 0;
  case R_PERSONALITY:
    p->has_personality = 1;
    if (get_u32(c, &p->personality) < 0) return -1;
    if (p->personality != 0 && p->personality != 8) return PFAIL(c, "unknown personality 0x%x", p->personality);
    return 0;
  case R_CPU_AFFINITY:
    if (get_str(c, &p->cpu_initial, 4096, "initial cpus") < 0 || get_str(c, &p->cpu_final, 4096, "final cpus") < 0) return -1;
    if (!cpu_list_ok(p->cpu_initial) || !cpu_list_ok(p->cpu_final)) return PFAIL(c, "bad cpu list");
    return 0;
  case R_MEMORY_POLICY:
    p->has_mempolicy = 1;
    if (get_u32(c, &p->mpol_mode) < 0 || get_u32(c, &p->mpol_flags) < 0 || get_str(c, &p->mpol_nodes, 4096, "memory nodes") < 0) return -1;
    if (p->mpol_mode > 6) return PFAIL(c, "unknown memory policy mode %u", p->mpol_mode);
    if (p->mpol_flags & ~0xE000u) return PFAIL(c, "unknown memory policy flags 0x%x", p->mpol_flags);
    if (!cpu_list_ok(p->mpol_nodes)) return PFAIL(c, "bad memory node list");
    return 0;
  case R_DEVCG_PROG:
    p->has_devcg = 1;
    return get_u32(c, &p->devcg_index);
  case R_DEVCG_RULE: {
    struct devcg_rule *r = &p->devcg_rules[p->n_devcg_rules++];
    uint32_t maj = 0, min = 0;
    if (get_u32(c, &r->allow) < 0 || get_u32(c, &r->type) < 0 || get_u32(c, &maj) < 0 || get_u32(c, &min) < 0 ||
        get_u32(c, &r->access) < 0) return -1;
    r->major = (int32_t)maj;
    r->minor = (int32_t)min;
    if (r->allow > 1 || (r->type != 'a' && r->type != 'b' && r->type != 'c') || r->access > 7 || r->access == 0 ||
        r->major < -1 || r->minor < -1) return PFAIL(c, "bad device rule");
    return 0;
  }
  }
  return PFAIL(c, "unknown record type %u", (unsigned)type);
}

#define ALLOC(field, count) do { if ((count) && !((field) = calloc((count) + 1, sizeof *(field)))) return fail_errno(ENOMEM, "plan"); } while (0)

int plan_decode(const uint8_t *buf, size_t len, struct plan *p) {
  memset(p, 0, sizeof *p);
  p->umask = 0xFFFFFFFFu;
  if (len < 16) return plan_fail(0, "shorter than its header (%zu bytes)", len);
  uint32_t magic, total, count;
  uint16_t version, zero;
  memcpy(&magic, buf, 4);
  memcpy(&version, buf + 4, 2);
  memcpy(&zero, buf + 6, 2);
  memcpy(&total, buf + 8, 4);
  memcpy(&count, buf + 12, 4);
  if (magic != PLAN_MAGIC) return plan_fail(0, "bad magic 0x%08x", magic);
  if (version != PLAN_VERSION) return plan_fail(0, "unsupported version %u", version);
  if (zero != 0) return plan_fail(0, "reserved header field is not zero");
  if (total > PLAN_MAX_BYTES) return plan_fail(0, "total length %u exceeds %u", total, PLAN_MAX_BYTES);
  if (total != len) return plan_fail(0, "total length %u but %zu bytes received", total, len);
  if (count > PLAN_MAX_RECORDS) return plan_fail(0, "%u records (max %u)", count, PLAN_MAX_RECORDS);

  /* pass 1: bounds, types, counts */
  size_t counts[R_MAX_TYPE + 1] = {0};
  size_t off = 16;
  for (size_t i = 0; i < count; i++) {
    if (len - off < 8) return plan_fail(i, "record header out of bounds");
    uint16_t type, rz;
    uint32_t plen;
    memcpy(&type, buf + off, 2);
    memcpy(&rz, buf + off + 2, 2);
    memcpy(&plen, buf + off + 4, 4);
    if (rz != 0) return plan_fail(i, "reserved record field is not zero");
    if (type == 0 || type > R_MAX_TYPE) return plan_fail(i, "unknown record type %u", type);
    if (plen > len - off - 8) return plan_fail(i, "payload out of bounds");
    counts[type]++;
    off += 8 + (size_t)plen;
  }
  if (off != len) return plan_fail(count, "%zu trailing bytes after the last record", len - off);

  static const struct { int type; size_t max; const char *what; } limits[] = {
    {R_ARG, MAX_ARGS, "args"}, {R_ENV, MAX_ENV, "env entries"}, {R_MOUNT, MAX_MOUNTS, "mounts"},
  };
  for (size_t k = 0; k < sizeof limits / sizeof *limits; k++)
    if (counts[limits[k].type] > limits[k].max)
      return plan_fail(0, "%zu %s (max %zu)", counts[limits[k].type], limits[k].what, limits[k].max);
  static const int singletons[] = {R_ROOTFS, R_ROOTFS_READONLY, R_ROOTFS_PROPAGATION, R_NO_PIVOT, R_UID_MAP,
    R_GID_MAP, R_SETGROUPS_DENY, R_HOSTNAME, R_DOMAINNAME, R_CAPS, R_NO_NEW_PRIVS, R_OOM_SCORE_ADJ, R_USER,
    R_CWD, R_EXEC_FIFO, R_NO_NEW_KEYRING, R_PRESERVE_FDS, R_SECCOMP, R_DEBUG, R_CONSOLE_SOCKET,
    R_CONSOLE_SIZE, R_CONTAINER_ID, R_TERMINAL, R_SC_LISTENER_STATE, R_SC_CACHE, R_SCHEDULER, R_IO_PRIORITY,
    R_PERSONALITY, R_CPU_AFFINITY, R_MEMORY_POLICY, R_DEVCG_PROG};
  for (size_t k = 0; k < sizeof singletons / sizeof *singletons; k++)
    if (counts[singletons[k]] > 1) return plan_fail(0, "record type %d appears %zu times", singletons[k], counts[singletons[k]]);

  ALLOC(p->ns, counts[R_NAMESPACE]);
  ALLOC(p->cgroups, counts[R_CGROUP]);
  ALLOC(p->cg_writes, counts[R_CGROUP_WRITE]);
  ALLOC(p->mounts, counts[R_MOUNT]);
  ALLOC(p->masked, counts[R_MASKED_PATH]);
  ALLOC(p->readonly, counts[R_READONLY_PATH]);
  ALLOC(p->devices, counts[R_DEVICE]);
  ALLOC(p->symlinks, counts[R_SYMLINK]);
  ALLOC(p->sysctls, counts[R_SYSCTL]);
  ALLOC(p->rlimits, counts[R_RLIMIT]);
  ALLOC(p->sc_arches, counts[R_SECCOMP_ARCH]);
  ALLOC(p->sc_rules, counts[R_SECCOMP_RULE]);
  if (counts[R_HOOK] > MAX_HOOKS) return plan_fail(0, "%zu hooks (max %d)", counts[R_HOOK], MAX_HOOKS);
  ALLOC(p->hooks, counts[R_HOOK]);
  ALLOC(p->devcg_rules, counts[R_DEVCG_RULE]);
  if (!(p->args = calloc(counts[R_ARG] + 1, sizeof *p->args))) return fail_errno(ENOMEM, "plan");
  if (!(p->env = calloc(counts[R_ENV] + 1, sizeof *p->env))) return fail_errno(ENOMEM, "plan");

  /* pass 2: fields */
  off = 16;
  for (size_t i = 0; i < count; i++) {
    uint16_t type;
    uint32_t plen;
    memcpy(&type, buf + off, 2);
    memcpy(&plen, buf + off + 4, 4);
    struct cur c = {buf + off + 8, plen, 0, i};
    off += 8 + (size_t)plen;
    switch (type) {
    case R_ROOTFS: if (get_path(&c, &p->rootfs, "rootfs", 1) < 0) return -1; break;
    case R_ROOTFS_READONLY: p->rootfs_readonly = 1; break;
    case R_ROOTFS_PROPAGATION: p->has_propagation = 1; if (get_u32(&c, &p->propagation) < 0) return -1; break;
    case R_NO_PIVOT: p->no_pivot = 1; break;
    case R_NAMESPACE: {
      struct ns_req *n = &p->ns[p->n_ns];
      if (get_u32(&c, &n->flag) < 0 || get_path(&c, &n->path, "namespace path", 0) < 0) return -1;
      if (!ns_flag_ok(n->flag)) return PFAIL(&c, "unknown namespace flag 0x%x", n->flag);
      for (size_t k = 0; k < p->n_ns; k++)
        if (p->ns[k].flag == n->flag) return PFAIL(&c, "namespace 0x%x given twice", n->flag);
      if (n->path[0] && n->path[0] != '/') return PFAIL(&c, "namespace path %s is not absolute", n->path);
      p->n_ns++;
      break;
    }
    case R_UID_MAP: if (get_str(&c, &p->uid_map, ID_MAP_MAX + 1, "uid_map") < 0) return -1; break;
    case R_GID_MAP: if (get_str(&c, &p->gid_map, ID_MAP_MAX + 1, "gid_map") < 0) return -1; break;
    case R_SETGROUPS_DENY: p->setgroups_deny = 1; break;
    case R_CGROUP: {
      const char *d;
      if (get_path(&c, &d, "cgroup dir", 1) < 0) return -1;
      if (strstr(d, "/../") || (strlen(d) >= 3 && !strcmp(d + strlen(d) - 3, "/.."))) return PFAIL(&c, "cgroup dir %s contains ..", d);
      p->cgroups[p->n_cgroups++] = d;
      break;
    }
    case R_CGROUP_WRITE: {
      struct cg_write *w = &p->cg_writes[p->n_cg_writes++];
      if (get_u32(&c, &w->index) < 0 || get_str(&c, &w->file, NAME_MAX + 1, "cgroup file") < 0 ||
          get_str(&c, &w->value, 0, "cgroup value") < 0) return -1;
      if (!w->file[0] || strchr(w->file, '/') || !strcmp(w->file, ".") || !strcmp(w->file, ".."))
        return PFAIL(&c, "bad cgroup file name \"%s\"", w->file);
      break;
    }
    case R_MOUNT: {
      struct mount_req *m = &p->mounts[p->n_mounts++];
      if (get_u32(&c, &m->flags) < 0 || get_u32(&c, &m->propagation) < 0 || get_u32(&c, &m->hflags) < 0 ||
          get_str(&c, &m->type, 256, "mount type") < 0 || get_path(&c, &m->source, "mount source", 0) < 0 ||
          get_path(&c, &m->dest, "mount destination", 1) < 0 || get_str(&c, &m->data, 65536, "mount data") < 0) return -1;
      if ((m->hflags & 1) && m->source[0] != '/') return PFAIL(&c, "bind source %s is not absolute", m->source);
      break;
    }
    case R_MASKED_PATH: if (get_path(&c, &p->masked[p->n_masked++], "masked path", 1) < 0) return -1; break;
    case R_READONLY_PATH: if (get_path(&c, &p->readonly[p->n_readonly++], "readonly path", 1) < 0) return -1; break;
    case R_DEVICE: {
      struct device_req *d = &p->devices[p->n_devices++];
      if (get_u32(&c, &d->kind) < 0 || get_u32(&c, &d->major) < 0 || get_u32(&c, &d->minor) < 0 ||
          get_u32(&c, &d->mode) < 0 || get_u32(&c, &d->uid) < 0 || get_u32(&c, &d->gid) < 0 ||
          get_u32(&c, &d->hflags) < 0 || get_path(&c, &d->path, "device path", 1) < 0) return -1;
      if (d->kind != 'c' && d->kind != 'b' && d->kind != 'p' && d->kind != 'u')
        return PFAIL(&c, "bad device type %u", d->kind);
      break;
    }
    case R_SYMLINK: {
      struct symlink_req *s = &p->symlinks[p->n_symlinks++];
      if (get_path(&c, &s->target, "symlink target", 0) < 0 || get_path(&c, &s->linkpath, "symlink path", 1) < 0) return -1;
      break;
    }
    case R_HOSTNAME: if (get_str(&c, &p->hostname, 65, "hostname") < 0) return -1; break;
    case R_DOMAINNAME: if (get_str(&c, &p->domainname, 65, "domainname") < 0) return -1; break;
    case R_SYSCTL: {
      struct sysctl_req *s = &p->sysctls[p->n_sysctls++];
      if (get_str(&c, &s->key, 256, "sysctl key") < 0 || get_str(&c, &s->value, 4096, "sysctl value") < 0) return -1;
      if (!s->key[0] || strstr(s->key, "..") || s->key[0] == '.' || s->key[0] == '/')
        return PFAIL(&c, "bad sysctl key \"%s\"", s->key);
      break;
    }
    case R_CAPS:
      p->has_caps = 1;
      if (get_u64(&c, &p->cap_bounding) < 0 || get_u64(&c, &p->cap_effective) < 0 || get_u64(&c, &p->cap_permitted) < 0 ||
          get_u64(&c, &p->cap_inheritable) < 0 || get_u64(&c, &p->cap_ambient) < 0) return -1;
      break;
    case R_NO_NEW_PRIVS: p->no_new_privs = 1; break;
    case R_RLIMIT: {
      struct rlimit_req *r = &p->rlimits[p->n_rlimits++];
      if (get_u32(&c, &r->resource) < 0 || get_u64(&c, &r->soft) < 0 || get_u64(&c, &r->hard) < 0) return -1;
      if (r->resource >= 16) return PFAIL(&c, "unknown rlimit %u", r->resource);
      break;
    }
    case R_OOM_SCORE_ADJ: {
      uint32_t v = 0;
      p->has_oom = 1;
      if (get_u32(&c, &v) < 0) return -1;
      p->oom_score_adj = (int32_t)v;
      if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000) return PFAIL(&c, "oom_score_adj %d out of range", p->oom_score_adj);
      break;
    }
    case R_USER:
      p->has_user = 1;
      if (get_u32(&c, &p->uid) < 0 || get_u32(&c, &p->gid) < 0 || get_u32(&c, &p->umask) < 0 || get_u32(&c, &p->n_gids) < 0) return -1;
      if (p->n_gids > MAX_GIDS) return PFAIL(&c, "%u additional gids (max %u)", p->n_gids, MAX_GIDS);
      if ((size_t)p->n_gids * 4 > c.len - c.off) return PFAIL(&c, "truncated additional gids");
      if (p->umask != 0xFFFFFFFFu && p->umask > 0777) return PFAIL(&c, "bad umask %o", p->umask);
      if (!(p->gids = calloc(p->n_gids + 1, 4))) return fail_errno(ENOMEM, "plan");
      for (uint32_t k = 0; k < p->n_gids; k++) get_u32(&c, &p->gids[k]);
      break;
    case R_CWD: if (get_path(&c, &p->cwd, "cwd", 1) < 0) return -1; break;
    case R_ARG: if (get_str(&c, &p->args[p->n_args++], 0, "arg") < 0) return -1; break;
    case R_ENV: {
      const char *e;
      if (get_str(&c, &e, 0, "env") < 0) return -1;
      if (!strchr(e, '=') || e[0] == '=') return PFAIL(&c, "env entry is not K=V");
      p->env[p->n_env++] = e;
      break;
    }
    case R_EXEC_FIFO: if (get_path(&c, &p->exec_fifo, "exec fifo", 1) < 0) return -1; break;
    case R_NO_NEW_KEYRING: p->no_new_keyring = 1; break;
    case R_PRESERVE_FDS:
      if (get_u32(&c, &p->preserve_fds) < 0) return -1;
      if (p->preserve_fds > 65536) return PFAIL(&c, "preserve_fds %u too large", p->preserve_fds);
      break;
    case R_SECCOMP:
      p->has_seccomp = 1;
      if (get_u32(&c, &p->sc_default_action) < 0 || get_u32(&c, &p->sc_default_errno) < 0 || get_u32(&c, &p->sc_flags) < 0 ||
          get_path(&c, &p->sc_listener_path, "seccomp listener path", 0) < 0 ||
          get_str(&c, &p->sc_listener_metadata, 4096, "seccomp listener metadata") < 0) return -1;
      if (p->sc_default_action > 7) return PFAIL(&c, "unknown seccomp action %u", p->sc_default_action);
      if (p->sc_flags & ~0xFu) return PFAIL(&c, "unknown seccomp flags 0x%x", p->sc_flags);
      break;
    case R_SECCOMP_ARCH: if (get_str(&c, &p->sc_arches[p->n_sc_arches++], 32, "seccomp arch") < 0) return -1; break;
    case R_SECCOMP_RULE: {
      struct sc_rule *r = &p->sc_rules[p->n_sc_rules++];
      if (get_u32(&c, &r->action) < 0 || get_u32(&c, &r->errno_ret) < 0 || get_u32(&c, &r->nargs) < 0) return -1;
      if (r->action > 7) return PFAIL(&c, "unknown seccomp action %u", r->action);
      if (r->nargs > 6) return PFAIL(&c, "%u seccomp arg conditions (max 6)", r->nargs);
      if ((size_t)r->nargs * 24 > c.len - c.off) return PFAIL(&c, "truncated seccomp args");
      struct sc_arg *a = calloc(r->nargs + 1, sizeof *a);
      if (!a) return fail_errno(ENOMEM, "plan");
      for (uint32_t k = 0; k < r->nargs; k++) {
        get_u32(&c, &a[k].index); get_u32(&c, &a[k].op); get_u64(&c, &a[k].value); get_u64(&c, &a[k].value_two);
        if (a[k].index > 5) return PFAIL(&c, "seccomp arg index %u (max 5)", a[k].index);
        if (a[k].op < 1 || a[k].op > 7) return PFAIL(&c, "unknown seccomp operator %u", a[k].op);
      }
      r->args = a;
      if (get_str(&c, &r->syscall, 128, "syscall name") < 0) return -1;
      if (!r->syscall[0]) return PFAIL(&c, "empty syscall name");
      break;
    }
    case R_DEBUG: p->debug = 1; break;
    case R_CONSOLE_SOCKET: if (get_path(&c, &p->console_socket, "console socket", 1) < 0) return -1; break;
    case R_CONSOLE_SIZE:
      p->has_console_size = 1;
      if (get_u32(&c, &p->console_rows) < 0 || get_u32(&c, &p->console_cols) < 0) return -1;
      if (p->console_rows > 0xFFFF || p->console_cols > 0xFFFF) return PFAIL(&c, "console size out of range");
      break;
    case R_CONTAINER_ID: if (get_str(&c, &p->container_id, 1024, "container id") < 0) return -1; break;
    case R_TERMINAL: p->terminal = 1; break;
    case R_HOOK_STATE:
      if (p->hook_state_head) return PFAIL(&c, "record type %d appears twice", R_HOOK_STATE);
      if (get_str(&c, &p->hook_state_head, 0, "hook state head") < 0 || get_str(&c, &p->hook_state_tail, 0, "hook state tail") < 0) return -1;
      if (p->hook_state_head[0] != '{' || !p->hook_state_tail[0] || p->hook_state_tail[strlen(p->hook_state_tail) - 1] != '}')
        return PFAIL(&c, "hook state is not a JSON object");
      break;
    case R_HOOK: if (decode_hook(&c, p) < 0) return -1; break;
    case R_SC_LISTENER_STATE: case R_SC_CACHE: case R_SCHEDULER: case R_IO_PRIORITY: case R_PERSONALITY:
    case R_CPU_AFFINITY: case R_MEMORY_POLICY: case R_DEVCG_PROG: case R_DEVCG_RULE:
      if (decode_security(&c, type, p) < 0) return -1;
      break;
    case R_TIME_OFFSET: {
      if (p->n_time_offsets >= 2) return PFAIL(&c, "more than 2 time offsets");
      struct time_offset *t = &p->time_offsets[p->n_time_offsets++];
      uint64_t secs;
      if (get_u32(&c, &t->clock) < 0 || get_u64(&c, &secs) < 0 || get_u32(&c, &t->nsecs) < 0) return -1;
      t->secs = (int64_t)secs;
      if (t->clock != 1 && t->clock != 7) return PFAIL(&c, "time offset for clock %u (only monotonic 1, boottime 7)", t->clock);
      if (t->nsecs >= 1000000000u) return PFAIL(&c, "time offset nanoseconds %u out of range", t->nsecs);
      break;
    }
    default: return PFAIL(&c, "unknown record type %u", (unsigned)type);
    }
    if (done(&c) < 0) return -1;
  }

  if (!p->rootfs) return plan_fail(count, "no ROOTFS record");
  if (p->n_args == 0) return plan_fail(count, "no ARG record");
  if (p->n_sc_rules && !p->has_seccomp) return plan_fail(count, "SECCOMP_RULE without SECCOMP");
  for (size_t k = 0; k < p->n_cg_writes; k++)
    if (p->cg_writes[k].index >= p->n_cgroups) return plan_fail(count, "cgroup write index %u but %zu cgroups", p->cg_writes[k].index, p->n_cgroups);
  if (p->console_socket && !p->terminal) return plan_fail(count, "CONSOLE_SOCKET without TERMINAL");
  if (p->n_hooks && !p->hook_state_head) return plan_fail(count, "HOOK without HOOK_STATE");
  if ((p->sc_listener_state || p->sc_cache_dir) && !p->has_seccomp) return plan_fail(count, "seccomp listener state or cache without SECCOMP");
  if (p->n_devcg_rules && !p->has_devcg) return plan_fail(count, "DEVCG_RULE without DEVCG_PROG");
  if (p->has_devcg && p->devcg_index >= p->n_cgroups) return plan_fail(count, "device program cgroup index %u but %zu cgroups", p->devcg_index, p->n_cgroups);
  g_debug = p->debug;
  return 0;
}
