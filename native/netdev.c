/*
 * netdev.c - linux.netDevices, in stage 0 (plan.h P_NETDEV), over rtnetlink.
 * netdev_prepare finds each device on the host and keeps its permanent
 * addresses of global scope, which the kernel drops when a device changes
 * network namespace; netdev_move moves and renames the devices into the
 * container's network namespace; netdev_configure, run inside it, gives the
 * addresses back and sets the devices up. The spec leaves a device's way
 * back to the kernel: when the namespace goes, physical devices return to
 * the host and virtual ones are destroyed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

/* The runtime's network namespace, for netdev_rollback. */
static int host_netns = -1;

struct nlreq {
	struct nlmsghdr h;
	union {
		struct ifinfomsg link;
		struct ifaddrmsg addr;
	};
	char attrs[512];
};

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		die(errno, "open a netlink socket");
	return fd;
}

static void add_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->h.nlmsg_len);
	if (off + RTA_SPACE(len) > sizeof *r)
		die(0, "internal error: netlink request too long");
	struct rtattr *a = (struct rtattr *)((char *)r + off);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

/* Sends one request and reads its answer: with each, a dump whose messages
 * go to each(); without, an acknowledgement. Returns 0 or the kernel's errno. */
static int nl_talk(int fd, struct nlmsghdr *h, void (*each)(struct nlmsghdr *, void *), void *arg)
{
	static uint32_t seq;
	static uint64_t buf[65536 / 8];
	h->nlmsg_seq = ++seq;
	h->nlmsg_flags |= NLM_F_REQUEST | (each ? NLM_F_DUMP : NLM_F_ACK);
	if (send(fd, h, h->nlmsg_len, 0) < 0)
		return errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		int len = (int)n;
		for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
			if (m->nlmsg_seq != h->nlmsg_seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(m);
				if (e->error || !each)
					return -e->error;
			} else if (each) {
				each(m, arg);
			}
		}
	}
}

/* A permanent address of global scope of the device: kept as the body of
 * an RTM_NEWADDR (u32 length, then an ifaddrmsg and its attributes). */
static void keep_addr(struct nlmsghdr *m, void *arg)
{
	struct netdev *n = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(m);
	if (m->nlmsg_type != RTM_NEWADDR || ifa->ifa_index != n->ifindex || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return;
	struct nlreq r = { .h.nlmsg_len = NLMSG_LENGTH(sizeof r.addr), .addr = *ifa };
	uint32_t flags = ifa->ifa_flags;
	int len = IFA_PAYLOAD(m);
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) == 4)
			memcpy(&flags, RTA_DATA(a), 4);
		if (a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS || a->rta_type == IFA_BROADCAST ||
		    a->rta_type == IFA_FLAGS)
			add_attr(&r, a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
	}
	if (!(flags & IFA_F_PERMANENT))
		return;
	uint32_t body = r.h.nlmsg_len - NLMSG_HDRLEN;
	n->addrs = xrealloc(n->addrs, n->addrs_len + 4 + body);
	memcpy(n->addrs + n->addrs_len, &body, 4);
	memcpy(n->addrs + n->addrs_len + 4, NLMSG_DATA(&r.h), body);
	n->addrs_len += 4 + body;
}

void netdev_prepare(struct plan *p)
{
	if (!p->nnetdevs)
		return;
	host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_netns < 0)
		die(errno, "open \"/proc/self/ns/net\"");
	int fd = nl_open();
	for (size_t i = 0; i < p->nnetdevs; i++) {
		struct netdev *n = &p->netdevs[i];
		n->ifindex = if_nametoindex(n->name);
		if (!n->ifindex)
			die(0, "$.linux.netDevices.%s: no network device \"%s\" on the host", n->name, n->name);
		struct ifreq ifr = { 0 };
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", n->name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			die(errno, "get the flags of network device \"%s\"", n->name);
		n->was_up = ifr.ifr_flags & IFF_UP;
		struct nlreq r = { .h.nlmsg_len = NLMSG_LENGTH(sizeof r.addr), .h.nlmsg_type = RTM_GETADDR };
		int err = nl_talk(fd, &r.h, keep_addr, n);
		if (err)
			die(err, "list the addresses of network device \"%s\"", n->name);
	}
	close(fd);
}

/* A network namespace the container joins may have the new names already;
 * the kernel would move the device first and refuse the name after, so look
 * inside first (and come back). Before stage 0 joins anything: /proc is the
 * host's. A new namespace has only "lo", which the runtime refused. */
void netdev_check_names(struct plan *p, int netnsfd)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die(errno, "open \"/proc/self/ns/net\"");
	if (setns(netnsfd, CLONE_NEWNET) < 0)
		die(errno, "enter the container's network namespace to check the device names");
	for (size_t i = 0; i < p->nnetdevs; i++) {
		const struct netdev *n = &p->netdevs[i];
		if (!strchr(n->new_name, '%') && if_nametoindex(n->new_name))
			die(0, "$.linux.netDevices.%s: a network device named \"%s\" is already in the container's network namespace",
			    n->name, n->new_name);
	}
	if (setns(self, CLONE_NEWNET) < 0)
		die(errno, "return to the runtime's network namespace");
	close(self);
}

/* From the host's network namespace, where stage 0 still is. A new name
 * with "%d" is the kernel's to choose; the device then keeps its host
 * index, by which netdev_configure finds it. */
void netdev_move(struct plan *p, int netnsfd)
{
	int fd = nl_open();
	for (size_t i = 0; i < p->nnetdevs; i++) {
		const struct netdev *n = &p->netdevs[i];
		struct nlreq r = {
			.h.nlmsg_len = NLMSG_LENGTH(sizeof r.link),
			.h.nlmsg_type = RTM_NEWLINK,
			.link.ifi_index = (int)n->ifindex,
		};
		uint32_t nsfd = (uint32_t)netnsfd;
		add_attr(&r, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
		add_attr(&r, IFLA_IFNAME, n->new_name, strlen(n->new_name) + 1);
		if (strchr(n->new_name, '%')) {
			int32_t idx = (int32_t)n->ifindex;
			add_attr(&r, IFLA_NEW_IFINDEX, &idx, sizeof idx);
		}
		int err = nl_talk(fd, &r.h, NULL, NULL);
		if (err == EEXIST)
			die(0, "$.linux.netDevices.%s: a network device named \"%s\" is already in the container's network namespace",
			    n->name, n->new_name);
		if (err)
			die(err, "$.linux.netDevices.%s: move network device \"%s\" into the container's network namespace as \"%s\"",
			    n->name, n->name, n->new_name);
	}
	close(fd);
}

/* The device's saved addresses, on the device at idx of this namespace. */
static int give_addrs(int fd, const struct netdev *n, unsigned int idx)
{
	for (size_t off = 0; off + 4 <= n->addrs_len;) {
		uint32_t body;
		memcpy(&body, n->addrs + off, 4);
		struct nlreq r = {
			.h.nlmsg_len = NLMSG_HDRLEN + body, /* keep_addr made it fit */
			.h.nlmsg_type = RTM_NEWADDR,
			.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL,
		};
		memcpy(NLMSG_DATA(&r.h), n->addrs + off + 4, body);
		r.addr.ifa_index = idx;
		int err = nl_talk(fd, &r.h, NULL, NULL);
		if (err)
			return err;
		off += 4 + body;
	}
	return 0;
}

static int set_up(int fd, unsigned int idx)
{
	struct nlreq up = {
		.h.nlmsg_len = NLMSG_LENGTH(sizeof up.link),
		.h.nlmsg_type = RTM_NEWLINK,
		.link = { .ifi_index = (int)idx, .ifi_flags = IFF_UP, .ifi_change = IFF_UP },
	};
	return nl_talk(fd, &up.h, NULL, NULL);
}

/* Where a moved device is in the container's namespace (0: gone). */
static unsigned int moved_index(const struct netdev *n)
{
	return strchr(n->new_name, '%') ? n->ifindex : if_nametoindex(n->new_name);
}

/* In the container's network namespace. */
void netdev_configure(struct plan *p)
{
	if (!p->nnetdevs)
		return;
	int fd = nl_open();
	for (size_t i = 0; i < p->nnetdevs; i++) {
		const struct netdev *n = &p->netdevs[i];
		unsigned int idx = moved_index(n);
		if (!idx)
			die(errno, "find network device \"%s\" in the container's network namespace", n->new_name);
		int err = give_addrs(fd, n, idx);
		if (err)
			die(err, "give network device \"%s\" its address back in the container", n->new_name);
		if ((err = set_up(fd, idx)))
			die(err, "set network device \"%s\" up in the container", n->new_name);
	}
	close(fd);
}

/* The container failed before it was ready: "as if the operation were never
 * attempted" (runtime.md#errors), the devices go back to the host under their
 * names, with their addresses and up if they were. Called in the container's
 * network namespace, which we keep alive, by a stage 0 that kept the host's
 * privileges. Best effort: what fails is a warning. */
void netdev_rollback(struct plan *p)
{
	int fd = nl_open();
	bool *back = xmalloc(p->nnetdevs * sizeof *back);
	for (size_t i = 0; i < p->nnetdevs; i++) {
		const struct netdev *n = &p->netdevs[i];
		unsigned int idx = moved_index(n);
		back[i] = false;
		if (!idx)
			continue;
		struct nlreq r = {
			.h.nlmsg_len = NLMSG_LENGTH(sizeof r.link),
			.h.nlmsg_type = RTM_NEWLINK,
			.link.ifi_index = (int)idx,
		};
		uint32_t nsfd = (uint32_t)host_netns;
		add_attr(&r, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
		add_attr(&r, IFLA_IFNAME, n->name, strlen(n->name) + 1);
		int err = nl_talk(fd, &r.h, NULL, NULL);
		if (err)
			warnmsg("move network device \"%s\" back to the host as \"%s\": %s", n->new_name, n->name, errstr(err));
		back[i] = !err;
	}
	close(fd);
	if (setns(host_netns, CLONE_NEWNET) < 0) {
		warnmsg("return to the host's network namespace: %s", errstr(errno));
		return;
	}
	fd = nl_open();
	for (size_t i = 0; i < p->nnetdevs; i++) {
		const struct netdev *n = &p->netdevs[i];
		unsigned int idx = back[i] ? if_nametoindex(n->name) : 0;
		int err = idx ? give_addrs(fd, n, idx) : 0;
		if (!err && idx && n->was_up)
			err = set_up(fd, idx);
		if (err)
			warnmsg("network device \"%s\" is back on the host, but: %s", n->name, errstr(err));
	}
	close(fd);
	free(back);
}
