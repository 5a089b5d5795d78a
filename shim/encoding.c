/* encoding.c - see encoding.h. A new format is a row of `formats`. */
#include "encoding.h"

#include <sodium.h>
#include <string.h>

struct format {
	const char *name;
	int variant; /* libsodium's base64 variant; unused by hex */
	const char *prefix; /* fixed text before the base64 ("" for none) */
	size_t (*text_len)(const struct format *f, size_t bytes);
	void (*encode)(const struct format *f, const unsigned char *raw,
	               size_t bytes, char *text, size_t size);
	/* Decode all of text[0..len) into exactly `bytes` bytes. */
	bool (*decode)(const struct format *f, const char *text, size_t len,
	               unsigned char *raw, size_t bytes);
};

static size_t base64_len(const struct format *f, size_t bytes)
{
	/* libsodium counts the terminating NUL */
	return strlen(f->prefix) + sodium_base64_encoded_len(bytes, f->variant) - 1;
}

static void base64_encode(const struct format *f, const unsigned char *raw,
                          size_t bytes, char *text, size_t size)
{
	size_t skip = strlen(f->prefix);
	memcpy(text, f->prefix, skip);
	sodium_bin2base64(text + skip, size - skip, raw, bytes, f->variant);
}

static bool base64_decode(const struct format *f, const char *text, size_t len,
                          unsigned char *raw, size_t bytes)
{
	size_t decoded = 0, skip = strlen(f->prefix);
	const char *end = NULL;
	return len >= skip && memcmp(text, f->prefix, skip) == 0 &&
	       sodium_base642bin(raw, bytes, text + skip, len - skip, NULL, &decoded,
	                         &end, f->variant) == 0 &&
	       end == text + len && decoded == bytes;
}

static size_t hex_len(const struct format *f, size_t bytes)
{
	(void)f;
	return 2 * bytes;
}

static void hex_encode(const struct format *f, const unsigned char *raw,
                       size_t bytes, char *text, size_t size)
{
	(void)f;
	sodium_bin2hex(text, size, raw, bytes);
}

static bool hex_decode(const struct format *f, const char *text, size_t len,
                       unsigned char *raw, size_t bytes)
{
	(void)f;
	size_t decoded = 0;
	const char *end = NULL;
	return sodium_hex2bin(raw, bytes, text, len, NULL, &decoded, &end) == 0 &&
	       end == text + len && decoded == bytes;
}

#define BASE64(variant) variant, "", base64_len, base64_encode, base64_decode

static const struct format formats[FORMAT_COUNT] = {
	[FORMAT_BASE64] = { "base64", BASE64(sodium_base64_VARIANT_ORIGINAL) },
	[FORMAT_BASE64URL] = { "base64url", BASE64(sodium_base64_VARIANT_URLSAFE) },
	[FORMAT_HEX] = { "hex", 0, "", hex_len, hex_encode, hex_decode },
	[FORMAT_BASE64URL_RAW] = { "base64url-raw",
	                           BASE64(sodium_base64_VARIANT_URLSAFE_NO_PADDING) },
	/* Laravel's APP_KEY as `php artisan key:generate` writes it */
	[FORMAT_LARAVEL] = { "laravel", sodium_base64_VARIANT_ORIGINAL, "base64:",
	                     base64_len, base64_encode, base64_decode },
};

bool format_from_name(const char *name, enum key_format *format)
{
	for (size_t i = 0; i < FORMAT_COUNT; i++) {
		if (strcmp(name, formats[i].name) == 0) {
			*format = (enum key_format)i;
			return true;
		}
	}
	return false;
}

const char *format_name(enum key_format format) { return formats[format].name; }

const char *format_names(void)
{
	static char list[128];
	if (!list[0])
		for (size_t i = 0; i < FORMAT_COUNT; i++) {
			if (i > 0)
				strcat(list, i + 1 < FORMAT_COUNT ? ", " : " or ");
			strcat(list, formats[i].name);
		}
	return list;
}

size_t format_text_len(enum key_format format, size_t bytes)
{
	return formats[format].text_len(&formats[format], bytes);
}

void format_encode(enum key_format format, const unsigned char *raw,
                   size_t bytes, char *text)
{
	const struct format *f = &formats[format];
	f->encode(f, raw, bytes, text, f->text_len(f, bytes) + 1);
}

size_t format_create(enum key_format format, size_t bytes, char *text)
{
	unsigned char raw[KEY_BYTES_MAX];
	randombytes_buf(raw, bytes);
	format_encode(format, raw, bytes, text);
	sodium_memzero(raw, sizeof raw);
	return format_text_len(format, bytes);
}

bool format_is_valid(enum key_format format, const char *text, size_t len,
                     size_t bytes)
{
	const struct format *f = &formats[format];
	if (bytes < KEY_BYTES_MIN || bytes > KEY_BYTES_MAX ||
	    len != f->text_len(f, bytes))
		return false;

	unsigned char raw[KEY_BYTES_MAX];
	char again[KEY_TEXT_MAX + 1];
	bool valid = f->decode(f, text, len, raw, bytes);
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
