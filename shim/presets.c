/* presets.c - see presets.h.
 *
 * Each format below is the one the service itself decodes; the sources are
 * cited beside each preset (see also README, "Presets"). */
#include "presets.h"

#include <stdio.h>
#include <string.h>

struct preset {
	const char *name;
	struct key_spec keys[4];
	size_t count;
};

static const struct preset presets[] = {
	/* Semaphore UI decodes all three with Go's base64.StdEncoding and
	 * needs 32 bytes: access_key_encryption is an AES-256-GCM key
	 * (services/server/access_key_encryption_svc.go, util/config.go),
	 * cookie_hash/cookie_encryption feed gorilla/securecookie
	 * (api/router.go). Its own setup generates each as
	 * base64(32 random bytes) (cli/setup/setup.go). */
	{ "semaphore",
	  { { "SEMAPHORE_ACCESS_KEY_ENCRYPTION", FORMAT_BASE64, 32 },
	    { "SEMAPHORE_COOKIE_HASH", FORMAT_BASE64, 32 },
	    { "SEMAPHORE_COOKIE_ENCRYPTION", FORMAT_BASE64, 32 } },
	  3 },
	/* Airflow 3. fernet_key: cryptography's Fernet takes URL-safe,
	 * padded base64 of 32 bytes (cryptography fernet.py). jwt_secret:
	 * used as the HMAC key as given; Airflow signs with HS512 by default
	 * ([api_auth] jwt_algorithm) and PyJWT warns on HMAC keys shorter
	 * than the hash, 64 bytes for HS512 (jwt/algorithms.py), so 64 random
	 * bytes. [api] secret_key signs the UI's session cookies; Airflow's
	 * own default is base64 of random bytes (airflow/configuration.py). */
	{ "airflow",
	  { { "AIRFLOW__CORE__FERNET_KEY", FORMAT_BASE64URL, 32 },
	    { "AIRFLOW__API_AUTH__JWT_SECRET", FORMAT_BASE64, 64 },
	    { "AIRFLOW__API__SECRET_KEY", FORMAT_BASE64, 32 } },
	  3 },
	/* Airflow 2: the webserver's secret_key lived under [webserver]. */
	{ "airflow2",
	  { { "AIRFLOW__CORE__FERNET_KEY", FORMAT_BASE64URL, 32 },
	    { "AIRFLOW__WEBSERVER__SECRET_KEY", FORMAT_BASE64, 32 } },
	  2 },
};

const char *preset_names(void) { return "semaphore, airflow, airflow2"; }

bool preset_add(const char *name, struct key_list *list, char *why,
                size_t why_size)
{
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
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
