/*
 * sync.c - records on the sync socket: u32 tag | u32 len | payload, LE.
 *
 * A record goes out in one send(2) so that stage 0 and the child, which
 * share the socket, never interleave inside a record. MSG_NOSIGNAL: after
 * `create` the runtime is gone and a write must fail with EPIPE, not kill us.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

int send_msg(int fd, uint32_t tag, const void *payload, uint32_t len)
{
	size_t total = 8 + (size_t)len;
	uint8_t stackbuf[512];
	uint8_t *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
	if (!buf)
		return -1;
	uint32_t h[2] = { htole32(tag), htole32(len) };
	memcpy(buf, h, 8);
	if (len)
		memcpy(buf + 8, payload, len);

	size_t off = 0;
	int ret = 0;
	while (off < total) {
		ssize_t w = send(fd, buf + off, total - off, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, buf + off, total - off); /* a pipe, in tests */
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -1;
			break;
		}
		off += (size_t)w;
	}
	if (buf != stackbuf) {
		int saved = errno;
		free(buf);
		errno = saved;
	}
	return ret;
}

int send_u64(int fd, uint32_t tag, uint64_t v)
{
	uint64_t le = htole64(v);
	return send_msg(fd, tag, &le, 8);
}

int send_str(int fd, uint32_t tag, const char *s)
{
	return send_msg(fd, tag, s, (uint32_t)strlen(s));
}

static int read_exact(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = got ? EPROTO : 0; /* a cut record is a protocol error */
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

uint8_t *recv_expected(uint32_t want, uint32_t *len)
{
	uint32_t tag;
	uint8_t *buf;
	if (recv_msg(g_syncfd, &tag, &buf, len, PLAN_MAX_BYTES) < 0) {
		if (errno == 0)
			_exit(1);
		die(errno, "wait for %s", tag_name(want));
	}
	if (tag != want)
		die(0, "expected %s, got %s (%u)", tag_name(want), tag_name(tag), tag);
	return buf;
}

int recv_msg(int fd, uint32_t *tag, uint8_t **payload, uint32_t *len, uint32_t max)
{
	uint32_t h[2];
	if (read_exact(fd, h, 8) < 0)
		return -1;
	*tag = le32toh(h[0]);
	*len = le32toh(h[1]);
	if (*len > max) {
		errno = EMSGSIZE;
		return -1;
	}
	*payload = malloc((size_t)*len + 1);
	if (!*payload)
		return -1;
	if (read_exact(fd, *payload, *len) < 0) {
		int saved = errno ? errno : EPROTO;
		free(*payload);
		*payload = NULL;
		errno = saved;
		return -1;
	}
	(*payload)[*len] = 0; /* convenient for STR payloads */
	return 0;
}
