/*
 * plancheck.h - between the plan decoder (plan.c) and the checks of its
 * groups (plancheck.c).
 */
#ifndef TSRUN_PLANCHECK_H
#define TSRUN_PLANCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "init.h"
#include "plantab.h"

struct walk {
	struct plan *p;
	void *obj;            /* the group element being filled */
	char ctx[64];
	uint8_t seen[PLAN_TAG_LIMIT / 8]; /* bitmap of the tags seen in this group */
};

/* "invalid plan: <ctx>: <message>"; ctx names the enclosing record, e.g. "P_MOUNT[2]". */
__attribute__((noreturn, format(printf, 2, 3)))
void plan_bad(const char *ctx, const char *fmt, ...);
void plan_need_abs(const char *ctx, const char *what, const char *s);
bool plan_seen(const struct walk *w, uint32_t tag);
void check_group(struct walk *w, int scope);

#endif
