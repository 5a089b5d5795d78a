/* presets.c - see presets.h.
 *
 * Every row below is read from the service's own source, cited beside it
 * (see also README, "Presets"): the form it decodes (what keyshim creates
 * and what it accepts from outside), what the key protects (its class),
 * and where the service keeps a key of its own. */
#include "presets.h"

#include <string.h>

/* Semaphore UI (semaphoreui/semaphore). deployment/docker/server/
 * server-wrapper: SEMAPHORE_CONFIG_PATH defaults to /etc/semaphore, runs
 * `semaphore setup` when $SEMAPHORE_CONFIG_PATH/config.json is missing and
 * then `semaphore server --config $SEMAPHORE_CONFIG_PATH/config.json`.
 * util/config.go: ConfigInit loads that file, then the environment (which
 * wins), from the JSON fields access_key_encryption, cookie_hash and
 * cookie_encryption (env SEMAPHORE_ACCESS_KEY_ENCRYPTION, ..._COOKIE_HASH,
 * ..._COOKIE_ENCRYPTION). */
static const struct service_conf semaphore_config = {
	.label = "config.json", .syntax = CONF_JSON,
	.places = { { "SEMAPHORE_CONFIG_PATH", "/config.json" }, { NULL, "/etc/semaphore/config.json" } },
	/* Where keyshim cannot follow (issue 12, found upstream; util/config.go,
	 * 2.20 line): loadConfigFile also looks for config.yaml and config.yml
	 * in the same directories and decodes YAML; an `encryption` object
	 * (encryption.keys_file, env SEMAPHORE_ENCRYPTION_KEYS_FILE) points at
	 * a keyring that holds the data keys instead; option_encryption (env
	 * SEMAPHORE_OPTION_ENCRYPTION) encrypts the options stored in the
	 * database, and keyshim does not keep it: the file is its only copy. */
	.instead = { "config.yaml", "config.yml" },
	.unreadable = { { "encryption", "SEMAPHORE_ENCRYPTION_KEYS_FILE",
	    "a keyring of data keys (encryption.keys_file)",
	    "keep Semaphore's keyring and give keyshim only the cookie keys: -k SEMAPHORE_COOKIE_HASH -k SEMAPHORE_COOKIE_ENCRYPTION" },
	  { "option_encryption", NULL, "the key of the options stored encrypted in the database",
	    "give it as SEMAPHORE_OPTION_ENCRYPTION in the environment and remove it from the file" } },
};

/* Apache Airflow (apache/airflow). airflow-core/src/airflow/configuration.py:
 * the file is $AIRFLOW_CONFIG, else $AIRFLOW_HOME/airflow.cfg (the official
 * image sets AIRFLOW_HOME=/opt/airflow); conf.get looks at
 * AIRFLOW__SECTION__KEY first, then AIRFLOW__SECTION__KEY_CMD and
 * AIRFLOW__SECTION__KEY_SECRET (sensitive options only: fernet_key,
 * jwt_secret and secret_key are), then the file, read by configparser. */
static const struct service_conf airflow_config = {
	.label = "airflow.cfg", .syntax = CONF_INI,
	.places = { { "AIRFLOW_CONFIG", "" }, { "AIRFLOW_HOME", "/airflow.cfg" }, { NULL, "/opt/airflow/airflow.cfg" } },
};

#define SEMAPHORE(field) { &semaphore_config, NULL, field, false, NULL, NULL }
#define AIRFLOW(section, option) { &airflow_config, section, option, true, NULL, NULL }

/* Semaphore: util/config.go ConfigInit decodes cookie_hash and
 * cookie_encryption with base64.StdEncoding.DecodeString into
 * securecookie.New(hash, block): an HMAC key of any length and an AES key.
 * util/encryption.go: access_key_encryption, base64.StdEncoding-decoded,
 * feeds aes.NewCipher + cipher.NewGCM: 16, 24 or 32 bytes (2.20 checks it
 * at start: "AES requires 16, 24, or 32 bytes"). setup (GenerateSecrets)
 * makes each from securecookie.GenerateRandomKey(32); release notes v2.8.34
 * say `head -c32 /dev/urandom | base64`. The access key encrypts stored SSH
 * keys and passwords (data); the cookie keys only sessions. */
static const struct key_spec semaphore_keys[] = {
	{ "SEMAPHORE_ACCESS_KEY_ENCRYPTION", FORMAT_BASE64, 32, ACCEPT_AES_BASE64,
	  KEY_CLASS_DATA, SEMAPHORE("access_key_encryption") },
	{ "SEMAPHORE_COOKIE_HASH", FORMAT_BASE64, 32, ACCEPT_BASE64,
	  KEY_CLASS_SESSION, SEMAPHORE("cookie_hash") },
	{ "SEMAPHORE_COOKIE_ENCRYPTION", FORMAT_BASE64, 32, ACCEPT_AES_BASE64,
	  KEY_CLASS_SESSION, SEMAPHORE("cookie_encryption") },
};

/* Airflow, both majors: [core] fernet_key encrypts connections and
 * variables in the database (data). cryptography's Fernet
 * (src/cryptography/fernet.py) takes base64.urlsafe_b64decode(key), which
 * also reads '+' and '/', and wants 32 bytes; generate_key is
 * urlsafe_b64encode(os.urandom(32)), padded. */
#define AIRFLOW_FERNET                                                       \
	{ "AIRFLOW__CORE__FERNET_KEY", FORMAT_BASE64URL, 32, ACCEPT_FERNET,  \
	  KEY_CLASS_DATA, AIRFLOW("core", "fernet_key") }

/* Airflow 3. [api_auth] jwt_secret: api_fastapi/auth/tokens.py hands the
 * string itself to PyJWT and signs with HS512 unless [api_auth]
 * jwt_algorithm says otherwise; PyJWT (jwt/algorithms.py) warns when an
 * HMAC key is shorter than the digest, 64 bytes. [api] secret_key (since
 * 3.0.2; [webserver] before) signs the log-fetch tokens with
 * JWTGenerator(..., algorithm="HS512", audience="task-instance-logs"), so
 * 64 bytes too; Airflow's own default is b64encode(os.urandom(16)), the
 * Helm chart's randAlphaNum 32: any string. Both only sign tokens.
 * 3.0.0 and 3.0.1 read [webserver] secret_key only; 3.0.2+ move it to
 * [api] and still fall back to the old name (the shared configuration
 * parser's deprecated_options: env AIRFLOW__API__SECRET_KEY, then env
 * AIRFLOW__WEBSERVER__SECRET_KEY, then [api] secret_key, then [webserver]
 * secret_key). keyshim reads them in that order and exports the key under
 * both names, so every release sees the one value. */
static const struct key_spec airflow_keys[] = {
	AIRFLOW_FERNET,
	{ "AIRFLOW__API_AUTH__JWT_SECRET", FORMAT_BASE64, 64, ACCEPT_HS512_SECRET,
	  KEY_CLASS_SESSION, AIRFLOW("api_auth", "jwt_secret") },
	{ "AIRFLOW__API__SECRET_KEY", FORMAT_BASE64, 64, ACCEPT_HS512_SECRET,
	  KEY_CLASS_SESSION, { &airflow_config, "api", "secret_key", true, "webserver",
	                       "AIRFLOW__WEBSERVER__SECRET_KEY" } },
};

/* Airflow 2: the webserver's Flask secret_key, [webserver]; any string. */
static const struct key_spec airflow2_keys[] = {
	AIRFLOW_FERNET,
	{ "AIRFLOW__WEBSERVER__SECRET_KEY", FORMAT_BASE64, 32, ACCEPT_HS512_SECRET,
	  KEY_CLASS_SESSION, AIRFLOW("webserver", "secret_key") },
};

struct preset {
	const char *name;
	const struct key_spec *keys;
	size_t count;
};

#define PRESET(name, keys) { name, keys, sizeof keys / sizeof keys[0] }

static const struct preset presets[] = {
	PRESET("semaphore", semaphore_keys),
	PRESET("airflow", airflow_keys),
	PRESET("airflow2", airflow2_keys),
};

#define PRESET_COUNT (sizeof presets / sizeof presets[0])

/* Values upstream published in files people copy: whoever has the file can
 * decrypt what such a key protects. By fingerprint (`printf %s VALUE |
 * b2sum -l 64`), never by value. */
static const struct published {
	const char *name;
	const char *fingerprint;
	const char *where;
} published[] = {
	{ "SEMAPHORE_ACCESS_KEY_ENCRYPTION", "10d36f849e041eca",
	  "Semaphore's deployment/compose/server/base.yml" },
	{ "SEMAPHORE_ACCESS_KEY_ENCRYPTION", "cdcd2c925affcdb8",
	  "Semaphore's documented docker-compose example" },
	{ "AIRFLOW__API_AUTH__JWT_SECRET", "146915674abba0c7",
	  "Airflow's official docker-compose.yaml (airflow_jwt_secret)" },
};

const char *published_value_source(const char *name, const char *fp)
{
	for (size_t i = 0; i < sizeof published / sizeof published[0]; i++)
		if (strcmp(published[i].name, name) == 0 &&
		    strcmp(published[i].fingerprint, fp) == 0)
			return published[i].where;
	return NULL;
}

const char *preset_names(void)
{
	static char list[256];
	if (!list[0])
		for (size_t i = 0; i < PRESET_COUNT; i++) {
			if (i > 0)
				strcat(list, i + 1 < PRESET_COUNT ? ", " : " or ");
			strcat(list, presets[i].name);
		}
	return list;
}

bool preset_add(const char *name, struct key_list *list, char *why,
                size_t why_size)
{
	for (size_t i = 0; i < PRESET_COUNT; i++) {
		const struct preset *preset = &presets[i];
		if (strcmp(preset->name, name) != 0)
			continue;
		for (size_t k = 0; k < preset->count; k++)
			if (!key_list_add(list, &preset->keys[k], why, why_size))
				return false;
		return true;
	}
	snprintf(why, why_size, "unknown preset '%s' (known: %s)", name,
	         preset_names());
	return false;
}

/* "config.json:access_key_encryption", "airflow.cfg:[core]fernet_key",
 * then where older releases kept it ("[webserver]secret_key") and
 * ",_CMD,_SECRET" when the service reads those too; "-" for none. */
static void print_origin(FILE *out, const struct key_origin *own)
{
	if (!own->conf) {
		fputs("-", out);
		return;
	}
	fprintf(out, "%s:", own->conf->label);
	if (own->section)
		fprintf(out, "[%s]", own->section);
	fputs(own->field, out);
	if (own->old_section)
		fprintf(out, ",[%s]%s", own->old_section, own->field);
	if (own->cmd_secret)
		fputs(",_CMD,_SECRET", out);
}

void presets_print(FILE *out)
{
	for (size_t i = 0; i < PRESET_COUNT; i++)
		for (size_t k = 0; k < presets[i].count; k++) {
			const struct key_spec *key = &presets[i].keys[k];
			fprintf(out, "%s %s %s %zu %s %s ", presets[i].name, key->name,
			        format_name(key->format), key->bytes,
			        key_class_name(key->key_class), accept_rule_name(key->accept));
			print_origin(out, &key->own);
			fputc('\n', out);
		}
}
