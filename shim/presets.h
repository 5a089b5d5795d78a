/* presets.h - the keys a known service needs, by the service's name: data,
 * from which the preset names, --help, `keyshim presets` and the README's
 * table all come. */
#ifndef KEYSHIM_PRESETS_H
#define KEYSHIM_PRESETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "keyspec.h"

/* Add the named preset's keys to list. Returns false with a reason when the
 * preset is unknown or its keys clash with keys already in the list. */
bool preset_add(const char *preset, struct key_list *list, char *why,
                size_t why_size);

/* "semaphore, airflow or airflow2": for usage messages. */
const char *preset_names(void);

/* `keyshim presets`: one line a key,
 * PRESET NAME FORMAT BYTES CLASS ACCEPTS SOURCE. */
void presets_print(FILE *out);

/* Where upstream published a value of this key (a compose file, the docs)
 * when fp is the fingerprint of such a value; NULL otherwise. */
const char *published_value_source(const char *name, const char *fp);

#endif
