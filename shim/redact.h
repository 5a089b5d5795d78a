/* redact.h - what a message may show of a value from the environment.
 *
 * A NAME_FILE value should be a path, but a key pasted there by mistake
 * (with its newline, or another service's key) must never reach a log. */
#ifndef KEYSHIM_REDACT_H
#define KEYSHIM_REDACT_H

#include <stdbool.h>

#define REDACTED "(not shown: not plainly a path, it may be a secret)"

/* True only when value is plainly a path: absolute, of the portable file
 * name characters (letters, digits, '.', '_', '-', '/'), and not the text
 * form of a key in any format keyshim knows. */
bool value_is_plain_path(const char *value);

/* value when it is plainly a path, else REDACTED. */
const char *value_shown(const char *value);

#endif
