/* accept.c - see accept.h. */
#include "accept.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "svcform.h"

static const char *const rule_names[ACCEPT_COUNT] = {
	[ACCEPT_CANONICAL] = "exact",
	[ACCEPT_AES_BASE64] = "base64-aes",
	[ACCEPT_BASE64] = "base64-any",
	[ACCEPT_FERNET] = "fernet",
	[ACCEPT_HS512_SECRET] = "line",
	[ACCEPT_LINE] = "any",
	[ACCEPT_ASCII_LINE] = "ascii",
	[ACCEPT_LINE_16] = "16-chars",
	[ACCEPT_LINE_32] = "32-bytes",
	[ACCEPT_HEX_32] = "hex-32",
	[ACCEPT_LARAVEL] = "laravel",
	[ACCEPT_GRAFANA] = "grafana",
	[ACCEPT_NOT_REFERENCE] = "any-not-uri",
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

static bool is_ascii_line(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] >= 0x80)
			return false;
	return is_line(text, len);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t characters(const char *text, size_t len)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		count += ((unsigned char)text[i] & 0xC0) != 0x80;
	return count;
}

/* Node's Buffer.from(key, "hex") reads either case; it stops silently at
 * the first non-hex digit, so every character is checked here. */
static bool is_hex_32(const char *text, size_t len)
{
	unsigned char raw[32];
	size_t decoded = 0;
	const char *end = NULL;
	bool ok = len == 64 &&
	          sodium_hex2bin(raw, sizeof raw, text, len, NULL, &decoded, &end) == 0 &&
	          end == text + len && decoded == sizeof raw;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

/* Laravel's EncryptionServiceProvider::parseKey: a value that starts with
 * "base64:" is base64-decoded, any other is the key itself; Encrypter::
 * supported wants 32 bytes for AES-256 (its default cipher). */
static bool is_laravel_key(const char *text, size_t len)
{
	static const char prefix[] = "base64:";
	size_t bytes;
	if (len > sizeof prefix - 1 && memcmp(text, prefix, sizeof prefix - 1) == 0)
		return base64_bytes(text + sizeof prefix - 1, len - (sizeof prefix - 1),
		                    32, &bytes) && bytes == 32;
	return len == 32 && is_line(text, len);
}

static bool word_character(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Grafana's pkg/setting/expanders.go replaces what its regular expression
 * \$(|__\w+){([^}]+)} matches, in every value, the environment's too:
 * ${VAR}, $__env{VAR}, $__file{PATH}, $__vault{...}. keyshim cannot know
 * what they give, and the service would not see the value keyshim kept. */
static bool grafana_expands(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '$')
			continue;
		size_t brace = i + 1;
		if (brace + 1 < len && text[brace] == '_' && text[brace + 1] == '_') {
			size_t end = brace + 2;
			while (end < len && word_character(text[end]))
				end++;
			if (end == brace + 2)
				continue;
			brace = end;
		}
		if (brace >= len || text[brace] != '{')
			continue;
		const char *close = memchr(text + brace + 1, '}', len - brace - 1);
		if (close && close > text + brace + 1)
			return true;
	}
	return false;
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
	case ACCEPT_LINE:
		return is_line(text, len);
	case ACCEPT_ASCII_LINE:
		return is_ascii_line(text, len);
	case ACCEPT_LINE_16:
		return is_line(text, len) && characters(text, len) >= 16;
	case ACCEPT_LINE_32:
		return is_line(text, len) && len >= 32;
	case ACCEPT_HEX_32:
		return is_hex_32(text, len);
	case ACCEPT_LARAVEL:
		return is_laravel_key(text, len);
	case ACCEPT_GRAFANA:
		return is_line(text, len) && !grafana_expands(text, len);
	case ACCEPT_NOT_REFERENCE: {
		struct svcform_ref ref;
		svcform_reference(text, len, &ref);
		return is_line(text, len) && ref.kind == SVCFORM_PLAIN;
	}
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
	case ACCEPT_LINE:
		snprintf(out, size, "a secret (one line, not empty)");
		return;
	case ACCEPT_ASCII_LINE:
		snprintf(out, size, "a secret (one line of ASCII, not empty)");
		return;
	case ACCEPT_LINE_16:
		snprintf(out, size, "a secret (one line of at least 16 characters)");
		return;
	case ACCEPT_LINE_32:
		snprintf(out, size, "a secret (one line of at least 32 bytes)");
		return;
	case ACCEPT_HEX_32:
		snprintf(out, size, "a key of 32 bytes in hex (64 digits)");
		return;
	case ACCEPT_LARAVEL:
		snprintf(out, size, "an APP_KEY (base64: and base64 of 32 bytes, or 32 characters)");
		return;
	case ACCEPT_GRAFANA:
		snprintf(out, size, "a secret (one line, not empty, without ${...} or $__NAME{...}, which Grafana would replace)");
		return;
	case ACCEPT_NOT_REFERENCE:
		snprintf(out, size, "a secret (one line, not empty, not an env:// or file:// reference)");
		return;
	case ACCEPT_CANONICAL:
	case ACCEPT_COUNT:
		break;
	}
	snprintf(out, size, "a %s key of %zu bytes", format_name(format), bytes);
}
