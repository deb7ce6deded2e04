/* SPDX-License-Identifier: MIT */
/*
 * One option-parsing path for all programs (see opt.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "msg.h"
#include "opt.h"
#include "version.h"

/* The synopsis: every form (for --help), or the first one only (after a
 * usage error, which stays short: the message, one usage line, a pointer
 * to --help). */
static void print_usage_line(FILE *f, const struct bms_cmd *cmd, int all)
{
	const char *p = cmd->synopsis;
	const char *nl;
	int first = 1;

	/* Each synopsis line is one form of the command. */
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		fprintf(f, "%s%.*s\n", first ? "usage: " : "       ",
			(int)(nl - p), p);
		first = 0;
		if (!all)
			break;
		p = *nl ? nl + 1 : nl;
	}
}

void bms_opt_usage(const struct bms_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", bms_msg_name());
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	print_usage_line(stderr, cmd, 0);
	fprintf(stderr, "Try '%s --help' for more information.\n",
		bms_msg_name());
	exit(BMS_EXIT_USAGE);
}

/* Say what is wrong with the option word arg, which getopt refused. */
static __attribute__((noreturn)) void bad_option(const struct bms_cmd *cmd,
						   const char *arg)
{
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		bms_opt_usage(cmd, "unknown option '-%c'", optopt);
	arg += 2;
	n = strcspn(arg, "=");
	for (const struct option *o = cmd->longopts; o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, arg, n) == 0 &&
		    o->has_arg == no_argument)
			bms_opt_usage(cmd, "option '--%.*s' takes no value", (int)n, arg);
	bms_opt_usage(cmd, "unknown option '--%.*s'", (int)n, arg);
}

int bms_opt_next(int argc, char **argv, const struct bms_cmd *cmd)
{
	char shortopts[128];
	int c;

	/* Leading ':' makes getopt report a missing argument as ':' and
	 * leaves the wording of every error to us. */
	snprintf(shortopts, sizeof shortopts, ":%shV", cmd->shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, cmd->longopts, NULL);
	switch (c) {
	case 'h':
		print_usage_line(stdout, cmd, 1);
		fputs("\n", stdout);
		fputs(cmd->help, stdout);
		printf("  -h, --help           show this help and exit\n"
		       "  -V, --version        show the version and exit\n"
		       "\nSee %s(1) for the full manual.\n", bms_msg_name());
		exit(fflush(stdout) == 0 ? BMS_EXIT_OK : BMS_EXIT_FAIL);
	case 'V':
		printf("%s %s\n", bms_msg_name(), BMS_VERSION);
		exit(fflush(stdout) == 0 ? BMS_EXIT_OK : BMS_EXIT_FAIL);
	case ':':
		bms_opt_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
	case '?':
		bad_option(cmd, argv[optind - 1]);
	default:
		return c;
	}
}

long bms_opt_long(const struct bms_cmd *cmd, const char *name, const char *arg,
		  long min, long max)
{
	char *end;
	long v;

	errno = 0;
	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		v = strtol(arg + 2, &end, 16);
	else
		v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		bms_die(BMS_EXIT_USAGE, "--%s: '%s' is not a whole number from %ld to %ld",
			name, arg, min, max);
	return v;
}

double bms_opt_double(const struct bms_cmd *cmd, const char *name,
		      const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || v > max)
		bms_die(BMS_EXIT_USAGE, "--%s: '%s' is not a number from %g to %g",
			name, arg, min, max);
	return v;
}

/* True if arg is one of word's spellings, "a|b|c". */
static int is_spelling(const char *arg, const char *word)
{
	for (const char *w = word;; w++) {
		size_t n = strcspn(w, "|");

		if (strncmp(arg, w, n) == 0 && arg[n] == '\0')
			return 1;
		w += n;
		if (!*w)
			return 0;
	}
}

/* "a, b or c": the first spelling of each word, into list. */
static void join_words(char *list, size_t size, const char *const *words)
{
	size_t n, len = 0;

	for (n = 0; words[n]; n++)
		;
	list[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(list + len, size - len, "%s%.*s",
					i == 0 ? "" : i + 1 == n ? " or " : ", ",
					(int)strcspn(words[i], "|"), words[i]);
}

int bms_opt_word(const struct bms_cmd *cmd, const char *name, const char *arg,
		 const char *const *words)
{
	char list[256];

	for (int n = 0; words[n]; n++)
		if (is_spelling(arg, words[n]))
			return n;
	join_words(list, sizeof list, words);
	bms_die(BMS_EXIT_USAGE, "--%s: '%s' is not %s", name, arg, list);
}

int bms_opt_action(const struct bms_cmd *cmd, const char *what, const char *arg,
		   const char *const *words)
{
	char list[256];

	for (int n = 0; arg && words[n]; n++)
		if (is_spelling(arg, words[n]))
			return n;
	join_words(list, sizeof list, words);
	if (!arg)
		bms_opt_usage(cmd, "%s: say %s", what, list);
	bms_opt_usage(cmd, "%s: unknown action '%s' (%s)", what, arg, list);
}
