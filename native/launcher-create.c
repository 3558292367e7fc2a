/*
 * launcher-create.c - `tsrun [--root DIR] create|run [--bundle DIR|-b DIR] [--pid-file FILE] ID` (run: in the
 * foreground) when a create or run by Bun left a recipe for this config (src/recipe/; TSRUN_RECIPES=0 turns it
 * off): the config's CRC-32 and length and the CRC-32 of the root and the bundle's realpath name
 * /run/tsrun-recipes/<crc>-<len>-<place crc>-create (or -run; TSRUN_RECIPE_DIR moves it), and if it is there tsrun-init replays it (native/replay.c), which checks
 * everything it depends on and gives way to Bun itself at any doubt. Here only the command line is read: any flag
 * beyond these, a relative root or no recipe, and this returns (about 0.1 ms) for Bun as always.
 */
#include "launcher-sys.h"

#define PATH_MAX_ 4096
#define CONFIG_MAX (1 << 20)

static char g_config[CONFIG_MAX];

static char *hex8(char *p, unsigned v)
{
	for (int k = 7; k >= 0; k--)
		*p++ = "0123456789abcdef"[(v >> (4 * k)) & 15];
	return p;
}

void replay_create(long argc, char **argv, char **envp)
{
	for (char **e = envp; *e; e++)
		if (seq(*e, "TSRUN_RECIPES=0"))
			return;
	const char *root = "/run/tsrun", *bundle = ".", *id = NULL, *pid_file = "";
	int logged = 0;
	long i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *v;
		if ((v = after(argv[i], "--root=")))
			root = v;
		else if (seq(argv[i], "--root") && i + 1 < argc)
			root = argv[++i];
		else if (after(argv[i], "--log=") || after(argv[i], "--log-format="))
			logged = 1;
		else if ((seq(argv[i], "--log") || seq(argv[i], "--log-format")) && i + 1 < argc)
			logged = 1, i++;
		else
			return;
	}
	/* a foreground run tells the process's errors on stderr only: with a log file it is Bun's */
	if (i >= argc || !(seq(argv[i], "create") || (seq(argv[i], "run") && !logged)))
		return;
	const char *mode = seq(argv[i], "run") ? "-run" : "-create";
	for (i++; i < argc; i++) {
		const char *a = argv[i], *v;
		if ((v = after(a, "--bundle=")))
			bundle = v;
		else if ((seq(a, "--bundle") || seq(a, "-b")) && i + 1 < argc)
			bundle = argv[++i];
		else if ((v = after(a, "--pid-file=")) && v[0])
			pid_file = v;
		else if (seq(a, "--pid-file") && i + 1 < argc && argv[i + 1][0])
			pid_file = argv[++i];
		else if (a[0] == '-' || id)
			return;
		else
			id = a;
	}
	if (!id || root[0] != '/' || !bundle[0])
		return;
	char path[PATH_MAX_], name[64];
	if (!join3(path, sizeof path, bundle, "/", "config.json"))
		return;
	long n = read_file(path, g_config, sizeof g_config);
	if (n < 0)
		return;
	/* where: the root as given, NUL, the bundle's realpath (the kernel's name for it, through an O_PATH fd) */
	static char place[2 * PATH_MAX_ + 2];
	long pl = 0;
	while (root[pl] && pl < PATH_MAX_)
		place[pl] = root[pl], pl++;
	place[pl++] = '\0';
	long bfd = sys4(NR_openat, AT_FDCWD_, (long)bundle, 010000000 /* O_PATH */ | 02000000 /* O_CLOEXEC */, 0);
	if (bfd < 0)
		return;
	char fdlink[40], num[24];
	if (!join3(fdlink, sizeof fdlink, "/proc/self/fd", "/", decimal(bfd, num + sizeof num)))
		return;
	long bl = sys4(NR_readlinkat, AT_FDCWD_, (long)fdlink, (long)(place + pl), PATH_MAX_);
	sys3(NR_close, bfd, 0, 0);
	if (bl <= 0 || bl >= PATH_MAX_ || place[pl] != '/')
		return;
	pl += bl;
	/* <config crc32 hex>-<config length>-<place crc32 hex>-create, as src/recipe/seen.ts names it */
	char *p = name;
	p = hex8(p, crc32(g_config, n));
	*p++ = '-';
	for (const char *d = decimal(n, num + sizeof num); *d; d++)
		*p++ = *d;
	*p++ = '-';
	p = hex8(p, crc32(place, pl));
	for (const char *m = mode; (*p = *m); m++)
		p++;
	const char *dir = "/run/tsrun-recipes", *d;
	for (char **e = envp; *e; e++)
		if ((d = after(*e, "TSRUN_RECIPE_DIR=")) && d[0])
			dir = d;
	char recipe[PATH_MAX_];
	if (!join3(recipe, sizeof recipe, dir, "/", name))
		return;
	if (sys4(NR_faccessat, AT_FDCWD_, (long)recipe, 4 /* R_OK */, 0) != 0)
		return;
	/* tsrun-init beside us */
	char init[PATH_MAX_];
	long len = sys4(NR_readlinkat, AT_FDCWD_, (long)"/proc/self/exe", (long)init, sizeof init - 16);
	if (len <= 0)
		return;
	while (len > 0 && init[len - 1] != '/')
		len--;
	memcpy(init + len, "tsrun-init", 11);
	char *args[argc + 10];
	long k = 0;
	args[k++] = "tsrun-init";
	args[k++] = "--replay";
	args[k++] = recipe;
	args[k++] = (char *)root;
	args[k++] = (char *)id;
	args[k++] = (char *)bundle;
	args[k++] = (char *)pid_file;
	args[k++] = "--";
	for (long j = 0; j < argc; j++)
		args[k++] = argv[j];
	args[k] = NULL;
	sys3(NR_execve, (long)init, (long)args, (long)envp);
	/* it could not start: Bun, as always */
}
