/* hull-bootstrap: shared types. Plan format and process model: addon/README.md. */
#ifndef HULL_H
#define HULL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* record types (addon/README.md "The plan") */
enum {
  R_ROOTFS = 1, R_ROOTFS_READONLY, R_ROOTFS_PROPAGATION, R_NO_PIVOT, R_NAMESPACE, R_UID_MAP,
  R_GID_MAP, R_SETGROUPS_DENY, R_CGROUP, R_CGROUP_WRITE, R_MOUNT, R_MASKED_PATH, R_READONLY_PATH,
  R_DEVICE, R_SYMLINK, R_HOSTNAME, R_DOMAINNAME, R_SYSCTL, R_CAPS, R_NO_NEW_PRIVS, R_RLIMIT,
  R_OOM_SCORE_ADJ, R_USER, R_CWD, R_ARG, R_ENV, R_EXEC_FIFO, R_NO_NEW_KEYRING, R_PRESERVE_FDS,
  R_SECCOMP, R_SECCOMP_ARCH, R_SECCOMP_RULE, R_DEBUG, R_CONSOLE_SOCKET, R_CONSOLE_SIZE,
  R_CONTAINER_ID, R_TERMINAL, R_TIME_OFFSET = 38,
  R_HOOK_STATE = 40, R_HOOK = 41, /* hooks: 40-49 */
  /* Highest number any range reserves (hooks 40-49, security 50-69, exec 70-79); a number in
   * range that the decoder has no case for is still rejected by the switch's default. */
  R_MAX_TYPE = 79
};
/* process and security records: 50-69 */
enum {
  R_SC_LISTENER_STATE = 50, R_SC_CACHE = 51, R_SCHEDULER = 52, R_IO_PRIORITY = 53, R_PERSONALITY = 54,
  R_CPU_AFFINITY = 55, R_MEMORY_POLICY = 56, R_DEVCG_PROG = 57, R_DEVCG_RULE = 58,
};
struct devcg_rule { uint32_t allow, type, access; int32_t major, minor; }; /* type 'a' 'b' 'c'; -1 = any */

#define PLAN_MAGIC 0x504C5548u
#define PLAN_VERSION 1
#define PLAN_MAX_BYTES (4u << 20)
#define PLAN_MAX_RECORDS 65536u
#define MAX_ARGS 1024
#define MAX_ENV 4096
#define MAX_MOUNTS 1024
#define MAX_GIDS 65535
#define ID_MAP_MAX 4096

struct ns_req { uint32_t flag; const char *path; };
struct cg_write { uint32_t index; const char *file, *value; };
struct mount_req { uint32_t flags, propagation, hflags; const char *type, *source, *dest, *data; };
struct device_req { uint32_t kind, major, minor, mode, uid, gid, hflags; const char *path; };
struct symlink_req { const char *target, *linkpath; };
struct sysctl_req { const char *key, *value; };
struct rlimit_req { uint32_t resource; uint64_t soft, hard; };
struct time_offset { uint32_t clock; int64_t secs; uint32_t nsecs; };
struct sc_arg { uint32_t index, op; uint64_t value, value_two; };
struct sc_rule { uint32_t action, errno_ret, nargs; const struct sc_arg *args; const char *syscall; };
/* kind: HOOK_PRESTART..HOOK_START_CONTAINER; timeout in seconds, 0 = none; argv/envp NULL-terminated */
enum { HOOK_PRESTART = 0, HOOK_CREATE_RUNTIME = 1, HOOK_CREATE_CONTAINER = 2, HOOK_START_CONTAINER = 3, HOOK_KINDS = 4 };
struct hook_req { uint32_t kind, timeout; const char *path; const char **argv, **envp; size_t index; };
#define MAX_HOOKS 1024

/* Every pointer points into the plan buffer (strings were checked NUL-terminated in place),
 * except the arrays, which are allocated once after counting. */
struct plan {
  const char *rootfs;
  int rootfs_readonly, no_pivot, setgroups_deny, no_new_privs, no_new_keyring, debug, terminal;
  int has_propagation; uint32_t propagation;
  struct ns_req *ns; size_t n_ns;
  const char *uid_map, *gid_map;
  const char **cgroups; size_t n_cgroups;
  struct cg_write *cg_writes; size_t n_cg_writes;
  struct mount_req *mounts; size_t n_mounts;
  const char **masked; size_t n_masked;
  const char **readonly; size_t n_readonly;
  struct device_req *devices; size_t n_devices;
  struct symlink_req *symlinks; size_t n_symlinks;
  const char *hostname, *domainname;
  struct sysctl_req *sysctls; size_t n_sysctls;
  int has_caps; uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  struct rlimit_req *rlimits; size_t n_rlimits;
  int has_oom; int32_t oom_score_adj;
  int has_user; uint32_t uid, gid, umask; uint32_t n_gids; uint32_t *gids;
  const char *cwd;
  const char **args; size_t n_args;   /* NULL-terminated */
  const char **env; size_t n_env;     /* NULL-terminated */
  const char *exec_fifo;
  uint32_t preserve_fds;
  int has_seccomp; uint32_t sc_default_action, sc_default_errno, sc_flags;
  const char *sc_listener_path, *sc_listener_metadata;
  const char **sc_arches; size_t n_sc_arches;
  struct sc_rule *sc_rules; size_t n_sc_rules;
  const char *console_socket;
  int has_console_size; uint32_t console_rows, console_cols;
  const char *container_id;
  struct time_offset time_offsets[2]; size_t n_time_offsets;
  /* hooks: state JSON = head + "status":"<s>","pid":<n> + tail; hooks in plan order */
  const char *hook_state_head, *hook_state_tail;
  struct hook_req *hooks; size_t n_hooks;
  /* process and security (records 50-69) */
  const char *sc_listener_state, *sc_cache_dir;
  int has_sched; uint32_t sched_policy, sched_priority, sched_flags; int32_t sched_nice;
  uint64_t sched_runtime, sched_deadline, sched_period;
  int has_ioprio; uint32_t ioprio_class, ioprio_level;
  int has_personality; uint32_t personality;
  const char *cpu_initial, *cpu_final;
  int has_mempolicy; uint32_t mpol_mode, mpol_flags; const char *mpol_nodes;
  int has_devcg; uint32_t devcg_index; struct devcg_rule *devcg_rules; size_t n_devcg_rules;
};

/* report.c: errors carry context up; the message lives in one static buffer per process. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));           /* sets message, returns -1 */
int fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* "<fmt>: <errno text>" */
int fail_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));      /* prefix "<fmt>: " to the message */
const char *fail_message(void);
const char *errno_text(int err); /* Go-style lower-case strerror */
/* Where debug/warn lines go: P writes them to the report fd, the children send them to P. */
void report_set_sink(void (*sink)(char kind, const char *text));
void report_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void report_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int g_debug;

/* plan.c */
int plan_decode(const uint8_t *buf, size_t len, struct plan *p);
int plan_read_fd(int fd, uint8_t **buf, size_t *len);

/* seal.c */
int seal_ensure(char **argv);

/* namespaces.c (runs in C1) */
int ns_open_paths(const struct plan *p, int *fds);
int time_offsets_write(const struct plan *p);
int ns_join(const struct plan *p, const int *fds, int user);
uint32_t ns_new_flags(const struct plan *p);
int ns_has_new(const struct plan *p, uint32_t flag);
int ns_write_maps(const struct plan *p, pid_t pid); /* P */

/* cgroup.c (runs in P) */
struct cgroups_state { char **created; size_t n; }; /* dirs P made, in creation order */
int cgroups_create(const struct plan *p, struct cgroups_state *st);
int cgroups_join(const struct plan *p, pid_t pid);
void cgroups_rollback(const struct plan *p, struct cgroups_state *st);

/* pathsafe.c: every lookup below a root fd stays inside it */
int ps_clean(const char *in, char *out, size_t outsz); /* lexical clean, result relative ("" = root) */
int ps_open(int rootfd, const char *path, int flags, uint64_t extra_resolve);
int ps_mkdir_all(int rootfd, const char *path, mode_t mode);  /* returns O_PATH fd of the dir */
int ps_open_parent(int rootfd, const char *path, char *base, size_t basesz, int create); /* parent dir fd */
int ps_create_file(int rootfd, const char *path, mode_t mode);  /* returns O_PATH fd */
int fd_path(int fd, char *buf, size_t sz);      /* "/proc/self/fd/N" */

/* mounts.c (C2) */
int mounts_prepare_root(const struct plan *p, int *rootfd);
int mounts_apply(const struct plan *p, int rootfd);
int mounts_pivot(const struct plan *p, int rootfd);
int mounts_readonly_and_masked(const struct plan *p);
int mounts_readonly_root(const struct plan *p);
int mount_move_fd(int treefd, int targetfd);
int bind_fd_onto(int srcfd, int targetfd, int recursive);

/* devices.c (C2) */
int devices_create(const struct plan *p, int rootfd, int in_userns);
int symlinks_create(const struct plan *p, int rootfd);

/* caps.c (C2) */
int caps_drop_bounding(const struct plan *p);
int user_switch(const struct plan *p);
int caps_apply(const struct plan *p);
int nnp_apply(const struct plan *p);
int caps_final_has(const struct plan *p, int cap);

/* process.c (C2) */
int proc_open_private(void);
int set_hostname(const struct plan *p);
int sysctls_apply(const struct plan *p, int procfd);
int keyring_join(const struct plan *p);
int rlimits_apply(const struct plan *p);
int oom_apply(const struct plan *p, int procfd);
int cwd_apply(const struct plan *p);
int exec_resolve(const struct plan *p, char *out, size_t outsz);
const char *const *env_with_home(const struct plan *p);
int fifo_open(const struct plan *p);
int fifo_wait(int fifofd);
int fds_prepare_exec(const struct plan *p);
const char *env_get(const struct plan *p, const char *key);

/* seccomp.c: compiled by P before the fork, loaded by C2; a notify fd goes C2 -> P -> listenerPath */
int seccomp_compile(const struct plan *p);
int seccomp_uses_notify(const struct plan *p);
int seccomp_prepare(const struct plan *p, void **ctx);
int seccomp_load_ctx(const struct plan *p, void *ctx, int sync_fd);
int seccomp_send_listener(const struct plan *p, int notify_fd, pid_t pid);

/* security.c: scheduler, I/O priority, personality, CPU affinity, memory policy, stdio ownership (C2);
 * the device-cgroup eBPF program (P) */
int sched_apply(const struct plan *p);
int ioprio_apply(const struct plan *p);
int personality_apply(const struct plan *p);
int mempolicy_apply(const struct plan *p);
int cpu_affinity_initial(const struct plan *p);
int cpu_affinity_final(const struct plan *p);
int stdio_chown(const struct plan *p);
int devcg_attach(const struct plan *p);

/* terminal.c (C2) */
int console_connect(const struct plan *p);
int terminal_setup(const struct plan *p, int sockfd);

/* hooks.c: prestart/createRuntime (P, runtime namespaces), createContainer/startContainer (C2) */
int hooks_any(const struct plan *p, uint32_t kind);
int hooks_run(const struct plan *p, uint32_t kind, const char *status, pid_t pid);

/* features.c: `hull-bootstrap --features` (what this build + kernel support, as JSON) */
int features_print(void);

#endif
