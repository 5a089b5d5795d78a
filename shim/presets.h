/* presets.h - the keys a known service needs, by the service's name. */
#ifndef KEYSHIM_PRESETS_H
#define KEYSHIM_PRESETS_H

#include <stdbool.h>
#include <stddef.h>

#include "keyspec.h"

/* Add the named preset's keys to list. Returns false with a reason when the
 * preset is unknown or its keys clash with keys already in the list. */
bool preset_add(const char *preset, struct key_list *list, char *why,
                size_t why_size);

/* "semaphore, airflow, airflow2": for usage messages. */
const char *preset_names(void);

#endif
