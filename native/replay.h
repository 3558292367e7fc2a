/*
 * replay.h - `tsrun-init --replay`: a create done again from the recipe a create by Bun left
 * (src/recipe/, issue 18). replay-recipe.c reads the recipe and makes its checks; replay.c does the create.
 */
#ifndef TSRUN_REPLAY_H
#define TSRUN_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bytes {
	const uint8_t *p;
	size_t n;
};

/* a recipe section: its name and body (pointers into the file's buffer) */
struct section {
	const char *name;
	size_t name_len;
	struct bytes body;
};

#define RECIPE_MAX_SECTIONS 512

struct recipe {
	uint8_t *buf;
	size_t len;
	struct section s[RECIPE_MAX_SECTIONS];
	size_t n;
};

/* the values a template's holes take */
struct holes {
	const char *id, *pid, *pid_start, *created, *creator_pid, *creator_start;
};

/* a growable byte buffer */
struct out {
	char *p;
	size_t n, cap;
};

bool recipe_read(const char *path, struct recipe *r);
const struct section *recipe_find(const struct recipe *r, const char *name, size_t from, size_t *at);
bool section_is(const struct section *s, const char *name);
/* the next field of *b: 1 and *f, 0 at the end, -1 on a bad field */
int field_next(struct bytes *b, struct bytes *f);
bool field_is(struct bytes f, const char *s);
char *field_str(struct bytes f); /* a NUL-terminated copy (malloc) */
bool fill_template(struct bytes tpl, const struct holes *h, struct out *o);
bool template_named(const struct recipe *r, const char *name, struct bytes *tpl);
/* the checks before anything is done: the binaries, the host facts; false names none, the replay just yields */
bool recipe_guards_hold(const struct recipe *r);
void out_add(struct out *o, const void *p, size_t n);
void out_str(struct out *o, const char *s);
uint32_t crc32_ieee(const void *p, size_t n);
/* tsrun-init --replay RECIPE ROOT ID BUNDLE PIDFILE -- ARGV...: returns 0 once the container is created (a run:
 * the container process's exit status); gives way to Bun (execs it with ARGV) otherwise */
int replay_main(int argc, char **argv, char **envp);
/* undoes what the replay made and execs Bun with ARGV */
__attribute__((noreturn)) void replay_give_way(char **argv, char **envp);

/* a container the replay created, for a run's start, wait and delete (replay-run.c) */
struct replayed {
	const char *root, *id, *dir, *lock, *fifo, *stamp; /* stamp: the lock's target, as lock.ts writes it */
	const struct out *answers;
	pid_t stage0, container;
	int sock; /* stage 0's end: MSG_EXIT comes on it */
};
int replay_run(const struct replayed *r, char **argv, char **envp);
/* /proc/PID/stat from its state field on, in st (n bytes); NULL when the process is gone */
const char *proc_stat(pid_t pid, char *st, size_t n);

#endif
