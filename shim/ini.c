/* ini.c - one option out of an INI document, read the way Python's
 * configparser reads airflow.cfg for Airflow, or the way go-ini reads
 * grafana.ini and Gitea's app.ini; see conffile.h.
 *
 * One pass over the lines follows RawConfigParser._read (Python 3.11)
 * line by line and records every section and option, so that duplicates
 * anywhere are refused as strict=True refuses them; a second step joins
 * the asked option's lines, interpolates and checks the value. The go-ini
 * dialect (parse_go, go_value) follows gopkg.in/ini.v1's parser.go
 * (File.parse, readKeyName, readValue) on the same entries and lookups. */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "utf8.h"

#define NONE SIZE_MAX
#define DEFAULT_SECTION (SIZE_MAX - 1)

struct entry {
	const unsigned char *name;
	size_t name_len;
	size_t section;                 /* options: their section's entry, or DEFAULT_SECTION */
	bool is_section;
	const unsigned char *value;     /* options: the first line's value, stripped */
	size_t value_len;
	const unsigned char *more;      /* options: where continuation lines may start */
	const unsigned char *more_end;  /* ...and the end of the last one, or NULL */
	bool continues;                 /* go-ini: the value goes on past its line */
};

struct ini {
	const unsigned char *p, *end;   /* the next line */
	size_t line;                    /* number of the line last read */
	char *why;
	size_t why_size;
	struct entry *entries;
	size_t count;
	bool go;                        /* go-ini's dialect */
	bool continuation;              /* go-ini: a trailing '\\' continues a value */
};

static bool fail(struct ini *d, const char *reason)
{
	if (d->line)
		snprintf(d->why, d->why_size, "line %zu: %s", d->line, reason);
	else
		snprintf(d->why, d->why_size, "%s", reason);
	return false;
}

/* Python's str.isspace() for ASCII; other whitespace is refused up front. */
static bool space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Go's unicode.IsSpace for ASCII. */
static bool go_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_space(const struct ini *d, unsigned char c)
{
	return d->go ? go_space(c) : space(c);
}

/* Universal newlines: a line ends at \n, \r\n or \r; for go-ini at \n. */
static bool next_line(struct ini *d, const unsigned char **b, const unsigned char **e)
{
	if (d->p >= d->end)
		return false;
	const unsigned char *q = d->p;
	while (q < d->end && *q != '\n' && (d->go || *q != '\r'))
		q++;
	*b = d->p;
	*e = q;
	if (q < d->end && *q == '\r' && q + 1 < d->end && q[1] == '\n')
		q++;
	d->p = q < d->end ? q + 1 : q;
	d->line++;
	return true;
}

static void strip_as(const struct ini *d, const unsigned char **b, const unsigned char **e)
{
	while (*b < *e && is_space(d, **b))
		(*b)++;
	while (*e > *b && is_space(d, (*e)[-1]))
		(*e)--;
}

static void strip(const unsigned char **b, const unsigned char **e)
{
	static const struct ini python = { .go = false };
	strip_as(&python, b, e);
}

static bool same(const unsigned char *a, size_t n, const unsigned char *b, size_t m)
{
	return n == m && memcmp(a, b, n) == 0;
}

static bool same_ignoring_case(const unsigned char *a, size_t n, const char *b)
{
	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* Valid UTF-8 with no whitespace beyond ASCII (U+0085, U+00A0, U+2028,
 * ...: Python strips them, keyshim does not try to). */
static bool check_text(struct ini *d)
{
	const unsigned char *p = d->p;
	size_t line = 1;
	while (p < d->end) {
		uint32_t cp;
		size_t n = utf8_decode(p, (size_t)(d->end - p), &cp);
		d->line = line;
		if (n == 0)
			return fail(d, "invalid UTF-8");
		if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
		    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
			return fail(d, "non-ASCII whitespace");
		line += *p == '\n';
		p += n;
	}
	d->line = 0;
	return true;
}

static bool add(struct ini *d, struct entry e)
{
	/* go-ini merges a repeated section and lets a repeated option's last
	 * value win (find_option takes the last) */
	for (size_t i = 0; !d->go && i < d->count; i++) {
		const struct entry *o = &d->entries[i];
		if (o->is_section == e.is_section && (e.is_section || o->section == e.section) &&
		    same(o->name, o->name_len, e.name, e.name_len))
			return fail(d, e.is_section ? "a section is there twice"
			                            : "an option is there twice in one section");
	}
	if (d->count == INI_MAX_ENTRIES)
		return fail(d, "too many sections and options");
	d->entries[d->count++] = e;
	return true;
}

/* A [name] header: DEFAULT, else a new section entry, or with `merge`
 * (go-ini) the entry already listed under that name. */
static bool enter_section(struct ini *d, const unsigned char *name, size_t len, bool merge,
                          size_t *section)
{
	if (same(name, len, (const unsigned char *)"DEFAULT", 7)) {
		*section = DEFAULT_SECTION;
		return true;
	}
	for (size_t i = 0; merge && i < d->count; i++)
		if (d->entries[i].is_section && same(d->entries[i].name, d->entries[i].name_len, name, len)) {
			*section = i;
			return true;
		}
	struct entry sec = { .name = name, .name_len = len, .is_section = true };
	if (!add(d, sec))
		return false;
	*section = d->count - 1;
	return true;
}

/* Read every line, as RawConfigParser._read does. */
static bool parse(struct ini *d)
{
	size_t section = NONE, option = NONE, indent = 0;
	const unsigned char *b, *e;
	while (next_line(d, &b, &e)) {
		const unsigned char *line = b, *s = b, *t = e;
		strip(&s, &t);
		if (s == t || *s == '#' || *s == ';')
			continue; /* empty, or a comment: values skip comments */
		size_t cur = (size_t)(s - line);
		if (section != NONE && option != NONE && cur > indent) {
			d->entries[option].more_end = e; /* a continuation line */
			continue;
		}
		indent = cur;
		/* configparser's \[(?P<header>.+)\] takes everything up to the
		 * last ']' on the line, and ignores what follows it. */
		const unsigned char *close = t - 1;
		while (close > s && *close != ']')
			close--;
		if (*s == '[' && close - s >= 2) {
			const unsigned char *name = s + 1;
			size_t len = (size_t)(close - name);
			option = NONE;
			if (!enter_section(d, name, len, false, &section))
				return false;
			continue;
		}
		if (section == NONE)
			return fail(d, "no [section] header before the first option");
		const unsigned char *delim = s;
		while (delim < t && *delim != '=' && *delim != ':')
			delim++;
		if (delim == t)
			return fail(d, "neither a [section] header nor a name = value option");
		if (delim == s)
			return fail(d, "an option has no name");
		const unsigned char *nb = s, *ne = delim, *vb = delim + 1, *ve = t;
		strip(&nb, &ne);
		strip(&vb, &ve);
		struct entry opt = {
			.name = nb, .name_len = (size_t)(ne - nb), .section = section,
			.value = vb, .value_len = (size_t)(ve - vb), .more = d->p,
		};
		if (!add(d, opt))
			return false;
		option = d->count - 1;
	}
	return true;
}

/* go-ini's value quotes: triple double quotes or a backquote open a value
 * taken as written; 0 when `v` (left-stripped) starts with neither. go-ini
 * counts the line's newline in the "longer than 3" of `"""`. */
static size_t go_quote(const struct ini *d, const unsigned char *v, const unsigned char *e)
{
	ptrdiff_t n = (e - v) + (e < d->end && *e == '\n');
	if (n > 3 && e - v >= 3 && memcmp(v, "\"\"\"", 3) == 0)
		return 3;
	return v < e && *v == '`' ? 1 : 0;
}

/* The last occurrence of the quote v[0..q) in [b, e), or NULL. */
static const unsigned char *last_quote(const unsigned char *v, size_t q,
                                       const unsigned char *b, const unsigned char *e)
{
	const unsigned char *found = NULL;
	for (const unsigned char *p = b; e - p >= (ptrdiff_t)q; p++)
		if (memcmp(p, v, q) == 0)
			found = p;
	return found;
}

/* The lines a value takes beyond its own (go-ini's readMultilines and
 * readContinuationLines): skipped here, and the value marked. */
static bool skip_go_value_lines(struct ini *d, struct entry *opt)
{
	const unsigned char *v = opt->value, *e = v + opt->value_len, *b, *t;
	while (v < e && go_space(*v))
		v++;
	size_t q = go_quote(d, v, e);
	if (q) {
		if (last_quote(v, q, v + q, e))
			return true;
		opt->continues = true;
		while (next_line(d, &b, &t))
			if (last_quote(v, q, b, t))
				return true;
		return fail(d, "a quoted value is not closed");
	}
	const unsigned char *s = v, *x = e;
	strip_as(d, &s, &x);
	if (!d->continuation || s == x || x[-1] != '\\')
		return true;
	opt->continues = true;
	while (next_line(d, &b, &t)) {
		strip_as(d, &b, &t);
		if (b == t || t[-1] != '\\')
			break;
	}
	return true;
}

/* Read every line, as go-ini's File.parse does. */
static bool parse_go(struct ini *d)
{
	size_t section = DEFAULT_SECTION;
	const unsigned char *b, *e;
	while (next_line(d, &b, &e)) {
		while (b < e && go_space(*b))
			b++;
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			const unsigned char *close = NULL;
			for (const unsigned char *q = b + 1; q < e; q++)
				if (*q == ']')
					close = q;
			if (!close)
				return fail(d, "a [section] header is not closed");
			const unsigned char *name = b + 1;
			size_t len = (size_t)(close - name);
			if (len == 0)
				return fail(d, "a section has no name");
			if (!enter_section(d, name, len, true, &section))
				return false;
			continue;
		}
		if (*b == '"' || *b == '`')
			return fail(d, "an option name is quoted");
		const unsigned char *delim = b;
		while (delim < e && *delim != '=' && *delim != ':')
			delim++;
		if (delim == e)
			return fail(d, "neither a [section] header nor a name = value option");
		const unsigned char *nb = b, *ne = delim;
		strip_as(d, &nb, &ne);
		if (nb == ne)
			return fail(d, "an option has no name");
		struct entry opt = {
			.name = nb, .name_len = (size_t)(ne - nb), .section = section,
			.value = delim + 1, .value_len = (size_t)(e - delim - 1),
		};
		if (!skip_go_value_lines(d, &opt) || !add(d, opt))
			return false;
	}
	return true;
}

/* The entry of section `name` (DEFAULT_SECTION for DEFAULT), NONE when
 * the file has none; refuses one that differs only in letter case. */
static bool find_section(struct ini *d, const char *name, size_t *found)
{
	*found = NONE;
	if (strcmp(name, "DEFAULT") == 0) {
		*found = DEFAULT_SECTION;
		return true;
	}
	for (size_t i = 0; i < d->count; i++) {
		const struct entry *o = &d->entries[i];
		if (!o->is_section)
			continue;
		if (same(o->name, o->name_len, (const unsigned char *)name, strlen(name)))
			*found = i;
		else if (same_ignoring_case(o->name, o->name_len, name))
			return fail(d, "a section name differs from the one asked for only in letter case");
	}
	return true;
}

static bool find_option(struct ini *d, size_t section, const char *name, size_t *found)
{
	*found = NONE;
	for (size_t i = 0; i < d->count; i++) {
		const struct entry *o = &d->entries[i];
		if (o->is_section || o->section != section)
			continue;
		if (same(o->name, o->name_len, (const unsigned char *)name, strlen(name)))
			*found = i;
		else if (same_ignoring_case(o->name, o->name_len, name))
			return fail(d, "an option name differs from the one asked for only in letter case");
	}
	return true;
}

static bool append(struct ini *d, char *out, size_t cap, size_t *len,
                   const unsigned char *bytes, size_t n)
{
	if (n > cap - *len)
		return fail(d, "the value is too long");
	memcpy(out + *len, bytes, n);
	*len += n;
	return true;
}

/* The option's value as configparser's get() returns it: its lines joined
 * with \n, right-stripped, then BasicInterpolation. */
static bool value(struct ini *d, const struct entry *o, char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (!append(d, out, cap, len, o->value, o->value_len))
		return false;
	if (o->more_end) {
		struct ini lines = *d;
		lines.p = o->more;
		lines.end = o->more_end;
		const unsigned char *b, *e;
		while (next_line(&lines, &b, &e)) {
			strip(&b, &e);
			if (b < e && (*b == '#' || *b == ';'))
				continue;
			if (!append(d, out, cap, len, (const unsigned char *)"\n", 1) ||
			    !append(d, out, cap, len, b, (size_t)(e - b)))
				return false;
		}
	}
	while (*len > 0 && space((unsigned char)out[*len - 1]))
		(*len)--;

	size_t w = 0;
	for (size_t r = 0; r < *len; r++) {
		if (out[r] == '%') {
			if (r + 1 < *len && out[r + 1] == '(')
				return fail(d, "the value uses %(name)s interpolation");
			if (r + 1 >= *len || out[r + 1] != '%')
				return fail(d, "the value has a '%' that is not '%%'");
			r++;
		}
		out[w++] = out[r];
	}
	*len = w;

	if (memchr(out, '\0', *len))
		return fail(d, "the value holds a NUL character");
	if (*len > 0 && out[0] == '~')
		return fail(d, "the value starts with '~', which Airflow expands");
	for (size_t i = 0; i + 1 < *len; i++) {
		unsigned char c = (unsigned char)out[i + 1];
		if (out[i] == '$' && (c == '{' || c == '_' || (c >= '0' && c <= '9') ||
		                      ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			return fail(d, "the value holds a $VARIABLE, which Airflow expands");
	}
	return true;
}

/* go-ini's hasSurroundedQuote: `q` first and last, and nowhere between. */
static bool surrounded(const unsigned char *b, const unsigned char *e, unsigned char q)
{
	if (e - b < 2 || b[0] != q || e[-1] != q)
		return false;
	return memchr(b + 1, q, (size_t)(e - b - 2)) == NULL;
}

/* The option's value as go-ini's readValue and Key.String return it. */
static bool go_value(struct ini *d, const struct entry *o, char *out, size_t cap, size_t *len)
{
	const unsigned char *v = o->value, *e = v + o->value_len;
	*len = 0;
	if (o->continues)
		return fail(d, "the value goes on over several lines");
	while (v < e && go_space(*v))
		v++;
	size_t q = go_quote(d, v, e);
	if (q) {
		const unsigned char *close = last_quote(v, q, v + q, e);
		if (!append(d, out, cap, len, v + q, (size_t)(close - v - q)))
			return false;
	} else {
		const unsigned char *x = e;
		strip_as(d, &v, &x);
		const unsigned char *hash = v;
		while (hash < x && *hash != '#' && *hash != ';')
			hash++;
		if (hash < x) { /* an inline comment */
			x = hash;
			strip_as(d, &v, &x);
		}
		if (surrounded(v, x, '\'') || surrounded(v, x, '"')) {
			v++;
			x--;
		}
		if (!append(d, out, cap, len, v, (size_t)(x - v)))
			return false;
	}
	/* Key.String's transformValue replaces %(name)s (up to 99 times) */
	for (size_t i = 0; i + 1 < *len; i++) {
		if (out[i] != '%' || out[i + 1] != '(')
			continue;
		size_t j = i + 2;
		while (j < *len && out[j] != ')')
			j++;
		if (j > i + 2 && j + 1 < *len && out[j + 1] == 's')
			return fail(d, "the value holds a %(name)s reference, which go-ini replaces");
	}
	if (memchr(out, '\0', *len))
		return fail(d, "the value holds a NUL character");
	return true;
}

static enum conf_result get(struct ini d, const char *section, const char *option,
                            char *out, size_t out_size, size_t *out_len)
{
	char *why = d.why;
	size_t why_size = d.why_size;
	const unsigned char *text = d.p;
	enum conf_result result = CONF_MALFORMED;
	size_t sec, opt;

	*out_len = 0;
	if (why_size)
		why[0] = '\0';
	if (out_size == 0) {
		fail(&d, "no room for the value");
		return CONF_MALFORMED;
	}
	out[0] = '\0';
	d.entries = calloc(INI_MAX_ENTRIES, sizeof *d.entries);
	if (!d.entries) {
		fail(&d, "out of memory");
		return CONF_MALFORMED;
	}
	if (!check_text(&d) || !(d.go ? parse_go(&d) : parse(&d)))
		goto done;
	d.line = 0;
	if (!find_section(&d, section, &sec))
		goto done;
	if (sec == NONE) {
		result = CONF_ABSENT;
		goto done;
	}
	if (!find_option(&d, sec, option, &opt))
		goto done;
	/* configparser's sections inherit DEFAULT; go-ini's do not */
	if (opt == NONE && !d.go && sec != DEFAULT_SECTION &&
	    !find_option(&d, DEFAULT_SECTION, option, &opt))
		goto done;
	if (opt == NONE) {
		result = CONF_ABSENT;
		goto done;
	}
	/* Say which line the value starts on. */
	d.line = 1;
	for (const unsigned char *q = text; q < d.entries[opt].value; q++)
		d.line += *q == '\n' || (!d.go && *q == '\r' && (q + 1 == d.end || q[1] != '\n'));
	if (d.go ? go_value(&d, &d.entries[opt], out, out_size - 1, out_len)
	         : value(&d, &d.entries[opt], out, out_size - 1, out_len)) {
		out[*out_len] = '\0';
		result = CONF_FOUND;
	}
done:
	free(d.entries);
	if (result != CONF_FOUND) {
		sodium_memzero(out, out_size);
		*out_len = 0;
	}
	return result;
}

enum conf_result ini_get(const char *text, size_t len, const char *section,
                         const char *option, char *out, size_t out_size,
                         size_t *out_len, char *why, size_t why_size)
{
	struct ini d = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.why = why,
		.why_size = why_size,
	};
	return get(d, section, option, out, out_size, out_len);
}

enum conf_result go_ini_get(const char *text, size_t len, bool continuation,
                            const char *section, const char *option, char *out,
                            size_t out_size, size_t *out_len, char *why,
                            size_t why_size)
{
	static const char bom[] = "\xEF\xBB\xBF";
	struct ini d = {
		.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.why = why,
		.why_size = why_size,
		.go = true,
		.continuation = continuation,
	};
	if (len >= 3 && memcmp(text, bom, 3) == 0)
		d.p += 3;
	return get(d, section, option, out, out_size, out_len);
}
