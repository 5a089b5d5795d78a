/* keyspec.h - what a key is: its variable name, the text form keyshim
 * creates, the values it accepts, its class, where its service keeps a copy
 * of its own; and the ordered list of keys one run of keyshim keeps. */
#ifndef KEYSHIM_KEYSPEC_H
#define KEYSHIM_KEYSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "accept.h"
#include "encoding.h"

/* Room for NAME_FILE and for the temporary file names built from NAME,
 * well inside NAME_MAX (255). */
#define KEY_NAME_MAX 128
#define KEYS_MAX 64

/* A configuration file where a service keeps keys of its own. */
enum conf_syntax {
	CONF_JSON,
	CONF_INI,         /* configparser (Airflow) */
	CONF_GO_INI,      /* go-ini's defaults (Grafana) */
	CONF_GO_INI_FLAT, /* go-ini without continuation lines (Gitea) */
	/* the whole file is the value, trimmed (Plausible's $CONFIG_DIR/NAME) */
	CONF_WHOLE,
	/* YAML, which keyshim does not read: each place (a PATH/ ending in '/'
	 * is a directory of *.yml files) is a refusal (78) when it exists and
	 * may set `field` (svcform_yaml_may_set); it never gives a value */
	CONF_YAML,
};
struct conf_place {
	const char *variable; /* NULL: `path` alone; else $variable + path */
	const char *path;
};
/* Where the service keeps keys keyshim cannot read (issue 12): when
 * present, keyshim refuses (78) rather than export or create a key that
 * would take their place. */
struct unreadable_keys {
	const char *field;    /* a top-level member of the JSON file, or NULL */
	const char *variable; /* an environment variable, or NULL */
	const char *what;     /* what the service keeps there */
	const char *fix;      /* what the operator does instead */
};
/* A key the service falls back to without a word when none is set
 * anywhere: a value published in its own source (Grafana's defaults.ini,
 * Gitea's setting/security.go). Where the service's data already exists,
 * it was encrypted with that value, and a new key would lose it: keyshim
 * refuses, or with --adopt-published keeps the value (keys.c). The value
 * is public; keyshim writes it only into the key file, never prints it. */
/* A setting that keeps the service's data where keyshim cannot look (a
 * database server): $variable, else [section] option of the service's own
 * file; set (not empty) to anything but `local`, the data may exist. */
struct data_setting {
	const char *variable;
	const char *section, *option;
	const char *local;              /* the value that keeps it in `data`; NULL: none does */
	/* the variable moves data[]'s place itself: when it is set, the file's
	 * option is overridden and does not count */
	bool variable_is_place;
};
struct silent_default {
	const char *name;               /* the key's NAME */
	const char *value;
	/* the service's data: $variable + path, the first whose variable is
	 * set (as conf_place); anything there means data exists */
	struct conf_place data[2];
	struct data_setting elsewhere[4];
	const char *rotate;             /* how to move to a new key with the service's own tool */
};

struct service_conf {
	const char *label;              /* "config.json": names the file in lists */
	enum conf_syntax syntax;
	struct conf_place places[6];    /* the first whose variable is set wins (CONF_YAML: all) */
	bool before_env;                /* the service reads it before NAME (Plausible) */
	/* The service's configuration loader resolves a value env://VAR[?DEFAULT]
	 * or file:///PATH (authentik), in NAME too: keyshim resolves NAME as it
	 * does, and keeps the key, never the reference. */
	bool references;
	/* Node-RED's reading (storage/localfilesystem/util.js readFile): one
	 * leading UTF-8 byte-order mark is skipped, and an empty file means
	 * the one named PATH.backup. */
	bool node_red_reading;
	const char *instead[2];         /* files beside it the service reads when it is missing */
	struct unreadable_keys unreadable[2];
	/* The service's own twin of NAME_FILE for its keys: NAME + this
	 * (Grafana's image reads GF_..._KEY__FILE), read like NAME_FILE and
	 * removed from the service's environment; NULL: none. */
	const char *file_suffix;
	const struct silent_default *silent; /* a key it uses when none is set, or NULL */
	/* INI: [section] FIELD + this holds a file: URI of a file whose
	 * trimmed contents are the key (Gitea's SECRET_KEY_URI); NULL: none */
	const char *uri_suffix;
	/* The image's environment-to-ini (Gitea's, Forgejo's): a variable
	 * PREFIX + SECTION__OPTION[__FILE] sets [section] OPTION of this file
	 * at every start (svcform_ini_env_sets); spellings keyshim does not
	 * read are refused. NULL: none. */
	const char *ini_env_prefixes[2];
	/* Variables the image's first start writes into the file when it does
	 * not exist yet (Gitea's setup: SECRET_KEY, INSTALL_LOCK), refused
	 * then, with the name to give each as instead. */
	struct { const char *variable, *instead; } setup_variables[2];
};

/* What a key protects: stored data (lose the key, lose the data), or only
 * sessions and tokens (lose it, everyone logs in again). */
enum key_class { KEY_CLASS_NONE, KEY_CLASS_DATA, KEY_CLASS_SESSION };

/* Where the service itself looks for the key besides NAME. */
struct key_origin {
	const struct service_conf *conf; /* NULL: no file of its own */
	const char *section;             /* INI section; NULL in JSON */
	const char *field;               /* the field or option */
	bool cmd_secret;                 /* it also runs NAME_CMD / reads NAME_SECRET */
	const char *old_section;         /* INI: where older releases keep the field */
	const char *alias;               /* the name older releases read: exported too, read after NAME */
};

struct key_spec {
	char name[KEY_NAME_MAX + 1];
	enum key_format format;    /* the form keyshim creates */
	size_t bytes;
	enum accept_rule accept;   /* what it takes from outside and from key files */
	enum key_class key_class;
	struct key_origin own;
};

struct key_list {
	size_t count;     /* first: a short list touches one page, not two */
	struct key_spec specs[KEYS_MAX];
};

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool key_name_is_valid(const char *name);

/* Parse "NAME[:FORMAT[:BYTES]]" (defaults base64, 32). On failure returns
 * false with a reason in `why` (which never holds more than the spec). */
bool key_spec_parse(const char *text, struct key_spec *spec, char *why,
                    size_t why_size);

/* True when text[0..len) is a value of this key: its acceptance rule. */
bool key_value_valid(const struct key_spec *spec, const char *text, size_t len);

/* "a base64 key of 32 bytes" and the like, for messages. */
void key_spec_describe(const struct key_spec *spec, char *out, size_t size);

const char *key_class_name(enum key_class key_class);

/* Append a key; a repeated name is fine when the created form is the
 * same (the first spec stays). Returns
 * false with a reason when the name clashes or the list is full. */
bool key_list_add(struct key_list *list, const struct key_spec *spec,
                  char *why, size_t why_size);

/* Adds one item ("NAME[:FORMAT[:BYTES]]" or a preset name) to a list. */
typedef bool (*key_list_adder)(const char *item, struct key_list *list,
                               char *why, size_t why_size);

/* Add "NAME[:FORMAT[:BYTES]]" to the list. */
bool key_list_add_spec(const char *item, struct key_list *list, char *why,
                       size_t why_size);

/* Add every comma-separated item of csv (KEYSHIM_KEYS, KEYSHIM_PRESET);
 * an empty item is a mistake, an empty csv adds nothing. */
bool key_list_add_csv(const char *csv, key_list_adder add, struct key_list *list,
                      char *why, size_t why_size);

#endif
