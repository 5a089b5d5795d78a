/* encoding.c - see encoding.h. */
#include "encoding.h"

#include <sodium.h>
#include <string.h>

static const char *const format_names[] = {
	[FORMAT_BASE64] = "base64",
	[FORMAT_BASE64URL] = "base64url",
	[FORMAT_HEX] = "hex",
};

bool format_from_name(const char *name, enum key_format *format)
{
	for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*format = (enum key_format)i;
			return true;
		}
	}
	return false;
}

const char *format_name(enum key_format format) { return format_names[format]; }

static int base64_variant(enum key_format format)
{
	return format == FORMAT_BASE64URL ? sodium_base64_VARIANT_URLSAFE
	                                  : sodium_base64_VARIANT_ORIGINAL;
}

size_t format_text_len(enum key_format format, size_t bytes)
{
	if (format == FORMAT_HEX)
		return 2 * bytes;
	/* libsodium counts the terminating NUL */
	return sodium_base64_encoded_len(bytes, base64_variant(format)) - 1;
}

void format_encode(enum key_format format, const unsigned char *raw,
                   size_t bytes, char *text)
{
	size_t size = format_text_len(format, bytes) + 1;
	if (format == FORMAT_HEX)
		sodium_bin2hex(text, size, raw, bytes);
	else
		sodium_bin2base64(text, size, raw, bytes, base64_variant(format));
}

static bool decodes_to_exactly(enum key_format format, const char *text,
                               size_t len, unsigned char *raw, size_t bytes)
{
	size_t decoded = 0;
	const char *end = NULL;
	int rc = format == FORMAT_HEX
	    ? sodium_hex2bin(raw, bytes, text, len, NULL, &decoded, &end)
	    : sodium_base642bin(raw, bytes, text, len, NULL, &decoded, &end,
	                        base64_variant(format));
	return rc == 0 && end == text + len && decoded == bytes;
}

bool format_is_valid(enum key_format format, const char *text, size_t len,
                     size_t bytes)
{
	if (bytes < KEY_BYTES_MIN || bytes > KEY_BYTES_MAX ||
	    len != format_text_len(format, bytes))
		return false;

	unsigned char raw[KEY_BYTES_MAX];
	char again[KEY_TEXT_MAX + 1];
	bool valid = decodes_to_exactly(format, text, len, raw, bytes);
	if (valid) {
		/* Only the canonical form: rejects upper-case hex and stray
		 * bits in base64 padding, which decode but do not round-trip. */
		format_encode(format, raw, bytes, again);
		valid = sodium_memcmp(again, text, len) == 0;
	}
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(again, sizeof again);
	return valid;
}

void fingerprint(const char *text, size_t len, char out[FINGERPRINT_SIZE])
{
	unsigned char digest[8];
	crypto_generichash(digest, sizeof digest, (const unsigned char *)text,
	                   len, NULL, 0);
	sodium_bin2hex(out, FINGERPRINT_SIZE, digest, sizeof digest);
}
