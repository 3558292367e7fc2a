/*
 * plancheck.c - the checks of each decoded group of the plan as a whole:
 * required records, ranges, and what may not go together.
 */
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"
#include "plantab.h"
#include "plancheck.h"

#define CLONE_NS_ALL 0x7e020080ull /* NEWTIME|NEWNS|NEWCGROUP|UTS|IPC|USER|PID|NET */

/* P_HOST_MOUNTS mounts into the runtime's own mount namespace: only with
 * none of the container's, never onto "/", never with the MS_MOVE onto
 * "/" of P_NO_PIVOT, and not from a new user namespace (which may not
 * mount there). */
static void check_host_mounts(const char *c, const struct plan *p)
{
	plan_need_abs(c, "P_HOST_MOUNTS", p->host_mounts);
	bool dotdot = false;
	for (const char *d = strstr(p->host_mounts, "/.."); d; d = strstr(d + 1, "/.."))
		dotdot |= d[3] == '/' || d[3] == '\0';
	if (strcmp(p->host_mounts, "/") == 0 || dotdot)
		plan_bad(c, "P_HOST_MOUNTS \"%s\" must be a directory below \"/\"", p->host_mounts);
	if (p->mode != PLAN_MODE_CREATE || !p->rootfs)
		plan_bad(c, "P_HOST_MOUNTS needs P_MODE create and P_ROOTFS");
	if (p->no_pivot)
		plan_bad(c, "P_HOST_MOUNTS and P_NO_PIVOT: the root switch is chroot");
	uint64_t types = p->clone_flags;
	for (size_t i = 0; i < p->nns; i++)
		types |= p->ns[i].type;
	if (types & (CLONE_NEWNS | CLONE_NEWUSER))
		plan_bad(c, "P_HOST_MOUNTS with a mount or user namespace");
}

/* Checks the group as a whole once all its records are in. */
void check_group(struct walk *w, int scope)
{
	const char *c = w->ctx;
	switch (scope) {
	case SC_NS: {
		struct ns_join *n = w->obj;
		if (!plan_seen(w, NS_TYPE) || !n->path)
			plan_bad(c, "needs NS_TYPE and NS_PATH");
		if (!n->type || (n->type & (n->type - 1)) || (n->type & ~CLONE_NS_ALL))
			plan_bad(c, "NS_TYPE %#llx is not one CLONE_NEW* flag", (unsigned long long)n->type);
		break;
	}
	case SC_MOUNT: {
		struct mount_ent *m = w->obj;
		if (!m->source || !m->dest)
			plan_bad(c, "needs M_SOURCE and M_DEST");
		plan_need_abs(c, "M_DEST", m->dest);
		if (!m->idmap_uid_map != !m->idmap_gid_map)
			plan_bad(c, "M_IDMAP_UID_MAP and M_IDMAP_GID_MAP go together");
		if (m->idmap_uid_map && m->idmap_userns)
			plan_bad(c, "M_IDMAP_USERNS or the M_IDMAP_*_MAP, not both");
		if (m->idmap_recursive && !m->idmap_uid_map && !m->idmap_userns)
			plan_bad(c, "M_IDMAP_RECURSIVE without an idmap");
		if (m->tmpcopyup && (!m->type || strcmp(m->type, "tmpfs") != 0))
			plan_bad(c, "M_TMPCOPYUP is for tmpfs");
		break;
	}
	case SC_DEVICE: {
		struct device_ent *d = w->obj;
		if (!d->path || !plan_seen(w, D_TYPE))
			plan_bad(c, "needs D_PATH and D_TYPE");
		plan_need_abs(c, "D_PATH", d->path);
		if (d->type != S_IFCHR && d->type != S_IFBLK && d->type != S_IFIFO)
			plan_bad(c, "D_TYPE %#llo is not S_IFCHR, S_IFBLK or S_IFIFO", (unsigned long long)d->type);
		if (d->mode > 07777)
			plan_bad(c, "D_MODE %#llo has more than permission bits", (unsigned long long)d->mode);
		if (d->major > 0xfffff || d->minor > 0xfffff)
			plan_bad(c, "device number %llu:%llu out of range", (unsigned long long)d->major,
			    (unsigned long long)d->minor);
		break;
	}
	case SC_SYMLINK: {
		struct symlink_ent *l = w->obj;
		if (!l->target || !l->path || !*l->target)
			plan_bad(c, "needs a non-empty L_TARGET and L_PATH");
		plan_need_abs(c, "L_PATH", l->path);
		break;
	}
	case SC_SYSCTL: {
		struct sysctl_ent *k = w->obj;
		if (!k->path || !k->value || !*k->path)
			plan_bad(c, "needs K_PATH and K_VALUE");
		if (k->path[0] == '/' || strcmp(k->path, "..") == 0 || strncmp(k->path, "../", 3) == 0 ||
		    strstr(k->path, "/../") || (strlen(k->path) >= 3 && strcmp(k->path + strlen(k->path) - 3, "/..") == 0))
			plan_bad(c, "K_PATH \"%s\" must stay under /proc/sys", k->path);
		break;
	}
	case SC_RLIMIT: {
		struct rlimit_ent *rl = w->obj;
		if (!plan_seen(w, R_TYPE) || !plan_seen(w, R_SOFT) || !plan_seen(w, R_HARD))
			plan_bad(c, "needs R_TYPE, R_SOFT and R_HARD");
		if (rl->type >= 16)
			plan_bad(c, "R_TYPE %llu is not an RLIMIT_*", (unsigned long long)rl->type);
		if (rl->soft > rl->hard)
			plan_bad(c, "R_SOFT is above R_HARD");
		break;
	}
	case SC_HOOK: {
		struct hook *h = w->obj;
		if (!h->path)
			plan_bad(c, "needs H_PATH");
		plan_need_abs(c, "H_PATH", h->path);
		if (h->kind != HOOK_KIND_CREATE_CONTAINER && h->kind != HOOK_KIND_START_CONTAINER)
			plan_bad(c, "H_KIND %llu is not a HOOK_KIND_*", (unsigned long long)h->kind);
		break;
	}
	case SC_SCHED:
		if (!plan_seen(w, S_POLICY))
			plan_bad(c, "needs S_POLICY");
		break;
	case SC_MEMPOLICY:
		if (!plan_seen(w, MP_MODE))
			plan_bad(c, "needs MP_MODE");
		break;
	case SC_NETDEV: {
		struct netdev *n = w->obj;
		if (!n->name || !*n->name || !n->new_name || !*n->new_name)
			plan_bad(c, "needs a non-empty N_NAME and N_NEW_NAME");
		if (strlen(n->name) >= 16 || strlen(n->new_name) >= 16)
			plan_bad(c, "a network device name has at most 15 bytes");
		break;
	}
	case SC_PLAN: {
		struct plan *p = w->p;
		if (!plan_seen(w, P_MODE))
			plan_bad(c, "no P_MODE");
		if (p->mode != PLAN_MODE_CREATE && p->mode != PLAN_MODE_EXEC)
			plan_bad(c, "P_MODE must be 1 (create) or 2 (exec), got %llu", (unsigned long long)p->mode);
		if (p->clone_flags & ~CLONE_NS_ALL)
			plan_bad(c, "P_CLONE_FLAGS %#llx has flags other than CLONE_NEW*",
			    (unsigned long long)p->clone_flags);
		/* a container created from a config without a process waits on
		 * the fifo and never executes anything (start refuses it) */
		if (p->args.n == 0 && !(p->mode == PLAN_MODE_CREATE && p->fifo_path && !p->wait))
			plan_bad(c, "no P_ARG: nothing to execute");
		if (p->rootfs)
			plan_need_abs(c, "P_ROOTFS", p->rootfs);
		if (p->fifo_path)
			plan_need_abs(c, "P_FIFO_PATH", p->fifo_path);
		if (p->host_mounts)
			check_host_mounts(c, p);
		if (p->nnetdevs && p->mode != PLAN_MODE_CREATE)
			plan_bad(c, "P_NETDEV is for create");
		if (p->chroot_dir) {
			plan_need_abs(c, "P_CHROOT", p->chroot_dir);
			if (p->mode != PLAN_MODE_EXEC)
				plan_bad(c, "P_CHROOT is for exec; a container's root is P_ROOTFS");
		}
		for (size_t i = 0; i < p->masked.n; i++)
			plan_need_abs(c, "P_MASKED_PATH", p->masked.v[i]);
		for (size_t i = 0; i < p->readonly.n; i++)
			plan_need_abs(c, "P_READONLY_PATH", p->readonly.v[i]);
		if (!p->cwd)
			p->cwd = xstrndup("/", 1);
		break;
	}
	}
}

