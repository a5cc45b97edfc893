/*
 * cli.h — what the verbs of the `leakgate` command share.
 *
 * Each verb is `int cli_VERB(int argc, char **argv)` with argv[0] the verb,
 * returning the process exit status.  Usage errors print one line
 * "leakgate: ..." (plus a hint) and return CLI_EUSAGE.
 */
#ifndef LG_CLI_H
#define LG_CLI_H

#include <leakgate/plugin.h>
#include <stdbool.h>

#ifndef LEAKGATE_VERSION
#define LEAKGATE_VERSION "0.1.0"
#endif

#define CLI_EUSAGE 2

int cli_run(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_gate(int argc, char **argv);

/* Prints "leakgate: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option scanning: recognizes "--name VALUE" and "--name=VALUE" at argv[*i].
 * Returns 1 and sets *value (advancing *i past a separate value) when
 * argv[*i] is option `name`; 0 when it is not; -1 after reporting a
 * missing value. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* The value of a setting: the option's text when given (*name = option),
 * else the environment variable's when set and not empty (*name = var),
 * else NULL. */
const char *cli_setting(const char *opt_text, const char *opt, const char *env, const char **name);

/* Parses an integer setting (option or LEAKGATE_* variable); reports the
 * error and returns false when bad.  Absent settings keep *out. */
bool cli_int_setting(const char *opt_text, const char *opt, const char *env, int64_t lo, int64_t hi,
                     int64_t *out);

/* "--key-type" of show and compare. */
bool cli_parse_key_type(const char *text, lg_key_type_t *out);

#endif /* LG_CLI_H */
