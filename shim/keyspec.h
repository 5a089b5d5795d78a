/* keyspec.h - what a key is: its variable name, text format and size, and
 * the ordered list of keys one run of keyshim keeps. */
#ifndef KEYSHIM_KEYSPEC_H
#define KEYSHIM_KEYSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "encoding.h"

/* Room for NAME_FILE and for the temporary file names built from NAME,
 * well inside NAME_MAX (255). */
#define KEY_NAME_MAX 128
#define KEYS_MAX 64

struct key_spec {
	char name[KEY_NAME_MAX + 1];
	enum key_format format;
	size_t bytes;
};

struct key_list {
	struct key_spec specs[KEYS_MAX];
	size_t count;
};

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool key_name_is_valid(const char *name);

/* Parse "NAME[:FORMAT[:BYTES]]" (defaults base64, 32). On failure returns
 * false with a reason in `why` (which never holds more than the spec). */
bool key_spec_parse(const char *text, struct key_spec *spec, char *why,
                    size_t why_size);

/* Append a key; a repeated name is fine when the spec is the same. Returns
 * false with a reason when the name clashes or the list is full. */
bool key_list_add(struct key_list *list, const struct key_spec *spec,
                  char *why, size_t why_size);

/* Adds one item ("NAME[:FORMAT[:BYTES]]" or a preset name) to a list. */
typedef bool (*key_list_adder)(const char *item, struct key_list *list,
                               char *why, size_t why_size);

/* Add "NAME[:FORMAT[:BYTES]]" to the list. */
bool key_list_add_spec(const char *item, struct key_list *list, char *why,
                       size_t why_size);

/* Add every comma-separated item of csv (KEYSHIM_KEYS, KEYSHIM_PRESET);
 * an empty item is a mistake, an empty csv adds nothing. */
bool key_list_add_csv(const char *csv, key_list_adder add, struct key_list *list,
                      char *why, size_t why_size);

#endif
