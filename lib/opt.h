/* SPDX-License-Identifier: MIT */
/*
 * Option parsing shared by every program: getopt_long with a table, and
 * the same -h/--help, -V/--version and usage-error behaviour everywhere.
 * For cmd/ mains only: on --help, --version or a usage error it prints and
 * exits (help on stdout with 0, misuse on stderr with 2).
 */
#ifndef BMS_OPT_H
#define BMS_OPT_H

#include <getopt.h>

struct bms_cmd {
	const char *synopsis;		/* "bms-decode [options] [file ...]", may hold several lines */
	const char *help;		/* one line per option, ends in "\n" */
	const char *shortopts;		/* getopt string; "hV" is added */
	const struct option *longopts;	/* must hold help and version */
};

/* Option entries every table ends with. */
#define BMS_OPT_COMMON \
	{ "help", no_argument, 0, 'h' }, \
	{ "version", no_argument, 0, 'V' }, \
	{ 0, 0, 0, 0 }

/*
 * Next option, as getopt_long returns it; -1 at the end.  Handles -h, -V and
 * unknown options or missing arguments itself, and does not return for them.
 */
int bms_opt_next(int argc, char **argv, const struct bms_cmd *cmd);

/* Print "prog: MSG", the usage line and "Try 'prog --help'." on stderr; exit 2. */
void bms_opt_usage(const struct bms_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Parse a whole number in [min, max] given to option NAME (decimal, or hex
 * after 0x).  A bad value is a usage error: one line saying what is wrong
 * on stderr, exit 2.  (A bad option or a missing argument prints the usage
 * too, through bms_opt_usage.)
 */
long bms_opt_long(const struct bms_cmd *cmd, const char *name, const char *arg,
		  long min, long max);

/*
 * The index of arg in words, a NULL-terminated list of the values option
 * NAME takes.  A word may list other spellings of the same value after
 * '|' ("readings|reading").  Any other value is a usage error that names
 * them all, each by its first spelling: "--sync: 'x' is not normal or
 * full" on stderr, exit 2.
 */
int bms_opt_word(const struct bms_cmd *cmd, const char *name, const char *arg,
		 const char *const *words);

/*
 * The index in words of a subcommand's action word arg ("tenants add"),
 * NULL when none was given.  A missing or unknown one is a usage error
 * (bms_opt_usage) naming them all: "tenants: say add, set or list",
 * "tenants: unknown action 'x' (add, set or list)".
 */
int bms_opt_action(const struct bms_cmd *cmd, const char *what, const char *arg,
		   const char *const *words);

/* Parse a finite number in [min, max] given to option NAME; as above. */
double bms_opt_double(const struct bms_cmd *cmd, const char *name,
		      const char *arg, double min, double max);

#endif
