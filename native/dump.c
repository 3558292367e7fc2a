/*
 * dump.c - `tsrun-init --dump-plan`: reads a plan body (the records inside
 * MSG_PLAN) from stdin, validates it as the init would, and prints one line
 * per record in wire order, groups as "NAME {" ... "}" indented by two.
 * The golden test compares this text, so its form is fixed:
 *   U64    decimal, 0x-hex (flags, masks), 0-octal (modes), signed, or true/false
 *   STR    double-quoted, with \" \\ \n \t \r and \xHH for other control bytes
 *   BYTES  "<len> bytes " then lower-case hex
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "init.h"
#include "plantab.h"

static void print_str(const uint8_t *p, uint32_t len)
{
	putchar('"');
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		switch (c) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default:
			if (c < 0x20 || c == 0x7f)
				printf("\\x%02x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static void print_u64(const struct tag_info *ti, uint64_t v)
{
	switch (ti->fmt) {
	case RF_HEX: printf("%#" PRIx64, v); break;
	case RF_OCT: printf("0%" PRIo64, v); break;
	case RF_SIGNED: printf("%" PRId64, (int64_t)v); break;
	case RF_BOOL: fputs(v ? "true" : "false", stdout); break;
	default: printf("%" PRIu64, v); break;
	}
}

static void print_group(const uint8_t *buf, size_t len, int depth)
{
	size_t off = 0;
	struct rec r;
	while (rec_next(buf, len, &off, &r) > 0) {
		const struct tag_info *ti = tag_info(r.tag);
		printf("%*s%s", depth * 2, "", ti->name);
		switch (ti->kind) {
		case RK_U64:
			putchar(' ');
			print_u64(ti, rec_u64(&r));
			break;
		case RK_STR:
			putchar(' ');
			print_str(r.p, r.len);
			break;
		case RK_BYTES:
			printf(" %u bytes ", r.len);
			for (uint32_t i = 0; i < r.len; i++)
				printf("%02x", r.p[i]);
			break;
		case RK_GROUP:
			fputs(" {\n", stdout);
			print_group(r.p, r.len, depth + 1);
			printf("%*s}", depth * 2, "");
			break;
		}
		putchar('\n');
	}
}

int dump_plan_main(void)
{
	size_t cap = 65536, len = 0;
	uint8_t *buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap >= PLAN_MAX_BYTES)
				die(0, "plan: more than %u bytes on stdin", PLAN_MAX_BYTES);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(0, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(errno, "read plan from stdin");
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	decode_plan(buf, len); /* dies on malformed input */
	print_group(buf, len, 0);
	if (fflush(stdout) != 0)
		die(errno, "write to stdout");
	return 0;
}
