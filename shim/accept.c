/* accept.c - see accept.h. */
#include "accept.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const rule_names[ACCEPT_COUNT] = {
	[ACCEPT_CANONICAL] = "exact",
	[ACCEPT_AES_BASE64] = "base64-aes",
	[ACCEPT_BASE64] = "base64-any",
	[ACCEPT_FERNET] = "fernet",
	[ACCEPT_HS512_SECRET] = "line",
};

const char *accept_rule_name(enum accept_rule rule) { return rule_names[rule]; }

/* Standard padded base64 of all of text, into at most `max` bytes. */
static bool base64_bytes(const char *text, size_t len, size_t max, size_t *bytes)
{
	unsigned char raw[KEY_BYTES_MAX];
	const char *end = NULL;
	*bytes = 0;
	/* libsodium 1.0.18 takes any byte from 0x80 up for a base64 digit
	 * (found by the key_text fuzzer's naive oracle): refuse them first */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80)
			return false;
	bool ok = max <= sizeof raw &&
	          sodium_base642bin(raw, max, text, len, NULL, bytes, &end,
	                            sodium_base64_VARIANT_ORIGINAL) == 0 &&
	          end == text + len;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

static bool is_aes_key(const char *text, size_t len)
{
	size_t bytes;
	return base64_bytes(text, len, 32, &bytes) &&
	       (bytes == 16 || bytes == 24 || bytes == 32);
}

static bool is_hmac_key(const char *text, size_t len)
{
	size_t bytes;
	return base64_bytes(text, len, KEY_BYTES_MAX, &bytes) && bytes > 0;
}

/* Python's base64.urlsafe_b64decode maps '-' and '_' to '+' and '/' and
 * decodes what results, so both alphabets (even mixed) make a key;
 * cryptography's Fernet then wants 32 bytes. */
static bool is_fernet_key(const char *text, size_t len)
{
	char mapped[44];
	size_t bytes;
	if (len != sizeof mapped)
		return false;
	for (size_t i = 0; i < len; i++)
		mapped[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	bool ok = base64_bytes(mapped, len, 32, &bytes) && bytes == 32;
	sodium_memzero(mapped, sizeof mapped);
	return ok;
}

/* One line of text as an environment variable or an INI value holds it. */
static bool is_line(const char *text, size_t len)
{
	if (len == 0 || len > KEY_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0' || text[i] == '\n' || text[i] == '\r')
			return false;
	return true;
}

bool accept_value(enum accept_rule rule, enum key_format format, size_t bytes,
                  const char *text, size_t len)
{
	switch (rule) {
	case ACCEPT_CANONICAL:
		return format_is_valid(format, text, len, bytes);
	case ACCEPT_AES_BASE64:
		return is_aes_key(text, len);
	case ACCEPT_BASE64:
		return is_hmac_key(text, len);
	case ACCEPT_FERNET:
		return is_fernet_key(text, len);
	case ACCEPT_HS512_SECRET:
		return is_line(text, len);
	case ACCEPT_COUNT:
		break;
	}
	return false;
}

bool accept_value_is_short(enum accept_rule rule, const char *text, size_t len)
{
	(void)text;
	return rule == ACCEPT_HS512_SECRET && len < HS512_KEY_BYTES;
}

void accept_describe(enum accept_rule rule, enum key_format format, size_t bytes,
                     char *out, size_t size)
{
	switch (rule) {
	case ACCEPT_AES_BASE64:
		snprintf(out, size, "an AES key (standard base64 of 16, 24 or 32 bytes)");
		return;
	case ACCEPT_BASE64:
		snprintf(out, size, "a key in standard base64");
		return;
	case ACCEPT_FERNET:
		snprintf(out, size, "a Fernet key (base64 or base64url of 32 bytes, padded)");
		return;
	case ACCEPT_HS512_SECRET:
		snprintf(out, size, "a secret (one line, not empty)");
		return;
	case ACCEPT_CANONICAL:
	case ACCEPT_COUNT:
		break;
	}
	snprintf(out, size, "a %s key of %zu bytes", format_name(format), bytes);
}
