/*
 * console.c - the container's terminal: a pty from the container's own
 * devpts, the master sent to the console socket (SCM_RIGHTS), the slave as
 * stdio and controlling terminal, and bound onto /dev/console.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

/* -1 with errno on failure; a path too long for sun_path goes through an fd
 * of its directory. */
int try_connect_unix(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int dirfd = -1, r = -1, err = 0;
	if (strlen(path) >= sizeof sa.sun_path) {
		char *dir = xstrndup(path, strlen(path));
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			dirfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		int n = dirfd < 0 ? -1 : snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", fd_path(dirfd), slash + 1);
		if (!slash || (dirfd >= 0 && (n < 0 || (size_t)n >= sizeof sa.sun_path)))
			err = ENAMETOOLONG;
		else if (dirfd < 0)
			err = errno;
		free(dir);
	} else {
		memcpy(sa.sun_path, path, strlen(path) + 1);
	}
	if (!err) {
		do
			r = connect(s, (struct sockaddr *)&sa, sizeof sa);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			err = errno;
	}
	if (dirfd >= 0)
		close(dirfd);
	if (err) {
		close(s);
		errno = err;
		return -1;
	}
	return s;
}

/* Connected early, while host paths are still reachable (before setns into
 * a mount namespace, before pivot_root). */
int connect_unix(const char *path, const char *what)
{
	int s = try_connect_unix(path);
	if (s < 0)
		die(errno, "connect to %s \"%s\"", what, path);
	return s;
}

int send_fd(int sock, int fd, const void *data, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof ctl);
	char one = 0;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	if (len == 0) {
		iov.iov_base = &one; /* SCM_RIGHTS needs at least one byte */
		iov.iov_len = 1;
	}
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl,
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t w;
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	/* the rest of a long payload, without the fd */
	if (len && (size_t)w < len && write_all(sock, (const char *)data + w, len - (size_t)w) < 0)
		return -1;
	return 0;
}

/* CVE-2025-52565 class: the bind goes by fds, from the slave we hold onto
 * the very /dev/console we checked. A symlink there (or a directory) would
 * send it wherever the image points, /proc files included. */
static void bind_console_to(int slave, const char *name)
{
	/* an empty file to bind onto; mknod, so an existing node is never opened */
	if (mknod("/dev/console", S_IFREG | 0600, 0) < 0 && errno != EEXIST)
		die(errno, "create \"/dev/console\"");
	int fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(errno, "open \"/dev/console\"");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		die(0, "\"/dev/console\" in the container is a %s: refusing to bind the console onto it",
		    S_ISLNK(st.st_mode) ? "symlink" : "directory or special file");
	int tree = (int)syscall(SYS_open_tree, slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0 || syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die(errno, "bind \"%s\" onto \"/dev/console\"", name);
	close(tree);
	close(fd);
}

void setup_console(struct plan *p, int sock, bool bind_console)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die(errno, "open \"/dev/ptmx\" in the container");
	if (unlockpt(master) < 0)
		die(errno, "unlock the pty");
	char name[64];
	if (ptsname_r(master, name, sizeof name) != 0)
		die(errno, "get the name of the pty");
	/* TIOCGPTPEER opens the slave of this very master, with no path lookup */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		die(errno, "open the pty slave \"%s\"", name);
	if (p->console_height || p->console_width) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			die(errno, "set the console size to %llux%llu", (unsigned long long)p->console_width,
			    (unsigned long long)p->console_height);
	}
	if (bind_console)
		bind_console_to(slave, name);
	if (send_fd(sock, master, "/dev/ptmx", strlen("/dev/ptmx")) < 0) {
		if (p->console_socket)
			die(errno, "send the pty master to the console socket \"%s\"", p->console_socket);
		die(errno, "send the pty master to the runtime");
	}
	close(master);
	close(sock);

	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		die(errno, "make \"%s\" the controlling terminal", name);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			die(errno, "dup the pty onto fd %d", fd);
	if (slave > 2)
		close(slave);
}
