/* utf8.h - strict UTF-8 decoding for the configuration-file readers. */
#ifndef KEYSHIM_UTF8_H
#define KEYSHIM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the code point at p[0..n): returns its length in bytes (1-4) and
 * stores it in *cp, or 0 when the bytes are not well-formed UTF-8 (as
 * Python's and Go's strict decoders see it: no overlong forms, no
 * surrogates, nothing above U+10FFFF, nothing cut short). */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Encode cp (not a surrogate, at most U+10FFFF) into out[0..4); returns
 * the length. */
size_t utf8_encode(uint32_t cp, unsigned char out[4]);

#endif
