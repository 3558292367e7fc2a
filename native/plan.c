/*
 * plan.c - decodes MSG_PLAN into struct plan, checking every record: kind
 * and length, scope, repeats, required fields and ranges. A malformed plan
 * is rejected before anything is done.
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"
#include "plantab.h"

#define CLONE_NS_ALL 0x7e020080ull /* NEWTIME|NEWNS|NEWCGROUP|UTS|IPC|USER|PID|NET */

/* ---- decoding --------------------------------------------------------------- */

/* ctx names the enclosing record for messages, e.g. "P_MOUNT[2]". */
__attribute__((noreturn, format(printf, 2, 3)))
static void bad(const char *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die(0, "invalid plan: %s%s%s", ctx, *ctx ? ": " : "", msg);
}

static char *str_of(const struct rec *r)
{
	return xstrndup((const char *)r->p, r->len);
}

static void need_abs(const char *ctx, const char *what, const char *s)
{
	if (!s || s[0] != '/')
		bad(ctx, "%s must be an absolute path, got \"%s\"", what, s ? s : "");
}

#define APPEND(arr, n) (arr = xrealloc(arr, ((n) + 1) * sizeof *(arr)), \
			memset(&(arr)[n], 0, sizeof *(arr)), &(arr)[(n)++])

struct walk {
	struct plan *p;
	void *obj;            /* the group element being filled */
	char ctx[64];
	uint8_t seen[PLAN_TAG_LIMIT / 8]; /* bitmap of the tags seen in this group */
};

static void decode_group(struct walk *w, const uint8_t *buf, size_t len, int scope);

static void assign(struct walk *w, const struct tag_info *ti, const struct rec *r)
{
	struct plan *p = w->p;
	uint64_t v = ti->kind == RK_U64 ? rec_u64(r) : 0;
	if (ti->fmt == RF_BOOL && v > 1)
		bad(w->ctx, "%s must be 0 or 1, got %llu", ti->name, (unsigned long long)v);

	struct walk sub = { .p = p };
	snprintf(sub.ctx, sizeof sub.ctx, "%s", ti->name);

	switch (ti->tag) {
	case P_MODE: p->mode = v; break;
	case P_WAIT: p->wait = v; break;
	case P_NS_JOIN:
		snprintf(sub.ctx, sizeof sub.ctx, "P_NS_JOIN[%zu]", p->nns);
		sub.obj = APPEND(p->ns, p->nns);
		break;
	case P_CLONE_FLAGS: p->clone_flags = v; break;
	case P_UID_MAP: p->uid_map = str_of(r); break;
	case P_GID_MAP: p->gid_map = str_of(r); break;
	case P_TIMENS_OFFSETS: p->timens_offsets = str_of(r); break;
	case P_SETGROUPS_DENY: p->setgroups_deny = v; break;
	case P_UIDMAP_HELPER: p->uidmap_helper = str_of(r); break;
	case P_GIDMAP_HELPER: p->gidmap_helper = str_of(r); break;
	case P_CGROUP_PROCS: strv_push(&p->cgroup_procs, str_of(r)); break;
	case P_ROOTFS: p->rootfs = str_of(r); break;
	case P_ROOTFS_PROPAGATION: p->has_rootfs_prop = true; p->rootfs_prop = v; break;
	case P_MOUNT:
		snprintf(sub.ctx, sizeof sub.ctx, "P_MOUNT[%zu]", p->nmounts);
		sub.obj = APPEND(p->mounts, p->nmounts);
		break;
	case P_DEVICE:
		snprintf(sub.ctx, sizeof sub.ctx, "P_DEVICE[%zu]", p->ndevices);
		sub.obj = APPEND(p->devices, p->ndevices);
		break;
	case P_SYMLINK:
		snprintf(sub.ctx, sizeof sub.ctx, "P_SYMLINK[%zu]", p->nsymlinks);
		sub.obj = APPEND(p->symlinks, p->nsymlinks);
		break;
	case P_NO_PIVOT: p->no_pivot = v; break;
	case P_MASKED_PATH: strv_push(&p->masked, str_of(r)); break;
	case P_READONLY_PATH: strv_push(&p->readonly, str_of(r)); break;
	case P_ROOT_READONLY: p->root_readonly = v; break;
	case P_HOSTNAME: p->hostname = str_of(r); break;
	case P_DOMAINNAME: p->domainname = str_of(r); break;
	case P_SYSCTL:
		snprintf(sub.ctx, sizeof sub.ctx, "P_SYSCTL[%zu]", p->nsysctls);
		sub.obj = APPEND(p->sysctls, p->nsysctls);
		break;
	case P_HOST_MOUNTS: p->host_mounts = str_of(r); break;
	case P_CHROOT: p->chroot_dir = str_of(r); break;
	case P_RLIMIT:
		snprintf(sub.ctx, sizeof sub.ctx, "P_RLIMIT[%zu]", p->nrlimits);
		sub.obj = APPEND(p->rlimits, p->nrlimits);
		break;
	case P_OOM_SCORE_ADJ:
		p->has_oom = true;
		p->oom_score_adj = (int64_t)v;
		if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000)
			bad(w->ctx, "P_OOM_SCORE_ADJ out of range: %lld", (long long)p->oom_score_adj);
		break;
	case P_PERSONALITY: p->has_personality = true; p->personality = v; break;
	case P_NEW_KEYRING: p->new_keyring = str_of(r); break;
	case P_UID: p->uid = v; break;
	case P_GID: p->gid = v; break;
	case P_ADDITIONAL_GID: *APPEND(p->add_gids, p->nadd_gids) = v; break;
	case P_UMASK:
		p->has_umask = true;
		p->umask = v;
		if (v > 0777)
			bad(w->ctx, "P_UMASK out of range: %#llo", (unsigned long long)v);
		break;
	case P_CWD: p->cwd = str_of(r); need_abs(w->ctx, "P_CWD", p->cwd); break;
	case P_ARG: strv_push(&p->args, str_of(r)); break;
	case P_ENV: strv_push(&p->env, str_of(r)); break;
	case P_CAPS: p->has_caps = true; sub.obj = &p->caps; break;
	case P_NO_NEW_PRIVS: p->no_new_privs = v; break;
	case P_SECCOMP_BPF:
		if (r->len == 0 || r->len % 8 || r->len > 4096 * 8)
			bad(w->ctx, "P_SECCOMP_BPF: %u bytes is not a program of 1..4096 instructions", r->len);
		p->seccomp_bpf = xmalloc(r->len);
		memcpy(p->seccomp_bpf, r->p, r->len);
		p->seccomp_len = r->len;
		break;
	case P_SECCOMP_FLAGS: p->seccomp_flags = v; break;
	case P_SECCOMP_LISTENER: p->seccomp_listener = str_of(r); break;
	case P_SECCOMP_METADATA: p->seccomp_metadata = str_of(r); break;
	case P_FIFO_PATH: p->fifo_path = str_of(r); break;
	case P_PRESERVE_FDS:
		p->preserve_fds = v;
		if (v > 65536)
			bad(w->ctx, "P_PRESERVE_FDS too large: %llu", (unsigned long long)v);
		break;
	case P_TERMINAL: p->terminal = v; break;
	case P_CONSOLE_SOCKET: p->console_socket = str_of(r); break;
	case P_CONSOLE_HEIGHT: p->console_height = v; break;
	case P_CONSOLE_WIDTH: p->console_width = v; break;
	case P_HOOK:
		snprintf(sub.ctx, sizeof sub.ctx, "P_HOOK[%zu]", p->nhooks);
		sub.obj = APPEND(p->hooks, p->nhooks);
		break;
	case P_APPARMOR: p->apparmor = str_of(r); break;
	case P_SELINUX: p->selinux = str_of(r); break;
	case P_STATE_JSON: p->state_json = str_of(r); break;
	case P_SCHED: p->has_sched = true; sub.obj = &p->sched; break;
	case P_IOPRIO: p->has_ioprio = true; p->ioprio = v; break;
	case P_CPU_AFFINITY_INITIAL: p->cpu_affinity_initial = str_of(r); break;
	case P_CPU_AFFINITY_FINAL: p->cpu_affinity_final = str_of(r); break;

	case NS_TYPE: ((struct ns_join *)w->obj)->type = v; break;
	case NS_PATH: ((struct ns_join *)w->obj)->path = str_of(r); break;

#define MNT ((struct mount_ent *)w->obj)
	case M_SOURCE: MNT->source = str_of(r); break;
	case M_DEST: MNT->dest = str_of(r); break;
	case M_TYPE: MNT->type = str_of(r); break;
	case M_FLAGS: MNT->flags = v; break;
	case M_DATA: MNT->data = str_of(r); break;
	case M_PROPAGATION: *APPEND(MNT->prop, MNT->nprop) = v; break;
	case M_REMOUNT_FLAGS: MNT->has_remount = true; MNT->remount_flags = v; break;
	case M_DEST_IS_FILE: MNT->dest_is_file = v; break;
	case M_ATTR_SET: MNT->has_attr_set = true; MNT->attr_set = v; break;
	case M_ATTR_CLR: MNT->has_attr_clr = true; MNT->attr_clr = v; break;
	case M_IDMAP_USERNS: MNT->idmap_userns = str_of(r); break;

#define DEV ((struct device_ent *)w->obj)
	case D_PATH: DEV->path = str_of(r); break;
	case D_TYPE: DEV->type = v; break;
	case D_MAJOR: DEV->major = v; break;
	case D_MINOR: DEV->minor = v; break;
	case D_MODE: DEV->mode = v; break;
	case D_UID: DEV->uid = v; break;
	case D_GID: DEV->gid = v; break;
	case D_BIND: DEV->bind = v; break;

	case L_TARGET: ((struct symlink_ent *)w->obj)->target = str_of(r); break;
	case L_PATH: ((struct symlink_ent *)w->obj)->path = str_of(r); break;
	case K_PATH: ((struct sysctl_ent *)w->obj)->path = str_of(r); break;
	case K_VALUE: ((struct sysctl_ent *)w->obj)->value = str_of(r); break;
	case R_TYPE: ((struct rlimit_ent *)w->obj)->type = v; break;
	case R_SOFT: ((struct rlimit_ent *)w->obj)->soft = v; break;
	case R_HARD: ((struct rlimit_ent *)w->obj)->hard = v; break;
	case C_BOUNDING: ((struct caps *)w->obj)->bounding = v; break;
	case C_EFFECTIVE: ((struct caps *)w->obj)->effective = v; break;
	case C_PERMITTED: ((struct caps *)w->obj)->permitted = v; break;
	case C_INHERITABLE: ((struct caps *)w->obj)->inheritable = v; break;
	case C_AMBIENT: ((struct caps *)w->obj)->ambient = v; break;

#define HK ((struct hook *)w->obj)
	case H_KIND: HK->kind = v; break;
	case H_PATH: HK->path = str_of(r); break;
	case H_ARG: strv_push(&HK->args, str_of(r)); break;
	case H_ENV: strv_push(&HK->env, str_of(r)); break;
	case H_TIMEOUT: HK->timeout = v; break;

#define SCH ((struct sched *)w->obj)
	case S_POLICY: SCH->policy = v; break;
	case S_NICE: SCH->nice = (int64_t)v; break;
	case S_PRIORITY: SCH->priority = v; break;
	case S_FLAGS: SCH->flags = v; break;
	case S_RUNTIME: SCH->runtime = v; break;
	case S_DEADLINE: SCH->deadline = v; break;
	case S_PERIOD: SCH->period = v; break;
	default:
		bad(w->ctx, "%s cannot be decoded here", ti->name);
	}
	if (ti->kind == RK_GROUP)
		decode_group(&sub, r->p, r->len, ti->inner);
}

static bool seen(struct walk *w, uint32_t tag)
{
	return tag < 8 * sizeof w->seen && (w->seen[tag / 8] & (1u << (tag % 8)));
}

/* P_HOST_MOUNTS mounts into the runtime's own mount namespace: only with
 * none of the container's, never onto "/", never with the MS_MOVE onto
 * "/" of P_NO_PIVOT, and not from a new user namespace (which may not
 * mount there). */
static void check_host_mounts(const char *c, const struct plan *p)
{
	need_abs(c, "P_HOST_MOUNTS", p->host_mounts);
	bool dotdot = false;
	for (const char *d = strstr(p->host_mounts, "/.."); d; d = strstr(d + 1, "/.."))
		dotdot |= d[3] == '/' || d[3] == '\0';
	if (strcmp(p->host_mounts, "/") == 0 || dotdot)
		bad(c, "P_HOST_MOUNTS \"%s\" must be a directory below \"/\"", p->host_mounts);
	if (p->mode != PLAN_MODE_CREATE || !p->rootfs)
		bad(c, "P_HOST_MOUNTS needs P_MODE create and P_ROOTFS");
	if (p->no_pivot)
		bad(c, "P_HOST_MOUNTS and P_NO_PIVOT: the root switch is chroot");
	uint64_t types = p->clone_flags;
	for (size_t i = 0; i < p->nns; i++)
		types |= p->ns[i].type;
	if (types & (CLONE_NEWNS | CLONE_NEWUSER))
		bad(c, "P_HOST_MOUNTS with a mount or user namespace");
}

/* Checks the group as a whole once all its records are in. */
static void check_group(struct walk *w, int scope)
{
	const char *c = w->ctx;
	switch (scope) {
	case SC_NS: {
		struct ns_join *n = w->obj;
		if (!seen(w, NS_TYPE) || !n->path)
			bad(c, "needs NS_TYPE and NS_PATH");
		if (!n->type || (n->type & (n->type - 1)) || (n->type & ~CLONE_NS_ALL))
			bad(c, "NS_TYPE %#llx is not one CLONE_NEW* flag", (unsigned long long)n->type);
		break;
	}
	case SC_MOUNT: {
		struct mount_ent *m = w->obj;
		if (!m->source || !m->dest)
			bad(c, "needs M_SOURCE and M_DEST");
		need_abs(c, "M_DEST", m->dest);
		break;
	}
	case SC_DEVICE: {
		struct device_ent *d = w->obj;
		if (!d->path || !seen(w, D_TYPE))
			bad(c, "needs D_PATH and D_TYPE");
		need_abs(c, "D_PATH", d->path);
		if (d->type != S_IFCHR && d->type != S_IFBLK && d->type != S_IFIFO)
			bad(c, "D_TYPE %#llo is not S_IFCHR, S_IFBLK or S_IFIFO", (unsigned long long)d->type);
		if (d->mode > 07777)
			bad(c, "D_MODE %#llo has more than permission bits", (unsigned long long)d->mode);
		if (d->major > 0xfffff || d->minor > 0xfffff)
			bad(c, "device number %llu:%llu out of range", (unsigned long long)d->major,
			    (unsigned long long)d->minor);
		break;
	}
	case SC_SYMLINK: {
		struct symlink_ent *l = w->obj;
		if (!l->target || !l->path || !*l->target)
			bad(c, "needs a non-empty L_TARGET and L_PATH");
		need_abs(c, "L_PATH", l->path);
		break;
	}
	case SC_SYSCTL: {
		struct sysctl_ent *k = w->obj;
		if (!k->path || !k->value || !*k->path)
			bad(c, "needs K_PATH and K_VALUE");
		if (k->path[0] == '/' || strcmp(k->path, "..") == 0 || strncmp(k->path, "../", 3) == 0 ||
		    strstr(k->path, "/../") || (strlen(k->path) >= 3 && strcmp(k->path + strlen(k->path) - 3, "/..") == 0))
			bad(c, "K_PATH \"%s\" must stay under /proc/sys", k->path);
		break;
	}
	case SC_RLIMIT: {
		struct rlimit_ent *rl = w->obj;
		if (!seen(w, R_TYPE) || !seen(w, R_SOFT) || !seen(w, R_HARD))
			bad(c, "needs R_TYPE, R_SOFT and R_HARD");
		if (rl->type >= 16)
			bad(c, "R_TYPE %llu is not an RLIMIT_*", (unsigned long long)rl->type);
		if (rl->soft > rl->hard)
			bad(c, "R_SOFT is above R_HARD");
		break;
	}
	case SC_HOOK: {
		struct hook *h = w->obj;
		if (!h->path)
			bad(c, "needs H_PATH");
		need_abs(c, "H_PATH", h->path);
		if (h->kind != HOOK_KIND_CREATE_CONTAINER && h->kind != HOOK_KIND_START_CONTAINER)
			bad(c, "H_KIND %llu is not a HOOK_KIND_*", (unsigned long long)h->kind);
		break;
	}
	case SC_SCHED:
		if (!seen(w, S_POLICY))
			bad(c, "needs S_POLICY");
		break;
	case SC_PLAN: {
		struct plan *p = w->p;
		if (!seen(w, P_MODE))
			bad(c, "no P_MODE");
		if (p->mode != PLAN_MODE_CREATE && p->mode != PLAN_MODE_EXEC)
			bad(c, "P_MODE must be 1 (create) or 2 (exec), got %llu", (unsigned long long)p->mode);
		if (p->clone_flags & ~CLONE_NS_ALL)
			bad(c, "P_CLONE_FLAGS %#llx has flags other than CLONE_NEW*",
			    (unsigned long long)p->clone_flags);
		/* a container created from a config without a process waits on
		 * the fifo and never executes anything (start refuses it) */
		if (p->args.n == 0 && !(p->mode == PLAN_MODE_CREATE && p->fifo_path && !p->wait))
			bad(c, "no P_ARG: nothing to execute");
		if (p->rootfs)
			need_abs(c, "P_ROOTFS", p->rootfs);
		if (p->fifo_path)
			need_abs(c, "P_FIFO_PATH", p->fifo_path);
		if (p->host_mounts)
			check_host_mounts(c, p);
		if (p->chroot_dir) {
			need_abs(c, "P_CHROOT", p->chroot_dir);
			if (p->mode != PLAN_MODE_EXEC)
				bad(c, "P_CHROOT is for exec; a container's root is P_ROOTFS");
		}
		for (size_t i = 0; i < p->masked.n; i++)
			need_abs(c, "P_MASKED_PATH", p->masked.v[i]);
		for (size_t i = 0; i < p->readonly.n; i++)
			need_abs(c, "P_READONLY_PATH", p->readonly.v[i]);
		if (!p->cwd)
			p->cwd = xstrndup("/", 1);
		break;
	}
	}
}

static void decode_group(struct walk *w, const uint8_t *buf, size_t len, int scope)
{
	size_t off = 0;
	struct rec r;
	int k;
	while ((k = rec_next(buf, len, &off, &r)) > 0) {
		const struct tag_info *ti = tag_info(r.tag);
		if (!ti)
			bad(w->ctx, "unknown tag %u", r.tag);
		if (ti->scope != scope)
			bad(w->ctx, "%s is not allowed here", ti->name);
		if (seen(w, r.tag) && !ti->repeat)
			bad(w->ctx, "%s given twice", ti->name);
		if (r.tag < 8 * sizeof w->seen)
			w->seen[r.tag / 8] |= (uint8_t)(1u << (r.tag % 8));
		if (ti->kind == RK_U64 && r.len != 8)
			bad(w->ctx, "%s: a U64 needs 8 bytes, got %u", ti->name, r.len);
		if (ti->kind == RK_STR && memchr(r.p, 0, r.len))
			bad(w->ctx, "%s: a NUL byte inside a string", ti->name);
		assign(w, ti, &r);
	}
	if (k < 0)
		bad(w->ctx, "truncated record at byte %zu of %zu", off, len);
	check_group(w, scope);
}

struct plan *decode_plan(const uint8_t *buf, size_t len)
{
	struct plan *p = xmalloc(sizeof *p);
	struct walk w = { .p = p };
	decode_group(&w, buf, len, SC_PLAN);
	return p;
}
