/* accept.h - which values of a key keyshim accepts from outside (NAME,
 * NAME_FILE, the service's own configuration, a key file it adopted):
 * what the service itself accepts, which is often more than the canonical
 * form keyshim creates. Pure functions; the fuzzers reach them. */
#ifndef KEYSHIM_ACCEPT_H
#define KEYSHIM_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include "encoding.h"

enum accept_rule {
	ACCEPT_CANONICAL,   /* exactly the created form: FORMAT of BYTES (-k keys) */
	ACCEPT_AES_BASE64,  /* standard base64 of 16, 24 or 32 bytes (Go's AES keys) */
	ACCEPT_BASE64,      /* standard base64 of 1 byte or more (an HMAC key) */
	ACCEPT_FERNET,      /* 32 bytes, padded base64 in either alphabet */
	ACCEPT_HS512_SECRET, /* any non-empty single line; short of 64 bytes warns */
	/* Rules of the services in presets.c, each cited there. */
	ACCEPT_LINE,        /* any non-empty single line (a passphrase the service hashes) */
	ACCEPT_ASCII_LINE,  /* a non-empty single line of ASCII (n8n's latin1 passphrase) */
	ACCEPT_LINE_16,     /* a single line of 16 characters or more (Metabase) */
	ACCEPT_LINE_32,     /* a single line of 32 bytes or more (Phoenix secret_key_base) */
	ACCEPT_HEX_32,      /* 64 hex digits, either case: Node's Buffer.from(key, "hex") of 32 */
	ACCEPT_LARAVEL,     /* "base64:" + standard base64 of 32 bytes, or 32 raw bytes */
	ACCEPT_GRAFANA,     /* any non-empty single line without ${...} or $__NAME{...} (Grafana expands them) */
	ACCEPT_NOT_REFERENCE, /* a line the service does not read as env:// or file:// (authentik) */
	ACCEPT_COUNT
};

/* HS512 wants an HMAC key as long as its digest (RFC 7518 3.2). */
#define HS512_KEY_BYTES 64

const char *accept_rule_name(enum accept_rule rule);

/* True when text[0..len) is a value the rule accepts; format and bytes are
 * the key's created form (ACCEPT_CANONICAL's only criterion). */
bool accept_value(enum accept_rule rule, enum key_format format, size_t bytes,
                  const char *text, size_t len);

/* True when an accepted value is weaker than the created form would be
 * and deserves a warning (never the value: its fingerprint). */
bool accept_value_is_short(enum accept_rule rule, const char *text, size_t len);

/* "a base64 key of 32 bytes", "a Fernet key (base64 of 32 bytes)": what a
 * message says the rule wants. */
void accept_describe(enum accept_rule rule, enum key_format format, size_t bytes,
                     char *out, size_t size);

#endif
