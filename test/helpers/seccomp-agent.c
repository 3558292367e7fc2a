/*
 * seccomp-agent.c - a minimal seccomp notify agent for the tests.
 *
 * usage: seccomp-agent SOCKET STATE_OUT ERRNO
 * Listens on the unix socket SOCKET, takes one connection, receives the
 * listener fd (SCM_RIGHTS) with the container process state (JSON, written
 * to STATE_OUT), then answers every notified syscall with -ERRNO until the
 * listener closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: seccomp-agent SOCKET STATE_OUT ERRNO\n");
		return 2;
	}
	int answer = atoi(argv[3]);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
	unlink(argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	int c = accept(s, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	static char buf[1 << 16];
	char ctl[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t n = recvmsg(c, &m, 0);
	if (n < 0) {
		perror("recvmsg");
		return 1;
	}
	int fd = -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
	/* the state may come in more than one read */
	size_t len = (size_t)n;
	while (len < sizeof buf - 1 && (len == 0 || buf[len - 1] != '}')) {
		ssize_t more = read(c, buf + len, sizeof buf - 1 - len);
		if (more <= 0)
			break;
		len += (size_t)more;
	}
	FILE *out = fopen(argv[2], "w");
	if (!out || fwrite(buf, 1, len, out) != len || fclose(out) != 0) {
		perror("write state");
		return 1;
	}
	if (fd < 0) {
		fprintf(stderr, "no fd received\n");
		return 1;
	}
	printf("got listener\n");
	fflush(stdout);
	for (int handled = 0;; handled++) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		memset(&req, 0, sizeof req);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			printf("handled %d\n", handled);
			return 0;
		}
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		resp.error = -answer;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		printf("answered syscall %d\n", req.data.nr);
		fflush(stdout);
	}
}
