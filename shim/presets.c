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

/* ---- issue 13: presets of other self-hosted services (one block) ---- */

/* Node-RED (node-red/node-red) packages/node_modules/@node-red/runtime/lib/
 * storage/localfilesystem/settings.js: `_credentialSecret` lives in
 * <userDir>/.config.runtime.json, read by util.js readFile (BOM skipped,
 * empty file -> .backup, unparsable -> {} and a NEW key: keyshim refuses).
 * userDir comes from Node-RED's --userDir: /data in the official image;
 * elsewhere keyshim is told with KEYSHIM_NODE_RED_USER_DIR. */
static const struct service_conf node_red_runtime = {
	.label = ".config.runtime.json", .syntax = CONF_JSON,
	.places = { { "KEYSHIM_NODE_RED_USER_DIR", "/.config.runtime.json" },
	            { NULL, "/data/.config.runtime.json" } },
	.node_red_reading = true,
};

/* n8n (n8n-io/n8n) packages/core/src/instance-settings/instance-settings.ts
 * loadOrCreate: $N8N_USER_FOLDER (default the home directory)/.n8n/config,
 * JSON {"encryptionKey": ...}; the image's home is /home/node. */
static const struct service_conf n8n_config = {
	.label = ".n8n/config", .syntax = CONF_JSON,
	.places = { { "N8N_USER_FOLDER", "/.n8n/config" }, { "HOME", "/.n8n/config" },
	            { NULL, "/home/node/.n8n/config" } },
};

#define NO_OWN { NULL, NULL, NULL, false, NULL, NULL }

/* credentials.js load/decryptCredentials: key = sha256(credentialSecret),
 * any string, aes-256-ctr over flows_cred.json; unset, Node-RED makes
 * randomBytes(32).toString('hex') itself. Data. */
static const struct key_spec node_red_keys[] = {
	{ "NODE_RED_CREDENTIAL_SECRET", FORMAT_HEX, 32, ACCEPT_LINE, KEY_CLASS_DATA,
	  { &node_red_runtime, NULL, "_credentialSecret", false, NULL, NULL } },
};

/* packages/core/src/encryption/aes-256-cbc.ts getKeyAndIv: the key is an
 * OpenSSL passphrase, Buffer.from(key, 'binary') (latin1: ASCII only to be
 * exact); n8n makes randomBytes(24).toString('base64'). Credentials: data. */
static const struct key_spec n8n_keys[] = {
	{ "N8N_ENCRYPTION_KEY", FORMAT_BASE64, 32, ACCEPT_ASCII_LINE, KEY_CLASS_DATA,
	  { &n8n_config, NULL, "encryptionKey", false, NULL, NULL } },
};

/* apache/superset superset/config.py: SECRET_KEY = SUPERSET_SECRET_KEY or
 * CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET; superset/utils/encrypt.py
 * EncryptedType(..., SECRET_KEY, AesEngine): sqlalchemy-utils hashes the
 * string; encrypts database passwords (data). Docs: openssl rand -base64 42. */
static const struct key_spec superset_keys[] = {
	{ "SUPERSET_SECRET_KEY", FORMAT_BASE64, 42, ACCEPT_LINE, KEY_CLASS_DATA, NO_OWN },
};

/* goauthentik/authentik authentik/root/settings.py SECRET_KEY =
 * CONFIG.get("secret_key"): Django's key, and authentik/core/models.py
 * derives User.uid (the OIDC `sub`) from it: data. Docs: openssl rand
 * -base64 60.
 * authentik/lib/config.py (and the Go side, internal/config/config.go,
 * SecretKey, env AUTHENTIK_SECRET_KEY): a value env://VAR[?DEFAULT] is
 * $VAR (else DEFAULT), file:///PATH the file, stripped (parse_uri,
 * parseScheme): keyshim resolves both (.references below). Python
 * decodes AUTHENTIK_* values that parse as JSON (update_from_env).
 * ConfigLoader reads YAML first: authentik/lib/default.yml (the image's),
 * /etc/authentik/config.yml, base_dir (/ in the image: the Dockerfile
 * copies the package to /authentik) /$AUTHENTIK_ENV{.yml,.env.yml,.yaml,
 * .env.yaml} with AUTHENTIK_ENV default "local", then
 * /etc/authentik/config.d/ (*.yml); the environment wins over all of them. */
static const struct service_conf authentik_yaml = {
	.label = "config.yml", .syntax = CONF_YAML, .references = true,
	.places = { { NULL, "/etc/authentik/config.yml" }, { NULL, "/etc/authentik/config.d/" },
	            { NULL, "/local.yml" }, { NULL, "/local.env.yml" },
	            { NULL, "/local.yaml" }, { NULL, "/local.env.yaml" } },
	.unreadable = { { NULL, "AUTHENTIK_ENV", "the name of YAML files it reads from / ($AUTHENTIK_ENV.yml and the like)",
	                  "unset it (keyshim checks the default /local.yml, /local.env.yml, /local.yaml and /local.env.yaml)" } },
};

static const struct key_spec authentik_keys[] = {
	{ "AUTHENTIK_SECRET_KEY", FORMAT_BASE64, 60, ACCEPT_NOT_REFERENCE, KEY_CLASS_DATA,
	  { &authentik_yaml, NULL, "secret_key", false, NULL, NULL } },
};

/* paperless-ngx src/paperless/settings.py: SECRET_KEY =
 * os.getenv("PAPERLESS_SECRET_KEY", <published default>): Django signing
 * of sessions only. */
static const struct key_spec paperless_keys[] = {
	{ "PAPERLESS_SECRET_KEY", FORMAT_BASE64, 32, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
};

/* outline/outline server/env.ts SECRET_KEY, used by server/storage/
 * vaults.ts through sequelize-encrypted as Buffer.from(key, 'hex'), an
 * AES-256 key: 64 hex digits (data: users' jwtSecret, integration tokens);
 * UTILS_SECRET, @IsNotEmpty: a bearer for the cron endpoint. */
static const struct key_spec outline_keys[] = {
	{ "SECRET_KEY", FORMAT_HEX, 32, ACCEPT_HEX_32, KEY_CLASS_DATA, NO_OWN },
	{ "UTILS_SECRET", FORMAT_HEX, 32, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
};

/* metabase/metabase src/metabase/util/encryption.clj
 * validate-and-hash-secret-key: at least 16 characters, PBKDF2-SHA512
 * into AES-256-CBC + HMAC: saved connection details (data). */
static const struct key_spec metabase_keys[] = {
	{ "MB_ENCRYPTION_SECRET_KEY", FORMAT_BASE64, 32, ACCEPT_LINE_16, KEY_CLASS_DATA, NO_OWN },
};

/* langfuse/langfuse packages/shared/src/encryption/encryption.ts:
 * ENCRYPTION_KEY is Buffer.from(key, "hex") of 32 bytes for AES-256-GCM
 * (LLM API keys: data); SALT hashes stored API keys (data); NEXTAUTH_SECRET
 * signs NextAuth sessions. */
static const struct key_spec langfuse_keys[] = {
	{ "ENCRYPTION_KEY", FORMAT_HEX, 32, ACCEPT_HEX_32, KEY_CLASS_DATA, NO_OWN },
	{ "SALT", FORMAT_BASE64, 32, ACCEPT_LINE, KEY_CLASS_DATA, NO_OWN },
	{ "NEXTAUTH_SECRET", FORMAT_BASE64, 32, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
};

/* plausible/analytics config/runtime.exs: SECRET_KEY_BASE must be at least
 * 32 bytes (older releases: 64, so keyshim makes 64); TOTP_VAULT_KEY
 * defaults to a derivation of it, so it is data. TOTP_VAULT_KEY itself is
 * never created (see README).
 * runtime.exs reads every setting with get_var_from_path_or_env(config_dir,
 * NAME), config_dir = CONFIG_DIR or /run/secrets;
 * lib/plausible/helpers/config.ex: when the file config_dir/NAME exists it
 * is File.read! |> String.trim, and the environment is not looked at. */
static const struct service_conf plausible_secret_key_base = {
	.label = "$CONFIG_DIR/SECRET_KEY_BASE", .syntax = CONF_WHOLE,
	.places = { { "CONFIG_DIR", "/SECRET_KEY_BASE" }, { NULL, "/run/secrets/SECRET_KEY_BASE" } },
	.before_env = true,
};

static const struct key_spec plausible_keys[] = {
	{ "SECRET_KEY_BASE", FORMAT_BASE64, 64, ACCEPT_LINE_32, KEY_CLASS_DATA,
	  { &plausible_secret_key_base, NULL, "SECRET_KEY_BASE", false, NULL, NULL } },
};

/* mastodon/mastodon config/initializers/active_record_encryption.rb: the
 * three ACTIVE_RECORD_ENCRYPTION_* strings are required (4.3+) and derive
 * AES-256-GCM keys with PBKDF2 (any string; data: OTP secrets and the
 * like); SECRET_KEY_BASE signs Rails cookies (`rails secret`: 128 hex). */
static const struct key_spec mastodon_keys[] = {
	{ "SECRET_KEY_BASE", FORMAT_HEX, 64, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
	{ "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", FORMAT_HEX, 32, ACCEPT_LINE,
	  KEY_CLASS_DATA, NO_OWN },
	{ "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", FORMAT_HEX, 32, ACCEPT_LINE,
	  KEY_CLASS_DATA, NO_OWN },
	{ "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", FORMAT_HEX, 32, ACCEPT_LINE,
	  KEY_CLASS_DATA, NO_OWN },
};

/* Generic Django (django/django django/core/signing.py): SECRET_KEY is any
 * string; sessions and signed tokens. The variable is the app's; this
 * preset uses the common DJANGO_SECRET_KEY. */
static const struct key_spec django_keys[] = {
	{ "DJANGO_SECRET_KEY", FORMAT_BASE64, 48, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
};

/* Generic Rails (rails/rails activesupport/lib/active_support/
 * key_generator.rb): SECRET_KEY_BASE, any string, PBKDF2 to cookie keys;
 * `rails secret` is hex of 64 bytes. */
static const struct key_spec rails_keys[] = {
	{ "SECRET_KEY_BASE", FORMAT_HEX, 64, ACCEPT_LINE, KEY_CLASS_SESSION, NO_OWN },
};

/* Generic Laravel (laravel/framework src/Illuminate/Encryption/
 * EncryptionServiceProvider.php parseKey, Encrypter.php supported):
 * "base64:" + base64 of 32 bytes, or 32 raw bytes; encrypted casts and
 * cookies (data); `php artisan key:generate` writes the base64: form. */
static const struct key_spec laravel_keys[] = {
	{ "APP_KEY", FORMAT_LARAVEL, 32, ACCEPT_LARAVEL, KEY_CLASS_DATA, NO_OWN },
};

/* ---- issue 13: Grafana (one block) ----
 * grafana/grafana conf/defaults.ini (main, read 2026-11; commented out
 * in conf/sample.ini too): [security] secret_key =
 * SW2YcwTIb9zpOOhoPsMm, used whenever nothing else sets it. pkg/setting/setting.go loadConfiguration:
 * defaults.ini, then --config (the image: $GF_PATHS_CONFIG, default
 * /etc/grafana/grafana.ini; the packages: /etc/grafana/grafana.ini), whose
 * empty values are skipped; then GF_SECURITY_SECRET_KEY (applyEnvVariable-
 * Overrides, non-empty only); then expanders.go replaces ${VAR},
 * $__env{..}, $__file{..}, $__vault{..} in every value. Files are read by
 * go-ini (ini.Load, its defaults). packaging/docker/run.sh turns every
 * GF_*__FILE into the variable without __FILE ($(cat FILE): trailing
 * newlines dropped) and stops when both are set. pkg/services/encryption
 * (PBKDF2-SHA256 of secret_key, 10000 rounds, 32 bytes, into AES-CFB or
 * AES-GCM) and the envelope encryption of secrets (data source passwords,
 * alerting contact points, plugin secrets) make it a data key. Its data is
 * $GF_PATHS_DATA/grafana.db (the image: /var/lib/grafana; the packages'
 * DATA_DIR too). `grafana cli admin secrets-migration` (re-encrypt,
 * re-encrypt-data-keys, rollback) works under the current key only: no
 * tool moves the data to a new secret_key. */
static const struct silent_default grafana_default = {
	.name = "GF_SECURITY_SECRET_KEY",
	.value = "SW2YcwTIb9zpOOhoPsMm",
	.data = { { "GF_PATHS_DATA", "/grafana.db" }, { NULL, "/var/lib/grafana/grafana.db" } },
	/* pkg/services/sqlstore/database_config.go readConfig: [database] url,
	 * whose scheme is the type, else type (defaults.ini: sqlite3): MySQL
	 * and PostgreSQL keep the data in a server keyshim cannot look into;
	 * [database] path (defaults.ini: grafana.db, in the data path) moves
	 * the SQLite file; [paths] data in grafana.ini moves the data path
	 * unless GF_PATHS_DATA, which wins, is set */
	.elsewhere = { { "GF_DATABASE_URL", "database", "url", NULL, false },
	               { "GF_DATABASE_TYPE", "database", "type", "sqlite3", false },
	               { "GF_DATABASE_PATH", "database", "path", "grafana.db", false },
	               { "GF_PATHS_DATA", "paths", "data", NULL, true } },
	.rotate = "Grafana has no command that moves its secrets to a new secret_key (`grafana cli admin secrets-migration re-encrypt` and `re-encrypt-data-keys` work under the current one): keep grafana.db and its backups private",
};

static const struct service_conf grafana_ini = {
	.label = "grafana.ini", .syntax = CONF_GO_INI,
	.places = { { "GF_PATHS_CONFIG", "" }, { NULL, "/etc/grafana/grafana.ini" } },
	.file_suffix = "__FILE",
	.silent = &grafana_default,
};

static const struct key_spec grafana_keys[] = {
	{ "GF_SECURITY_SECRET_KEY", FORMAT_BASE64, 32, ACCEPT_GRAFANA, KEY_CLASS_DATA,
	  { &grafana_ini, "security", "secret_key", false, NULL, NULL } },
};
/* ---- end of issue 13's Grafana ---- */

/* ---- issue 13: Gitea and Forgejo (one block) ----
 * go-gitea/gitea modules/setting/security.go loadSecurityFrom (Forgejo's is
 * the same): SECRET_KEY comes from [security] SECRET_KEY_URI or SECRET_KEY
 * (loadSecret), and when both are empty Gitea uses "!#@FDEWREWR&*(" without
 * a word ("until it supports rotating an existing secret key", issue
 * 16832); the web installer writes generate.NewSecretKey() into app.ini
 * instead. It encrypts two-factor secrets, LDAP bind passwords, mirror
 * credentials and Actions secrets: data. Installed is [security]
 * INSTALL_LOCK (docker/root/etc/s6/gitea/setup sets it in app.ini from
 * the environment; environment-to-ini from GITEA__security__INSTALL_LOCK).
 * app.ini: $GITEA_APP_INI (the rootless image: /etc/gitea/app.ini), else
 * $GITEA_CUSTOM/conf/app.ini (the image: GITEA_CUSTOM=/data/gitea), read
 * by go-ini with IgnoreContinuation (setting/config_provider.go). The
 * images' environment-to-ini (setting/config_env.go) writes every
 * GITEA__section__KEY, section lower-cased, into app.ini at each start,
 * and reads GITEA__section__KEY__FILE (one trailing newline dropped).
 * On start with INSTALL_LOCK, Gitea itself writes INTERNAL_TOKEN
 * (generate.NewInternalToken, a JWT), [oauth2] JWT_SECRET and [server]
 * LFS_JWT_SECRET (NewJwtSecret: base64.RawURLEncoding of 32 bytes,
 * DecodeJwtSecretBase64 wants exactly 32) into app.ini when they are
 * missing: the own sources keyshim adopts; they only sign tokens. */
static const struct silent_default gitea_default = {
	.name = "GITEA__security__SECRET_KEY",
	.value = "!#@FDEWREWR&*(",
	.data = { { NULL, "/data/gitea/gitea.db" } },
	.elsewhere = { { "GITEA__security__INSTALL_LOCK", "security", "INSTALL_LOCK", "false", false } },
	.rotate = "Gitea has no command that moves its data to a new SECRET_KEY (go-gitea/gitea issue 16832): keep its database and its backups private",
};

static const struct service_conf gitea_app_ini = {
	.label = "app.ini", .syntax = CONF_GO_INI_FLAT,
	.places = { { "GITEA_APP_INI", "" }, { "GITEA_CUSTOM", "/conf/app.ini" },
	            { NULL, "/data/gitea/conf/app.ini" } },
	.file_suffix = "__FILE",
	.silent = &gitea_default,
	.uri_suffix = "_URI", /* loadSecret: SECRET_KEY_URI, INTERNAL_TOKEN_URI, JWT_SECRET_URI, LFS_JWT_SECRET_URI */
	/* config_env.go: GITEA__; Forgejo's also FORGEJO__, its own */
	.ini_env_prefixes = { "GITEA__", "FORGEJO__" },
	/* docker/root/etc/s6/gitea/setup, docker/rootless/.../docker-setup.sh:
	 * when app.ini is missing, envsubst writes $SECRET_KEY and
	 * $INSTALL_LOCK (true when SECRET_KEY is set) into the new one */
	.setup_variables = { { "SECRET_KEY", "GITEA__security__SECRET_KEY" },
	                     { "INSTALL_LOCK", "GITEA__security__INSTALL_LOCK" } },
};

/* GITEA__SECURITY__SECRET_KEY and the like name the same option: read
 * after the preset's spelling and exported too (key_origin.alias). */
#define GITEA(section, option, upper) { &gitea_app_ini, section, option, false, NULL, upper }

static const struct key_spec gitea_keys[] = {
	{ "GITEA__security__SECRET_KEY", FORMAT_BASE64, 48, ACCEPT_LINE, KEY_CLASS_DATA,
	  GITEA("security", "SECRET_KEY", "GITEA__SECURITY__SECRET_KEY") },
	{ "GITEA__security__INTERNAL_TOKEN", FORMAT_BASE64URL_RAW, 48, ACCEPT_LINE, KEY_CLASS_SESSION,
	  GITEA("security", "INTERNAL_TOKEN", "GITEA__SECURITY__INTERNAL_TOKEN") },
	{ "GITEA__oauth2__JWT_SECRET", FORMAT_BASE64URL_RAW, 32, ACCEPT_CANONICAL, KEY_CLASS_SESSION,
	  GITEA("oauth2", "JWT_SECRET", "GITEA__OAUTH2__JWT_SECRET") },
	{ "GITEA__server__LFS_JWT_SECRET", FORMAT_BASE64URL_RAW, 32, ACCEPT_CANONICAL, KEY_CLASS_SESSION,
	  GITEA("server", "LFS_JWT_SECRET", "GITEA__SERVER__LFS_JWT_SECRET") },
};
/* ---- end of issue 13's Gitea ---- */
/* ---- end of issue 13's presets ---- */

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
	/* issue 13 */
	PRESET("node-red", node_red_keys),
	PRESET("n8n", n8n_keys),
	PRESET("superset", superset_keys),
	PRESET("authentik", authentik_keys),
	PRESET("paperless", paperless_keys),
	PRESET("outline", outline_keys),
	PRESET("metabase", metabase_keys),
	PRESET("langfuse", langfuse_keys),
	PRESET("plausible", plausible_keys),
	PRESET("mastodon", mastodon_keys),
	PRESET("django", django_keys),
	PRESET("rails", rails_keys),
	PRESET("laravel", laravel_keys),
	PRESET("grafana", grafana_keys), /* issue 13: Grafana */
	PRESET("gitea", gitea_keys),     /* issue 13: Gitea, Forgejo */
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
	/* issue 13 */
	{ "SUPERSET_SECRET_KEY", "ced36ab6df2d02f3", "Superset's superset/config.py default" },
	{ "SUPERSET_SECRET_KEY", "480bede3b31c30de", "Superset's Helm chart values" },
	{ "SUPERSET_SECRET_KEY", "79082c0c1034cf59", "Superset's documentation" },
	{ "SUPERSET_SECRET_KEY", "84c47fdf287c4a4b", "Superset's docker/.env" },
	{ "PAPERLESS_SECRET_KEY", "4ab14e0fa72863dd", "Paperless-ngx's src/paperless/settings.py default" },
	{ "ENCRYPTION_KEY", "de4d7977bd8b8493", "Langfuse's docker-compose.yml" },
	{ "SALT", "ab9af53207fb0666", "Langfuse's docker-compose.yml" },
	{ "NEXTAUTH_SECRET", "2f82fdfd4ff63e23", "Langfuse's docker-compose.yml" },
	/* issue 13: Grafana (its silent default, see grafana_default) */
	{ "GF_SECURITY_SECRET_KEY", "ab20e919541fb0ce", "Grafana's conf/defaults.ini" },
	/* issue 13: Gitea (its silent default, see gitea_default) */
	{ "GITEA__security__SECRET_KEY", "b343b19307d174cd", "Gitea's modules/setting/security.go" },
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
	static char list[512];
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
	fputs(own->conf->label, out);
	if (own->section)
		fprintf(out, ":[%s]%s", own->section, own->field);
	else if (own->conf->syntax != CONF_WHOLE) /* CONF_WHOLE: the file is the value */
		fprintf(out, ":%s", own->field);
	if (own->old_section)
		fprintf(out, ",[%s]%s", own->old_section, own->field);
	if (own->cmd_secret)
		fputs(",_CMD,_SECRET", out);
	if (own->conf->references)
		fputs(",env://,file://", out);
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
