/* encoding.h - the text forms a key takes in its file and in the environment,
 * strict decoding, and fingerprints. Each format is one row of a table in
 * encoding.c (name, text length, encode, strict decode); all of it is
 * libsodium's own code. */
#ifndef KEYSHIM_ENCODING_H
#define KEYSHIM_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

enum key_format {
	FORMAT_BASE64,       /* standard alphabet, padded: `head -c32 /dev/urandom | base64` */
	FORMAT_BASE64URL,    /* URL-safe alphabet, padded: what Fernet keys are */
	FORMAT_HEX,          /* lower-case hex */
	FORMAT_BASE64URL_RAW, /* URL-safe alphabet, no padding (JWK, Node's base64url) */
	FORMAT_LARAVEL,      /* "base64:" then standard padded base64: Laravel's APP_KEY */
	FORMAT_COUNT
};

#define KEY_BYTES_MIN 16
#define KEY_BYTES_MAX 1024
/* The longest text form: hex, two characters a byte. */
#define KEY_TEXT_MAX (2 * KEY_BYTES_MAX)
/* A fingerprint: 16 hex digits of an 8-byte BLAKE2b, and a NUL. */
#define FINGERPRINT_SIZE 17

bool format_from_name(const char *name, enum key_format *format);
const char *format_name(enum key_format format);
/* "base64, base64url, hex or base64url-raw": for usage messages. */
const char *format_names(void);

/* The exact length of the text form of `bytes` random bytes. */
size_t format_text_len(enum key_format format, size_t bytes);

/* Encode raw[0..bytes) into text, NUL-terminated; text has room for
 * format_text_len(format, bytes) + 1 characters. */
void format_encode(enum key_format format, const unsigned char *raw,
                   size_t bytes, char *text);

/* A new key: `bytes` bytes of libsodium's randomness in the text form;
 * returns its length. */
size_t format_create(enum key_format format, size_t bytes, char *text);

/* True when text[0..len) is the canonical text form of exactly `bytes`
 * bytes: right length, right alphabet, right padding, no trailing junk,
 * and it encodes back to the same characters. */
bool format_is_valid(enum key_format format, const char *text, size_t len,
                     size_t bytes);

/* BLAKE2b with an 8-byte output over the exported text, in hex: the same
 * as `printf %s VALUE | b2sum -l 64`. Safe to print; the value is not. */
void fingerprint(const char *text, size_t len, char out[FINGERPRINT_SIZE]);

#endif
