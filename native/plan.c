/*
 * plan.c - decodes MSG_PLAN into struct plan, checking every record: kind
 * and length, scope and repeats here, required fields and ranges of each
 * group in plancheck.c. A malformed plan is rejected before anything is done.
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"
#include "plantab.h"
#include "plancheck.h"

/* ---- decoding --------------------------------------------------------------- */

void plan_bad(const char *ctx, const char *fmt, ...)
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

void plan_need_abs(const char *ctx, const char *what, const char *s)
{
	if (!s || s[0] != '/')
		plan_bad(ctx, "%s must be an absolute path, got \"%s\"", what, s ? s : "");
}

#define APPEND(arr, n) (arr = xrealloc(arr, ((n) + 1) * sizeof *(arr)), \
			memset(&(arr)[n], 0, sizeof *(arr)), &(arr)[(n)++])


static void decode_group(struct walk *w, const uint8_t *buf, size_t len, int scope);

static void assign(struct walk *w, const struct tag_info *ti, const struct rec *r)
{
	struct plan *p = w->p;
	uint64_t v = ti->kind == RK_U64 ? rec_u64(r) : 0;
	if (ti->fmt == RF_BOOL && v > 1)
		plan_bad(w->ctx, "%s must be 0 or 1, got %llu", ti->name, (unsigned long long)v);

	struct walk sub = { .p = p };
	snprintf(sub.ctx, sizeof sub.ctx, "%s", ti->name);

	switch (ti->tag) {
	case P_MODE: p->mode = v; break;
	case P_WAIT: p->wait = v; break;
	case P_PID_ACK: p->pid_ack = v; break;
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
			plan_bad(w->ctx, "P_OOM_SCORE_ADJ out of range: %lld", (long long)p->oom_score_adj);
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
			plan_bad(w->ctx, "P_UMASK out of range: %#llo", (unsigned long long)v);
		break;
	case P_CWD: p->cwd = str_of(r); plan_need_abs(w->ctx, "P_CWD", p->cwd); break;
	case P_ARG: strv_push(&p->args, str_of(r)); break;
	case P_ENV: strv_push(&p->env, str_of(r)); break;
	case P_CAPS: p->has_caps = true; sub.obj = &p->caps; break;
	case P_NO_NEW_PRIVS: p->no_new_privs = v; break;
	case P_SECCOMP_BPF:
		if (r->len == 0 || r->len % 8 || r->len > 4096 * 8)
			plan_bad(w->ctx, "P_SECCOMP_BPF: %u bytes is not a program of 1..4096 instructions", r->len);
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
			plan_bad(w->ctx, "P_PRESERVE_FDS too large: %llu", (unsigned long long)v);
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
	case P_MEMPOLICY: p->has_mempolicy = true; sub.obj = &p->mempolicy; break;
	case P_NETDEV:
		snprintf(sub.ctx, sizeof sub.ctx, "P_NETDEV[%zu]", p->nnetdevs);
		sub.obj = APPEND(p->netdevs, p->nnetdevs);
		break;

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
	case M_IDMAP_UID_MAP: MNT->idmap_uid_map = str_of(r); break;
	case M_IDMAP_GID_MAP: MNT->idmap_gid_map = str_of(r); break;
	case M_IDMAP_RECURSIVE: MNT->idmap_recursive = v; break;
	case M_TMPCOPYUP: MNT->tmpcopyup = v; break;

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

#define MPOL ((struct mempolicy *)w->obj)
	case MP_MODE: MPOL->mode = v; break;
	case MP_FLAGS: MPOL->flags = v; break;
	case MP_NODES:
		if (r->len == 0 || r->len % 8)
			plan_bad(w->ctx, "MP_NODES: %u bytes is not whole 64-bit words", r->len);
		MPOL->nwords = r->len / 8;
		MPOL->nodes = xmalloc(r->len);
		for (size_t i = 0; i < MPOL->nwords; i++) {
			uint64_t word;
			memcpy(&word, r->p + 8 * i, 8);
			MPOL->nodes[i] = le64toh(word);
		}
		break;
	case N_NAME: ((struct netdev *)w->obj)->name = str_of(r); break;
	case N_NEW_NAME: ((struct netdev *)w->obj)->new_name = str_of(r); break;
	default:
		plan_bad(w->ctx, "%s cannot be decoded here", ti->name);
	}
	if (ti->kind == RK_GROUP)
		decode_group(&sub, r->p, r->len, ti->inner);
}

bool plan_seen(const struct walk *w, uint32_t tag)
{
	return tag < 8 * sizeof w->seen && (w->seen[tag / 8] & (1u << (tag % 8)));
}

static void decode_group(struct walk *w, const uint8_t *buf, size_t len, int scope)
{
	size_t off = 0;
	struct rec r;
	int k;
	while ((k = rec_next(buf, len, &off, &r)) > 0) {
		const struct tag_info *ti = tag_info(r.tag);
		if (!ti)
			plan_bad(w->ctx, "unknown tag %u", r.tag);
		if (ti->scope != scope)
			plan_bad(w->ctx, "%s is not allowed here", ti->name);
		if (plan_seen(w, r.tag) && !ti->repeat)
			plan_bad(w->ctx, "%s given twice", ti->name);
		if (r.tag < 8 * sizeof w->seen)
			w->seen[r.tag / 8] |= (uint8_t)(1u << (r.tag % 8));
		if (ti->kind == RK_U64 && r.len != 8)
			plan_bad(w->ctx, "%s: a U64 needs 8 bytes, got %u", ti->name, r.len);
		if (ti->kind == RK_STR && memchr(r.p, 0, r.len))
			plan_bad(w->ctx, "%s: a NUL byte inside a string", ti->name);
		assign(w, ti, &r);
	}
	if (k < 0)
		plan_bad(w->ctx, "truncated record at byte %zu of %zu", off, len);
	check_group(w, scope);
}

struct plan *decode_plan(const uint8_t *buf, size_t len)
{
	struct plan *p = xmalloc(sizeof *p);
	struct walk w = { .p = p };
	decode_group(&w, buf, len, SC_PLAN);
	return p;
}
