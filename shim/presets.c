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
	/* Semaphore UI (semaphoreui/semaphore). util/config.go: the three
	 * come from SEMAPHORE_ACCESS_KEY_ENCRYPTION, SEMAPHORE_COOKIE_HASH and
	 * SEMAPHORE_COOKIE_ENCRYPTION and are decoded with
	 * base64.StdEncoding.DecodeString; GenerateSecrets makes each from
	 * securecookie.GenerateRandomKey(32). util/encryption.go: the access
	 * key feeds aes.NewCipher + cipher.NewGCM (AES-256 with 32 bytes).
	 * Release notes v2.8.34: "head -c32 /dev/urandom | base64". */
	{ "semaphore",
	  { { "SEMAPHORE_ACCESS_KEY_ENCRYPTION", FORMAT_BASE64, 32 },
	    { "SEMAPHORE_COOKIE_HASH", FORMAT_BASE64, 32 },
	    { "SEMAPHORE_COOKIE_ENCRYPTION", FORMAT_BASE64, 32 } },
	  3 },
	/* Airflow 3 (apache/airflow).
	 * fernet_key: cryptography's Fernet wants "A URL-safe base64-encoded
	 *   32-byte key" (pyca/cryptography docs/fernet.rst; fernet.py
	 *   generate_key = urlsafe_b64encode(os.urandom(32)), padded).
	 * jwt_secret: airflow-core/src/airflow/api_fastapi/auth/tokens.py
	 *   passes the string itself to PyJWT and signs with HS512 unless
	 *   [api_auth] jwt_algorithm says otherwise; PyJWT
	 *   (jwt/algorithms.py, check_key_length) warns when an HMAC key is
	 *   shorter than the hash's digest, 64 bytes for HS512. Base64 of 64
	 *   random bytes is 88 characters.
	 * secret_key: [api] secret_key since 3.0.2 ([webserver] before);
	 *   Airflow's own default is b64encode(os.urandom(16))
	 *   (airflow/configuration.py); 32 bytes here. */
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
