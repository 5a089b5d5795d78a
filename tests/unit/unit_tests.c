/* Unit tests for the parsers and encodings, run by `meson test`.
 * Prints TAP-like lines and "N passed, N failed"; exits 1 on any failure. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accept.h"
#include "conffile.h"
#include "cli.h"
#include "encoding.h"
#include "keyspec.h"
#include "mounts.h"
#include "presets.h"
#include "redact.h"
#include "svcform.h"

static int passed, failed;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			printf("not ok: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                            \
	} while (0)

static bool valid(enum key_format f, const char *text, size_t bytes)
{
	return format_is_valid(f, text, strlen(text), bytes);
}

static void test_formats(void)
{
	const char *b64 = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=";
	CHECK(valid(FORMAT_BASE64, b64, 32));
	CHECK(!valid(FORMAT_BASE64, b64, 33));                      /* wrong size */
	CHECK(!valid(FORMAT_BASE64, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY", 32)); /* no pad */
	CHECK(!valid(FORMAT_BASE64, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTZ=", 32)); /* stray bits */
	CHECK(!valid(FORMAT_BASE64, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NT*=", 32)); /* alphabet */
	CHECK(!valid(FORMAT_BASE64, "", 32));
	CHECK(!valid(FORMAT_BASE64, "YWJj", 32));                  /* cut short */
	CHECK(format_text_len(FORMAT_BASE64, 32) == 44);
	CHECK(format_text_len(FORMAT_BASE64URL, 32) == 44);
	CHECK(format_text_len(FORMAT_BASE64, 64) == 88);
	CHECK(format_text_len(FORMAT_HEX, 16) == 32);

	/* URL-safe: '-' and '_' in, '+' and '/' out */
	unsigned char raw[32];
	memset(raw, 0xfb, sizeof raw);
	char text[KEY_TEXT_MAX + 1];
	format_encode(FORMAT_BASE64URL, raw, 32, text);
	CHECK(strchr(text, '-') || strchr(text, '_'));
	CHECK(!strchr(text, '+') && !strchr(text, '/'));
	CHECK(text[43] == '=');
	CHECK(valid(FORMAT_BASE64URL, text, 32));
	CHECK(!valid(FORMAT_BASE64, text, 32));
	format_encode(FORMAT_BASE64, raw, 32, text);
	CHECK(!valid(FORMAT_BASE64URL, text, 32));

	format_encode(FORMAT_HEX, raw, 16, text);
	CHECK(strcmp(text, "fbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfb") == 0);
	CHECK(valid(FORMAT_HEX, text, 16));
	CHECK(!valid(FORMAT_HEX, "FBFBFBFBFBFBFBFBFBFBFBFBFBFBFBFB", 16)); /* not canonical */
	CHECK(!valid(FORMAT_HEX, "fbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfg", 16));

	/* every size round-trips in every format */
	for (size_t bytes = KEY_BYTES_MIN; bytes <= KEY_BYTES_MAX; bytes += 37)
		for (int f = 0; f < FORMAT_COUNT; f++) {
			unsigned char r[KEY_BYTES_MAX];
			randombytes_buf(r, bytes);
			format_encode((enum key_format)f, r, bytes, text);
			CHECK(strlen(text) == format_text_len((enum key_format)f, bytes));
			CHECK(valid((enum key_format)f, text, bytes));
		}
	/* a NUL inside is not a key */
	char with_nul[45];
	memcpy(with_nul, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=", 45);
	with_nul[10] = '\0';
	CHECK(!format_is_valid(FORMAT_BASE64, with_nul, 44, 32));
}

static bool accepts(enum accept_rule rule, const char *text)
{
	return accept_value(rule, FORMAT_BASE64, 32, text, strlen(text));
}

static void test_formats_table(void)
{
	/* every format has a distinct name that maps back to it */
	for (int f = 0; f < FORMAT_COUNT; f++) {
		enum key_format back;
		CHECK(format_from_name(format_name((enum key_format)f), &back) && back == (enum key_format)f);
		CHECK(strstr(format_names(), format_name((enum key_format)f)) != NULL);
	}
	char text[KEY_TEXT_MAX + 1];
	CHECK(format_create(FORMAT_BASE64URL_RAW, 32, text) == 43 && strlen(text) == 43);
	CHECK(!strchr(text, '=') && valid(FORMAT_BASE64URL_RAW, text, 32));
	CHECK(!valid(FORMAT_BASE64URL, text, 32));
}

static void test_accept_rules(void)
{
	/* Semaphore's AES keys: standard base64 of 16, 24 or 32 bytes */
	CHECK(accepts(ACCEPT_AES_BASE64, "MDEyMzQ1Njc4OWFiY2RlZg=="));             /* 16 */
	CHECK(accepts(ACCEPT_AES_BASE64, "MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"));     /* 24 */
	CHECK(accepts(ACCEPT_AES_BASE64, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=")); /* 32 */
	CHECK(!accepts(ACCEPT_AES_BASE64, "MDEyMzQ1Njc4OWFiY2RlZmc="));            /* 17 */
	CHECK(!accepts(ACCEPT_AES_BASE64, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY")); /* no pad */
	CHECK(!accepts(ACCEPT_AES_BASE64, "_-JjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=")); /* url */
	CHECK(!accepts(ACCEPT_AES_BASE64, ""));
	/* an HMAC key: any standard base64 */
	CHECK(accepts(ACCEPT_BASE64, "YQ=="));
	CHECK(!accepts(ACCEPT_BASE64, ""));
	CHECK(!accepts(ACCEPT_BASE64, "not base64!"));
	/* Fernet: 32 bytes in either alphabet, padded */
	CHECK(accepts(ACCEPT_FERNET, "+/+/ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="));
	CHECK(accepts(ACCEPT_FERNET, "-_-_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="));
	CHECK(!accepts(ACCEPT_FERNET, "-_-_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY"));
	CHECK(!accepts(ACCEPT_FERNET, "MDEyMzQ1Njc4OWFiY2RlZg=="));
	/* Airflow's secrets: one non-empty line */
	CHECK(accepts(ACCEPT_HS512_SECRET, "airflow_jwt_secret"));
	CHECK(accepts(ACCEPT_HS512_SECRET, " spaces and %% are fine "));
	CHECK(!accepts(ACCEPT_HS512_SECRET, ""));
	CHECK(!accepts(ACCEPT_HS512_SECRET, "two\nlines"));
	CHECK(!accepts(ACCEPT_HS512_SECRET, "cr\r"));
	CHECK(accept_value_is_short(ACCEPT_HS512_SECRET, "x", 1));
	CHECK(!accept_value_is_short(ACCEPT_FERNET, "x", 1));
	/* issue 13's rules */
	CHECK(accepts(ACCEPT_LINE, "x") && !accept_value_is_short(ACCEPT_LINE, "x", 1));
	CHECK(!accepts(ACCEPT_LINE, "") && !accepts(ACCEPT_LINE, "a\nb"));
	CHECK(accepts(ACCEPT_ASCII_LINE, "n8n key") && !accepts(ACCEPT_ASCII_LINE, "cl\xc3\xa9"));
	CHECK(accepts(ACCEPT_LINE_16, "0123456789abcdef") && !accepts(ACCEPT_LINE_16, "0123456789abcde"));
	CHECK(!accepts(ACCEPT_LINE_16, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9")); /* 8 characters */
	CHECK(accepts(ACCEPT_LINE_32, "0123456789abcdef0123456789abcdef"));
	CHECK(!accepts(ACCEPT_LINE_32, "0123456789abcdef0123456789abcde"));
	CHECK(accepts(ACCEPT_HEX_32, "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"));
	CHECK(!accepts(ACCEPT_HEX_32, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef"));
	CHECK(!accepts(ACCEPT_HEX_32, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg"));
	CHECK(accepts(ACCEPT_LARAVEL, "base64:YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="));
	CHECK(accepts(ACCEPT_LARAVEL, "abcdefghijklmnopqrstuvwxyz123456")); /* 32 raw */
	CHECK(!accepts(ACCEPT_LARAVEL, "base64:MDEyMzQ1Njc4OWFiY2RlZg=="));  /* 16 bytes */
	CHECK(!accepts(ACCEPT_LARAVEL, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=")); /* no prefix, 44 */
	CHECK(!accepts(ACCEPT_LARAVEL, "abcdefghijklmnopqrstuvwxyz12345"));
	char laravel[KEY_TEXT_MAX + 1];
	CHECK(format_create(FORMAT_LARAVEL, 32, laravel) == 51 && strncmp(laravel, "base64:", 7) == 0);
	CHECK(valid(FORMAT_LARAVEL, laravel, 32) && accepts(ACCEPT_LARAVEL, laravel));
	CHECK(valid(FORMAT_BASE64, laravel + 7, 32) && !valid(FORMAT_LARAVEL, laravel + 7, 32));
	/* the strict rule is the canonical form */
	CHECK(accepts(ACCEPT_CANONICAL, "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="));
	CHECK(!accepts(ACCEPT_CANONICAL, "MDEyMzQ1Njc4OWFiY2RlZg=="));
}

static void test_fingerprint(void)
{
	char fp[FINGERPRINT_SIZE];
	fingerprint("hello", 5, fp); /* printf %s hello | b2sum -l 64 */
	CHECK(strcmp(fp, "a7b6eda801e5347d") == 0);
	fingerprint("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=", 44, fp);
	CHECK(strcmp(fp, "870d145b7b01b713") == 0);
}

static void test_key_specs(void)
{
	struct key_spec spec;
	char why[256];
	CHECK(key_spec_parse("A", &spec, why, sizeof why) && spec.format == FORMAT_BASE64 &&
	      spec.bytes == 32 && strcmp(spec.name, "A") == 0);
	CHECK(key_spec_parse("_X1:hex:16", &spec, why, sizeof why) && spec.format == FORMAT_HEX &&
	      spec.bytes == 16);
	CHECK(key_spec_parse("K:base64url", &spec, why, sizeof why) &&
	      spec.format == FORMAT_BASE64URL && spec.bytes == 32);
	CHECK(key_spec_parse("K:base64:1024", &spec, why, sizeof why) && spec.bytes == 1024);
	CHECK(!key_spec_parse("K:base64:1025", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:base64:15", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:base64:+32", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:base64:32x", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:base64:", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:b64", &spec, why, sizeof why));
	CHECK(!key_spec_parse("1K", &spec, why, sizeof why));
	CHECK(!key_spec_parse("", &spec, why, sizeof why));
	CHECK(!key_spec_parse("A-B", &spec, why, sizeof why));
	CHECK(!key_spec_parse("K:hex:32:9", &spec, why, sizeof why));
	CHECK(strstr(why, "K") != NULL);

	struct key_list list = { 0 };
	key_spec_parse("A", &spec, why, sizeof why);
	CHECK(key_list_add(&list, &spec, why, sizeof why));
	CHECK(key_list_add(&list, &spec, why, sizeof why) && list.count == 1);
	key_spec_parse("A:hex", &spec, why, sizeof why);
	CHECK(!key_list_add(&list, &spec, why, sizeof why));

	struct key_list presets = { 0 };
	CHECK(preset_add("airflow", &presets, why, sizeof why) && presets.count == 3);
	CHECK(strcmp(presets.specs[0].name, "AIRFLOW__CORE__FERNET_KEY") == 0 &&
	      presets.specs[0].format == FORMAT_BASE64URL);
	CHECK(presets.specs[1].bytes == 64 && presets.specs[2].bytes == 64);
	CHECK(presets.specs[0].accept == ACCEPT_FERNET && presets.specs[0].key_class == KEY_CLASS_DATA);
	CHECK(presets.specs[1].key_class == KEY_CLASS_SESSION);
	CHECK(strstr(preset_names(), "semaphore") && strstr(preset_names(), "airflow2"));
	CHECK(published_value_source("AIRFLOW__API_AUTH__JWT_SECRET", "146915674abba0c7") != NULL);
	CHECK(published_value_source("AIRFLOW__CORE__FERNET_KEY", "146915674abba0c7") == NULL);
	/* airflow exports its API secret key as AIRFLOW__WEBSERVER__SECRET_KEY
	 * too, which is airflow2's own key: never exported twice */
	CHECK(!preset_add("airflow2", &presets, why, sizeof why) &&
	      strstr(why, "AIRFLOW__WEBSERVER__SECRET_KEY"));
	struct key_list airflow2 = { 0 };
	CHECK(preset_add("airflow2", &airflow2, why, sizeof why) && airflow2.count == 2);
	CHECK(!preset_add("nginx", &presets, why, sizeof why));
}

static void test_mountinfo(void)
{
	struct mount_entry e;
	CHECK(mountinfo_parse_line("26 1 254:0 / / rw,relatime - ext4 /dev/vda rw", &e) &&
	      strcmp(e.mount_point, "/") == 0 && strcmp(e.fs_type, "ext4") == 0);
	CHECK(mountinfo_parse_line("36 35 98:0 /mnt1 /mnt/my\\040vol rw,noatime master:1 shared:7 - xfs /dev/root rw", &e) &&
	      strcmp(e.mount_point, "/mnt/my vol") == 0 && strcmp(e.fs_type, "xfs") == 0);
	CHECK(!mountinfo_parse_line("36 35 98:0 /mnt1 /mnt rw", &e));           /* no separator */
	CHECK(!mountinfo_parse_line("36 35 98:0 /mnt1 /mnt rw -", &e));         /* no type */
	CHECK(!mountinfo_parse_line("36 35 98:0 /mnt1 rel rw - ext4 x rw", &e)); /* relative */
	CHECK(!mountinfo_parse_line("", &e));

	CHECK(mountinfo_parse_line("26 1 254:0 / / rw - ext4 /dev/vda rw", &e) && e.id == 26);
	CHECK(!mountinfo_parse_line("x6 1 254:0 / / rw - ext4 /dev/vda rw", &e)); /* id */
	CHECK(!mountinfo_parse_line("99999999999999999999 1 0:1 / / rw - ext4 x rw", &e));

	/* By id, not by path: a volume at /var/lib/keyshim hidden by a tmpfs
	 * mounted later on /var/lib is still listed, and found by its own id. */
	const char *table =
	    "1 0 0:1 / / rw - overlay overlay rw\n"
	    "3 1 8:1 /vol /var/lib/keyshim rw - ext4 /dev/sda1 rw\n"
	    "bad line\n"
	    "2 1 0:2 / /var/lib rw - tmpfs tmpfs rw\n";
	CHECK(mount_find_id(table, 3, &e) && strcmp(e.fs_type, "ext4") == 0 && e.id == 3);
	CHECK(mount_find_id(table, 2, &e) && strcmp(e.mount_point, "/var/lib") == 0);
	CHECK(mount_find_id(table, 1, &e) && strcmp(e.mount_point, "/") == 0);
	CHECK(!mount_find_id(table, 4, &e));
	CHECK(!mount_find_id("", 1, &e));
}

/* The exit status of cli_parse(argc, argv) in a child process: it exits
 * on every error; 0 when it returned. */
static int parse_status(int argc, char **argv)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		static struct options options;
		cli_parse(argc, argv, &options);
		_exit(0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_empty_argv(void)
{
	/* execve(path, {NULL}, envp) on Linux < 5.18: argc 0, argv[0] NULL */
	char **argv = calloc(1, sizeof *argv); /* exactly one slot: ASan sees any overrun */
	CHECK(argv && parse_status(0, argv) == 64);
	free(argv);
	char *blank[] = { "", NULL }; /* what Linux >= 5.18 makes of it */
	CHECK(parse_status(1, blank) == 64);
}

static void test_redact(void)
{
	CHECK(value_is_plain_path("/run/secrets/semaphore_key"));
	CHECK(value_is_plain_path("/var/run/secrets/kubernetes.io/serviceaccount/token"));
	CHECK(!value_is_plain_path("run/secrets/key"));                      /* relative */
	CHECK(!value_is_plain_path("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="));
	CHECK(!value_is_plain_path("/YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY\n"));
	CHECK(!value_is_plain_path("/path/with space"));
	CHECK(!value_is_plain_path("/run/secrets/key\n"));
	CHECK(!value_is_plain_path("/run/secrets/key\r"));
	CHECK(!value_is_plain_path("/abc+def"));
	/* 24 characters of base64 without '+' or '=': 18 bytes, could be a key */
	CHECK(!value_is_plain_path("/abcdefghijklmnopqrstuvw"));
	CHECK(value_is_plain_path("/abcdefghijklmnopqrstuv")); /* 23: no key is */
	CHECK(strcmp(value_shown("/x/y.txt"), "/x/y.txt") == 0);
	CHECK(strcmp(value_shown("secret"), REDACTED) == 0);
}

/* The configuration-file readers (shim/json.c, shim/ini.c). */
static enum conf_result json_get(const char *doc, const char *field, char *out, size_t size)
{
	size_t len;
	char why[200];
	enum conf_result r = json_get_string(doc, strlen(doc), field, out, size, &len, why, sizeof why);
	if (r == CONF_FOUND && len != strlen(out))
		return CONF_MALFORMED;
	return r;
}

static enum conf_result ini(const char *doc, const char *sect, const char *opt, char *out)
{
	size_t len;
	char why[200];
	return ini_get(doc, strlen(doc), sect, opt, out, 256, &len, why, sizeof why);
}

/* {"x": [[...]]}: an object holding `arrays` nested arrays. */
static void nested(char *doc, int arrays)
{
	strcpy(doc, "{\"x\":");
	for (int i = 0; i < arrays; i++)
		strcat(doc, "[");
	for (int i = 0; i < arrays; i++)
		strcat(doc, "]");
	strcat(doc, "}");
}

static void test_json(void)
{
	char out[256];
	CHECK(json_get("{\"access_key_encryption\": \"a+/=\"}", "access_key_encryption", out, sizeof out) == CONF_FOUND &&
	      strcmp(out, "a+/=") == 0);
	CHECK(json_get(" {\"x\":[1,-2.5e3,{\"y\":null}],\"k\":\"\\u00e9\\ud83d\\ude00\\n\"} ", "k", out, sizeof out) == CONF_FOUND &&
	      strcmp(out, "\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
	CHECK(json_get("{\"a\": \"1\"}", "k", out, sizeof out) == CONF_ABSENT && out[0] == '\0');
	CHECK(json_get("{}", "k", out, sizeof out) == CONF_ABSENT);
	CHECK(json_get("{\"k\": \"a\", \"k\": \"b\"}", "k", out, sizeof out) == CONF_MALFORMED); /* duplicate */
	CHECK(json_get("{\"k\": 1}", "k", out, sizeof out) == CONF_MALFORMED);            /* not a string */
	CHECK(json_get("{\"K\": \"a\"}", "k", out, sizeof out) == CONF_MALFORMED);          /* Go reads it */
	CHECK(json_get("{\"\xe2\x84\xaa\": \"a\"}", "k", out, sizeof out) == CONF_MALFORMED); /* Kelvin sign */
	CHECK(json_get("{\"k\": \"secret\"} x", "k", out, sizeof out) == CONF_MALFORMED && out[0] == '\0');
	CHECK(json_get("{\"k\": \"a\\u0000b\"}", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("{\"k\": \"\\ud800\"}", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("{\"k\": \"\xc0\xaf\"}", "k", out, sizeof out) == CONF_MALFORMED); /* overlong */
	CHECK(json_get("{\"k\": \"a\tb\"}", "k", out, sizeof out) == CONF_MALFORMED);      /* raw tab */
	CHECK(json_get("{\"x\": NaN, \"k\": \"a\"}", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("{\"x\": 01}", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("{\"x\": [1,]}", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("\xef\xbb\xbf{}", "k", out, sizeof out) == CONF_MALFORMED);        /* BOM */
	CHECK(json_get("[]", "k", out, sizeof out) == CONF_MALFORMED);
	CHECK(json_get("{\"k\": \"12345\"}", "k", out, 5) == CONF_MALFORMED);             /* too long */
	CHECK(json_get("{\"k\": \"1234\"}", "k", out, 5) == CONF_FOUND);
	char deep[200];
	nested(deep, 64);
	CHECK(json_get(deep, "k", out, sizeof out) == CONF_MALFORMED);                     /* 65 deep */
	nested(deep, 63);
	CHECK(json_get(deep, "k", out, sizeof out) == CONF_ABSENT);                        /* 64 deep */
}

static void test_ini(void)
{
	char out[256];
	CHECK(ini("[core]\nfernet_key = abc=\n", "core", "fernet_key", out) == CONF_FOUND && strcmp(out, "abc=") == 0);
	CHECK(ini("# c\n[core]\n  ; c\nfernet_key:abc\n[api]\n", "core", "fernet_key", out) == CONF_FOUND &&
	      strcmp(out, "abc") == 0);
	CHECK(ini("[core]\r\nfernet_key = a\r\n", "core", "fernet_key", out) == CONF_FOUND && strcmp(out, "a") == 0);
	CHECK(ini("[core]\rfernet_key = a\rx = 1", "core", "fernet_key", out) == CONF_FOUND && strcmp(out, "a") == 0);
	CHECK(ini("[core]\nk = a\n  b\n\n  # no\n  c\n\n", "core", "k", out) == CONF_FOUND &&
	      strcmp(out, "a\nb\n\nc") == 0);
	CHECK(ini("[core]\nk = a # not a comment\n", "core", "k", out) == CONF_FOUND &&
	      strcmp(out, "a # not a comment") == 0);
	CHECK(ini("[core]\nk = 50%%\n", "core", "k", out) == CONF_FOUND && strcmp(out, "50%") == 0);
	CHECK(ini("[DEFAULT]\nk = d\n[core]\n", "core", "k", out) == CONF_FOUND && strcmp(out, "d") == 0);
	CHECK(ini("[DEFAULT]\nk = d\n[core]\nk = c\n", "core", "k", out) == CONF_FOUND && strcmp(out, "c") == 0);
	CHECK(ini("[DEFAULT]\nk = d\n", "core", "k", out) == CONF_ABSENT);  /* no [core] */
	CHECK(ini("[core]\nother = 1\n", "core", "k", out) == CONF_ABSENT);
	CHECK(ini("[core] trailing\nk = a\n", "core", "k", out) == CONF_FOUND);
	CHECK(ini("[core]\nk = a\n  [api]\n", "core", "k", out) == CONF_FOUND && strcmp(out, "a\n[api]") == 0);
	CHECK(ini("[core]\nk = a\nk = b\n", "core", "k", out) == CONF_MALFORMED && out[0] == '\0');
	CHECK(ini("[core]\nk = a\n[core]\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[DEFAULT]\n[DEFAULT]\n[core]\nk = a\n", "core", "k", out) == CONF_FOUND); /* as Python */
	CHECK(ini("k = a\n", "core", "k", out) == CONF_MALFORMED);          /* no section */
	CHECK(ini("[core]\nk = a\njunk\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\n= a\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nK = a\n", "core", "k", out) == CONF_MALFORMED);  /* Airflow ignores it */
	CHECK(ini("[Core]\nk = a\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nk = a%b\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nk = %(x)s\nx = 1\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nk = a$HOME\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nk = a$\n", "core", "k", out) == CONF_FOUND);
	CHECK(ini("[core]\nk = ~a\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("[core]\nk = a\xc2\xa0\n", "core", "k", out) == CONF_MALFORMED); /* NBSP */
	CHECK(ini("[core]\nk = \xff\n", "core", "k", out) == CONF_MALFORMED);
	CHECK(ini("\xef\xbb\xbf[core]\nk = a\n", "core", "k", out) == CONF_MALFORMED);
	size_t len;
	char why[200];
	CHECK(ini_get("[core]\nk = abcd\n", 15, "core", "k", out, 4, &len, why, sizeof why) == CONF_MALFORMED);
	CHECK(ini_get("[core]\nk = a\0b\n", 14, "core", "k", out, 256, &len, why, sizeof why) == CONF_MALFORMED);
}

/* Gitea's environment-to-ini names (config_env.go), [security] SECRET_KEY */
static int ini_env(const char *name, const char *prefix)
{
	bool file = true;
	bool sets = svcform_ini_env_sets(name, strlen(name), prefix, "security", "SECRET_KEY", &file);
	return sets ? (file ? 2 : 1) : 0; /* 2: the __FILE form */
}

static void test_ini_env(void)
{
	CHECK(ini_env("GITEA__security__SECRET_KEY", "GITEA__") == 1);
	CHECK(ini_env("GITEA__SECURITY__SECRET_KEY", "GITEA__") == 1);     /* section: any case */
	CHECK(ini_env("GITEA__SeCuRiTy__SECRET_KEY__FILE", "GITEA__") == 2);
	CHECK(ini_env("FORGEJO__security__SECRET_KEY", "FORGEJO__") == 1);
	CHECK(ini_env("FORGEJO__security__SECRET_KEY", "GITEA__") == 0);
	CHECK(ini_env("GITEA__security__secret_key", "GITEA__") == 0);     /* key: exact */
	CHECK(ini_env("GITEA__security__SECRET_KEY_FILE", "GITEA__") == 0); /* keyshim's NAME_FILE */
	CHECK(ini_env("GITEA__security__SECRET_KEY_URI", "GITEA__") == 0);
	CHECK(ini_env("GITEA__security__SECRET_KEY__FILE__FILE", "GITEA__") == 0);
	CHECK(ini_env("gitea__security__SECRET_KEY", "GITEA__") == 0);     /* prefix: exact */
	CHECK(ini_env("GITEA__security", "GITEA__") == 0);                 /* no key */
	CHECK(ini_env("GITEA__security__", "GITEA__") == 0);
	CHECK(ini_env("GITEA____SECRET_KEY", "GITEA__") == 0);             /* empty section */
	CHECK(ini_env("GITEA__securit_0X79___SECRET_KEY", "GITEA__") == 1); /* _0X79_ is y */
	CHECK(ini_env("GITEA__security__SECRET_0x5f_KEY", "GITEA__") == 1); /* _0x5f_ is _ */
	CHECK(ini_env("GITEA__security__SECRET_0X5F5F_KEY", "GITEA__") == 0);
	CHECK(ini_env("GITEA__security_0X5F5F_SECRET_KEY", "GITEA__") == 0); /* an escaped __ splits nothing */
	CHECK(ini_env("GITEA__security__SECRET_0X5_KEY", "GITEA__") == 0); /* odd: no escape */
	CHECK(ini_env("GITEA__secur_0XC4B0_ty__SECRET_KEY", "GITEA__") == 1); /* U+0130 lower-cases to i */
	CHECK(ini_env("GITEA__security_0XE284AA___SECRET_KEY", "GITEA__") == 0); /* securityk */
	CHECK(ini_env("GITEA__secur_0XC4_ty__SECRET_KEY", "GITEA__") == 0);   /* invalid UTF-8 */
	CHECK(ini_env("GITEA__secur_0XC4B1_ty__SECRET_KEY", "GITEA__") == 0); /* U+0131 stays */
	CHECK(ini_env("GITEA___0X73_ecurity__SECRET_KEY", "GITEA__") == 1);   /* escaped s */
	CHECK(ini_env("GITEA__security___SECRET_KEY", "GITEA__") == 0);        /* key _SECRET_KEY */
	bool file;
	CHECK(svcform_ini_env_sets("GITEA__oauth2__JWT_SECRET=x", 25, "GITEA__", "oauth2",
	                           "JWT_SECRET", &file) && !file);
	CHECK(svcform_ini_env_sets("GITEA__server_0XE284AA___K", 26, "GITEA__", "serverk", "K", &file));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_formats();
	test_formats_table();
	test_accept_rules();
	test_fingerprint();
	test_key_specs();
	test_mountinfo();
	test_json();
	test_ini();
	test_empty_argv();
	test_redact();
	test_ini_env();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
