/* keyspec.c - see keyspec.h. */
#include "keyspec.h"

#include <stdio.h>
#include <string.h>

bool key_name_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > KEY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		bool digit = c >= '0' && c <= '9';
		if (!letter && !(digit && i > 0))
			return false;
	}
	return true;
}

/* Strict decimal in [KEY_BYTES_MIN, KEY_BYTES_MAX]: no sign, no spaces. */
static bool parse_bytes(const char *text, size_t *bytes)
{
	size_t value = 0;
	if (*text == '\0' || strlen(text) > 4)
		return false;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		value = value * 10 + (size_t)(*p - '0');
	}
	*bytes = value;
	return value >= KEY_BYTES_MIN && value <= KEY_BYTES_MAX;
}

bool key_spec_parse(const char *text, struct key_spec *spec, char *why,
                    size_t why_size)
{
	char copy[KEY_NAME_MAX + 32];
	if (strlen(text) >= sizeof copy) {
		snprintf(why, why_size, "key spec is too long");
		return false;
	}
	strcpy(copy, text);

	char *name = copy;
	char *format = strchr(name, ':');
	char *bytes = NULL;
	if (format) {
		*format++ = '\0';
		bytes = strchr(format, ':');
		if (bytes)
			*bytes++ = '\0';
	}

	if (!key_name_is_valid(name)) {
		snprintf(why, why_size,
		         "'%s' is not a valid variable name (letters, digits, _; at most %d)",
		         name, KEY_NAME_MAX);
		return false;
	}
	memset(spec, 0, sizeof *spec);
	strcpy(spec->name, name);
	spec->format = FORMAT_BASE64;
	spec->bytes = 32;
	spec->accept = ACCEPT_CANONICAL;
	if (format && !format_from_name(format, &spec->format)) {
		snprintf(why, why_size, "%s: unknown format '%s' (%s)", name, format,
		         format_names());
		return false;
	}
	if (bytes && !parse_bytes(bytes, &spec->bytes)) {
		snprintf(why, why_size, "%s: size '%s' is not a number of bytes from %d to %d",
		         name, bytes, KEY_BYTES_MIN, KEY_BYTES_MAX);
		return false;
	}
	return true;
}

bool key_value_valid(const struct key_spec *spec, const char *text, size_t len)
{
	return accept_value(spec->accept, spec->format, spec->bytes, text, len);
}

void key_spec_describe(const struct key_spec *spec, char *out, size_t size)
{
	accept_describe(spec->accept, spec->format, spec->bytes, out, size);
}

const char *key_class_name(enum key_class key_class)
{
	return key_class == KEY_CLASS_DATA ? "data" : key_class == KEY_CLASS_SESSION ? "session" : "-";
}

/* True when a's second name (own.alias) is b's name: both would be
 * exported under it, with two values. */
static bool alias_is(const struct key_spec *a, const struct key_spec *b)
{
	return a->own.alias && strcmp(a->own.alias, b->name) == 0;
}

bool key_list_add(struct key_list *list, const struct key_spec *spec,
                  char *why, size_t why_size)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct key_spec *old = &list->specs[i];
		if (alias_is(old, spec) || alias_is(spec, old)) {
			const struct key_spec *named = alias_is(old, spec) ? old : spec;
			snprintf(why, why_size,
			         "%s is also exported as %s, which is asked for too; ask for %s alone",
			         named->name, named->own.alias, named->name);
			return false;
		}
		if (strcmp(old->name, spec->name) != 0)
			continue;
		if (old->format == spec->format && old->bytes == spec->bytes)
			return true;
		snprintf(why, why_size, "%s is asked for twice, as %s:%zu and as %s:%zu",
		         spec->name, format_name(old->format), old->bytes,
		         format_name(spec->format), spec->bytes);
		return false;
	}
	if (list->count == KEYS_MAX) {
		snprintf(why, why_size, "more than %d keys", KEYS_MAX);
		return false;
	}
	list->specs[list->count++] = *spec;
	return true;
}

bool key_list_add_spec(const char *item, struct key_list *list, char *why,
                       size_t why_size)
{
	struct key_spec spec;
	return key_spec_parse(item, &spec, why, why_size) &&
	       key_list_add(list, &spec, why, why_size);
}

bool key_list_add_csv(const char *csv, key_list_adder add, struct key_list *list,
                      char *why, size_t why_size)
{
	char item[KEY_NAME_MAX + 32];
	if (!*csv)
		return true;
	for (const char *start = csv, *comma;; start = comma + 1) {
		comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		if (len == 0) {
			snprintf(why, why_size, "empty item in a comma-separated list");
			return false;
		}
		if (len >= sizeof item) {
			snprintf(why, why_size, "item too long in a comma-separated list");
			return false;
		}
		memcpy(item, start, len);
		item[len] = '\0';
		if (!add(item, list, why, why_size))
			return false;
		if (!comma)
			return true;
	}
}
