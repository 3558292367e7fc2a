/*
 * init.h - shared declarations of tsrun-init: the decoded plan and the
 * helpers each file offers the others.
 */
#ifndef TSRUN_INIT_H
#define TSRUN_INIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

/* ---- the decoded plan ----------------------------------------------------- */

/* A NULL-terminated string list (argv/envp shaped). */
struct strv {
	char **v;
	size_t n;
};

struct ns_join {
	uint64_t type;
	char *path;
};

struct mount_ent {
	char *source, *dest, *type, *data, *idmap_userns, *idmap_uid_map, *idmap_gid_map;
	uint64_t flags;
	uint64_t *prop;
	size_t nprop;
	bool has_remount, dest_is_file, has_attr_set, has_attr_clr, idmap_recursive, tmpcopyup;
	uint64_t remount_flags, attr_set, attr_clr;
	int idmap_fd;  /* the idmapped tree, made by stage 0 (idmap.c) */
	int idmap_userns_fd; /* stage 0 only: the user namespace of its mapping */
	int source_fd;  /* the child: a bind source stage 0 opened (bindsrc.c), or -1 */
};

struct device_ent {
	char *path;
	uint64_t type, major, minor, mode, uid, gid;
	bool bind;
};

struct symlink_ent {
	char *target, *path;
};

struct sysctl_ent {
	char *path, *value;
};

struct rlimit_ent {
	uint64_t type, soft, hard;
};

struct caps {
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct hook {
	uint64_t kind, timeout;
	char *path;
	struct strv args, env;
};

struct sched {
	uint64_t policy, flags, runtime, deadline, period, priority;
	int64_t nice;
};

struct mempolicy {
	uint64_t mode, flags;
	uint64_t *nodes;  /* nodemask words; NULL for none */
	size_t nwords;
};

struct netdev {
	char *name, *new_name;
	unsigned int ifindex;  /* on the host, found by netdev_prepare */
	bool was_up;           /* there */
	uint8_t *addrs;        /* its permanent global addresses: RTM_NEWADDR bodies */
	size_t addrs_len;
};

struct plan {
	uint64_t mode;
	bool wait;
	bool pid_ack;
	struct ns_join *ns;
	size_t nns;
	uint64_t clone_flags;
	char *uid_map, *gid_map, *timens_offsets;
	bool setgroups_deny;
	char *uidmap_helper, *gidmap_helper; /* newuidmap, newgidmap (rootless ranges) */
	struct strv cgroup_procs;

	char *rootfs;
	bool has_rootfs_prop;
	uint64_t rootfs_prop;
	struct mount_ent *mounts;
	size_t nmounts;
	struct device_ent *devices;
	size_t ndevices;
	struct symlink_ent *symlinks;
	size_t nsymlinks;
	bool no_pivot, root_readonly;
	char *host_mounts;     /* P_HOST_MOUNTS: no mount namespace, bind and chroot here */
	char *chroot_dir;      /* P_CHROOT (exec) */
	struct strv masked, readonly;
	char *hostname, *domainname;
	struct sysctl_ent *sysctls;
	size_t nsysctls;

	struct rlimit_ent *rlimits;
	size_t nrlimits;
	bool has_oom, has_personality, has_umask, has_caps, has_ioprio, has_sched;
	int64_t oom_score_adj;
	uint64_t personality, umask, ioprio;
	char *new_keyring;
	uint64_t uid, gid;
	uint64_t *add_gids;
	size_t nadd_gids;
	char *cwd;
	struct strv args, env;
	struct caps caps;
	bool no_new_privs;
	uint8_t *seccomp_bpf;
	size_t seccomp_len;
	uint64_t seccomp_flags;
	char *seccomp_listener, *seccomp_metadata;
	char *fifo_path;
	uint64_t preserve_fds;
	bool terminal;
	char *console_socket;
	uint64_t console_height, console_width;
	struct hook *hooks;
	size_t nhooks;
	char *apparmor, *selinux, *state_json;
	struct sched sched;
	char *cpu_affinity_initial, *cpu_affinity_final;
	bool has_mempolicy;
	struct mempolicy mempolicy;
	struct netdev *netdevs;
	size_t nnetdevs;
};

/* ---- util.c --------------------------------------------------------------- */

extern int g_syncfd;        /* the runtime's socket, -1 in --dump-plan */
extern bool g_post_ready;   /* after MSG_READY errors also go to fd 2 */
extern int g_fifo_wfd;      /* write end of the exec fifo once start opened it */
extern pid_t g_kill_on_error; /* stage 0: the child to kill if stage 0 fails */

__attribute__((noreturn, format(printf, 2, 3)))
void die(int err, const char *fmt, ...);
__attribute__((noreturn))
void die_exit(int code, int err, const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2)))
void warnmsg(const char *fmt, ...);
const char *errstr(int err);
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2)))
char *xasprintf(const char *fmt, ...);
int write_all(int fd, const void *buf, size_t len);
int write_file_at(int dirfd, const char *path, const char *data, size_t len);
ssize_t read_file(const char *path, char *buf, size_t max);
void strv_push(struct strv *sv, char *s);
const char *strv_get_env(const struct strv *env, const char *name);
char *fd_path(int fd); /* "/proc/self/fd/N" in a static buffer */
void unescape_mountinfo(char *s); /* the octal escapes (\040) of a mountinfo field */

/* ---- sync.c --------------------------------------------------------------- */

int send_msg(int fd, uint32_t tag, const void *payload, uint32_t len);
int send_u64(int fd, uint32_t tag, uint64_t v);
int send_str(int fd, uint32_t tag, const char *s);
/* 0 on success; -1 with errno set, errno 0 meaning a clean EOF. */
int recv_msg(int fd, uint32_t *tag, uint8_t **payload, uint32_t *len, uint32_t max);
/* The runtime's answer during setup: exits quietly if it went away (it reported why, or was
 * killed), dies on any other tag. Returns the payload (NUL-terminated), its length in *len. */
uint8_t *recv_expected(uint32_t want, uint32_t *len);

/* ---- plan.c / dump.c ------------------------------------------------------ */

struct plan *decode_plan(const uint8_t *buf, size_t len);
int dump_plan_main(void);
const char *tag_name(uint32_t tag);

/* ---- paths.c -------------------------------------------------------------- */

/* All return an O_PATH fd, or -1 with errno. Paths are container paths,
 * resolved inside rootfd without leaving it. */
int open_in_root(int rootfd, const char *path);
int open_in_root_nofollow(int rootfd, const char *path);
int mkdir_all_in_root(int rootfd, const char *path);
int prepare_dest(int rootfd, const char *path, bool is_file);
int open_parent_in_root(int rootfd, const char *path, const char **base);

/* ---- cgjoin.c ------------------------------------------------------------- */

enum cg_how {
	CG_SELF,       /* v1: the child writes "0" to the cgroup's tasks file */
	CG_CLONE_INTO, /* v2: stage 0 clones the child into the cgroup */
	CG_PID,        /* stage 0 writes the child's pid to cgroup.procs */
};
struct cg_join {
	int fd;
	int procs_fd;     /* CG_CLONE_INTO: cgroup.procs, should clone3 refuse */
	enum cg_how how;
	const char *path; /* the plan's cgroup.procs path, for messages */
};
struct cg_joins {
	struct cg_join *v;
	size_t n;
};

void cgroups_open(const struct strv *procs, struct cg_joins *j, bool may_clone_into);
int cgroups_clone_into_fd(const struct cg_joins *j); /* -1 if none */
void cgroups_clone_into_refused(struct cg_joins *j); /* fall back to CG_PID */
void cgroups_join_self(struct cg_joins *j);          /* the child; closes all */
void cgroups_join_pid(struct cg_joins *j, pid_t pid); /* stage 0; closes all */

/* ---- child.c / main.c ----------------------------------------------------- */

/* With moved network devices, the child writes a byte here once it is ready
 * (stage 0 moves them back if it dies before); -1 otherwise. */
extern int g_ready_fd;

__attribute__((noreturn)) void child_main(struct plan *p, struct cg_joins *cg, int relfd, int consock,
					  int listenersock);

/* ---- rootfs.c ------------------------------------------------------------- */

int setup_rootfs(struct plan *p);                  /* returns the rootfs fd */
void switch_root(struct plan *p, int rootfd);
void readonly_and_masked_paths(struct plan *p);
void reopen_dev_null(void);
int remount_keep_locked(const char *path, unsigned long flags);

/* ---- bindsrc.c ------------------------------------------------------------ */

bool bind_source_from_host(const struct plan *p, const struct mount_ent *m);
void send_bind_sources(struct plan *p, int procfd, pid_t pid, int sock); /* stage 0 */
void recv_bind_sources(struct plan *p, int sock);                       /* the child */

/* ---- copyup.c ------------------------------------------------------------- */

void copy_up(int below, int mounted, const char *dest); /* tmpcopyup */

/* ---- idmap.c -------------------------------------------------------------- */

void prepare_idmapped_mounts(struct plan *p);

/* ---- usermaps.c ----------------------------------------------------------- */

void write_id_maps(struct plan *p, int procfd, pid_t pid); /* the container's uid and gid maps */

/* ---- umount.c ------------------------------------------------------------- */

int umount_tree_main(const char *path); /* tsrun-init --umount-tree PATH */

/* ---- devices.c ------------------------------------------------------------ */

void create_devices(struct plan *p, int rootfd);
void create_symlinks(struct plan *p, int rootfd);

/* ---- process.c ------------------------------------------------------------ */

void set_hostname_sysctl(struct plan *p);
void loopback_up(void);
void set_rlimits(struct plan *p);
void apply_rlimits(struct plan *p, pid_t pid);
void set_process_attrs(struct plan *p);
void set_sched(struct plan *p);
void set_cpu_affinity(const char *list, const char *which);
void set_exec_labels(struct plan *p);
void set_memory_policy(struct plan *p);

/* ---- netdev.c (stage 0) --------------------------------------------------- */

void netdev_prepare(struct plan *p);          /* host side, before any setns */
void netdev_check_names(struct plan *p, int netnsfd); /* none taken in a joined one */
void netdev_move(struct plan *p, int netnsfd); /* into that network namespace */
void netdev_configure(struct plan *p);        /* in it: addresses, then up */
void netdev_rollback(struct plan *p);         /* from it: all back to the host */

/* ---- creds.c -------------------------------------------------------------- */

void apply_credentials(struct plan *p);
void load_seccomp(struct plan *p, int listenersock, const char *state_json);
void fix_stdio_owner(struct plan *p);

/* ---- console.c ------------------------------------------------------------ */

int connect_unix(const char *path, const char *what);
int try_connect_unix(const char *path); /* -1 with errno */
int send_fd(int sock, int fd, const void *data, size_t len);
void setup_console(struct plan *p, int sock, bool bind_console);

/* ---- tty.c (stage 0 of a foreground run with a terminal) ---------------- */

int recv_fd(int sock);
int proxy_terminal(struct plan *p, int master, pid_t pid); /* the wait status */
_Noreturn void wait_and_report(struct plan *p, int master, pid_t pid); /* foreground: MSG_EXIT, then exit */
int wait_or_die(pid_t pid, const char *what); /* the wait status of our child */
int criu_main(int syncfd);   /* criu.c: `tsrun-init --criu SYNCFD` */
void tty_restore(void);

/* ---- sealed.c ------------------------------------------------------------- */

void reexec_sealed(char **argv, char **envp);

/* ---- hooks.c -------------------------------------------------------------- */

void run_hooks(struct plan *p, uint64_t kind, const char *state_json);

/* ---- exec.c --------------------------------------------------------------- */

char *lookup_executable(struct plan *p);
extern int g_fifo_pathfd;     /* O_PATH fd of the exec fifo, opened by stage 0 */
void make_exec_fifo(const char *path);
void wait_exec_fifo(void);
__attribute__((noreturn))
void final_exec(struct plan *p, const char *path, int listenersock, const char *state_json);
void reset_signals(void);
void close_range_cloexec(unsigned int from);

extern pid_t g_host_pid;   /* the container process's pid as the runtime sees it */
/* [i]: preserved fd 3+i was closed at start; ours holds its place, closed at exec */
extern uint8_t *g_reserved_fds;

#endif
