/*
 * plantab.h - the tag table: name, payload kind and scope of every tag of
 * plan.h. The decoder (plan.c) and --dump-plan (dump.c) both walk it.
 */
#ifndef TSRUN_PLANTAB_H
#define TSRUN_PLANTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_kind { RK_EMPTY, RK_U64, RK_STR, RK_BYTES, RK_GROUP };
/* how --dump-plan prints a U64 */
enum rec_fmt { RF_NONE, RF_DEC, RF_HEX, RF_OCT, RF_SIGNED, RF_BOOL };
/* where a tag may appear */
enum rec_scope {
	SC_MSG = 1, SC_PLAN, SC_NS, SC_MOUNT, SC_DEVICE, SC_SYMLINK, SC_SYSCTL,
	SC_RLIMIT, SC_CAPS, SC_HOOK, SC_SCHED, SC_MEMPOLICY, SC_NETDEV,
};

struct tag_info {
	uint32_t tag;
	const char *name;
	uint8_t kind, fmt, scope;
	uint8_t inner;   /* for RK_GROUP: the scope of its records */
	bool repeat;
};

/* Every tag is below this: the decoder keeps a bitmap of the tags seen in a
 * group this many bits long. plantab.c fails to compile on a tag at or above it. */
#define PLAN_TAG_LIMIT 320
_Static_assert(PLAN_TAG_LIMIT % 8 == 0, "the seen-bitmap is whole bytes");

const struct tag_info *tag_info(uint32_t tag);

struct rec {
	uint32_t tag, len;
	const uint8_t *p;
};

/* 1: a record in *r; 0: end of buffer; -1: a truncated record. */
int rec_next(const uint8_t *buf, size_t len, size_t *off, struct rec *r);
uint64_t rec_u64(const struct rec *r);

#endif
