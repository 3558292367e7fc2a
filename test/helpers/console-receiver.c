/*
 * console-receiver SOCKET INPUT: what an engine does with --console-socket.
 * Listens on the unix socket SOCKET, prints "ready", takes one connection,
 * receives the pty master (SCM_RIGHTS), writes INPUT into it and prints
 * "name=<the payload sent with the fd>" and then everything the container
 * writes to its terminal, until every slave fd is closed (EIO).
 * Compiled by the tests (test/helpers/native-helpers.ts).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: console-receiver SOCKET INPUT\n");
		return 2;
	}
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) {
		perror("console-receiver: listen");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	alarm(60);
	int c = accept(s, NULL, NULL);
	if (c < 0) {
		perror("console-receiver: accept");
		return 1;
	}
	char name[256] = "", ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t n = recvmsg(c, &mh, 0);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (n <= 0 || !cm || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "console-receiver: no fd received\n");
		return 1;
	}
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof master);
	name[n] = '\0';
	printf("name=%s\n", name);
	fflush(stdout);
	if (write(master, argv[2], strlen(argv[2])) < 0) {
		perror("console-receiver: write");
		return 1;
	}
	char buf[4096];
	for (;;) {
		ssize_t r = read(master, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EIO: the container's last slave fd is closed */
		fwrite(buf, 1, (size_t)r, stdout);
		fflush(stdout);
	}
	return 0;
}
