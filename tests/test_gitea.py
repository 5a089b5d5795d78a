"""The gitea preset (issue 13; Forgejo reads its keys the same way). Gitea
silently uses the SECRET_KEY published in modules/setting/security.go when
none is set; an installed Gitea ([security] INSTALL_LOCK) with no key
anywhere holds data encrypted with that public value, so keyshim refuses
(78) to create a key in front of it unless --adopt-published says to keep
the published value. The keys Gitea writes into app.ini itself
(SECRET_KEY from the installer, INTERNAL_TOKEN, JWT_SECRET, LFS_JWT_SECRET)
are adopted from app.ini, read as go-ini reads it for Gitea. JWT secrets are
checked the way Gitea decodes them (base64url without padding, exactly 32
bytes) and used with PyJWT (Debian's python3-jwt) for HS256.

keyshim runs as PID 1 in fresh namespaces (`ns`: static and ASan builds);
no key value may appear in any output (conftest)."""

import base64
import json
import os

import jwt
import pytest

from conftest import fingerprint, states

PYTHON = "/usr/bin/python3"
SECRET = "GITEA__security__SECRET_KEY"
TOKEN = "GITEA__security__INTERNAL_TOKEN"
JWT = "GITEA__oauth2__JWT_SECRET"
LFS = "GITEA__server__LFS_JWT_SECRET"
PUBLISHED = "!#@FDEWREWR&*("   # go-gitea/gitea modules/setting/security.go
PUBLISHED_FP = fingerprint(PUBLISHED)
EX_DATAERR, EX_CONFIG = 65, 78

# The service: Gitea's OAuth2 provider signs with the 32 bytes JWT_SECRET
# decodes to (generate.DecodeJwtSecretBase64); "open" verifies TOKEN_FILE's
# HS256 token with the exported JWT_SECRET and writes {"ok": ...}.
CONSUMER = [PYTHON, "-c", r'''
import base64, json, os, sys
import jwt
token_file, result = sys.argv[1:]
secret = os.environ["GITEA__oauth2__JWT_SECRET"]
key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
assert len(key) == 32
try:
    ok = jwt.decode(open(token_file).read(), key, algorithms=["HS256"])["sub"] == "gitea-user"
except jwt.InvalidSignatureError:
    ok = False
with open(result, "w") as f:
    json.dump({"ok": ok}, f)
''']


def raw_url(n=32):
    return base64.urlsafe_b64encode(os.urandom(n)).decode().rstrip("=")


def app_ini(ns, tmp_path, text):
    """$GITEA_CUSTOM/conf/app.ini as the image keeps it."""
    custom = tmp_path / "gitea"
    (custom / "conf").mkdir(parents=True, exist_ok=True)
    path = custom / "conf" / "app.ini"
    path.write_text(text)
    ns.secret_paths.add(os.path.realpath(path))
    return {"GITEA_CUSTOM": str(custom)}


def refused(ns, vol, env, code=EX_CONFIG, args=()):
    result = ns.run(["-p", "gitea", *args, "--", "true"], volume=vol, env=env)
    assert result.returncode == code, result.stderr
    assert vol.files() == [], "a refusal wrote to the volume"
    assert result.stderr.count("keyshim: error:") == 1, result.stderr
    return result


def test_fresh_volume_creates_every_key(ns, tmp_path):
    """No app.ini yet (the image writes it after keyshim): four new keys,
    the JWT secrets in the form Gitea decodes."""
    vol = ns.volume()
    result = ns.run(["-p", "gitea", "--", "true"], volume=vol,
                    env={"GITEA_CUSTOM": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    got = states(result.stderr)
    assert {got[k][0] for k in (SECRET, TOKEN, JWT, LFS)} == {"created"}
    for name in (JWT, LFS):
        text = vol.key(name)
        assert len(text) == 43 and "=" not in text
        assert len(base64.urlsafe_b64decode(text + "=")) == 32
    # the created JWT secret signs and verifies as Gitea uses it, after a restart
    out = tmp_path / "out"
    out.mkdir()
    key = base64.urlsafe_b64decode(vol.key(JWT) + "=")
    (out / "token").write_text(jwt.encode({"sub": "gitea-user"}, key, algorithm="HS256"))
    again = ns.run(["-p", "gitea", "--", *CONSUMER, str(out / "token"), str(out / "result")],
                   volume=vol, env={"GITEA_CUSTOM": str(tmp_path / "none")})
    assert again.returncode == 0, again.stderr
    assert states(again.stderr)[JWT] == ("loaded", got[JWT][1])
    assert json.loads((out / "result").read_text()) == {"ok": True}


def test_installed_gitea_without_a_key_is_refused(ns, tmp_path):
    """INSTALL_LOCK = true and no SECRET_KEY anywhere: Gitea has been using
    the published one; a new key would lose 2FA secrets, mirror credentials
    and the like. The other keys are not written either."""
    ns.secret(PUBLISHED)
    env = app_ini(ns, tmp_path, "APP_NAME = Gitea\n[security]\nINSTALL_LOCK = true\n")
    result = refused(ns, ns.volume(), env)
    assert "INSTALL_LOCK" in result.stderr and PUBLISHED_FP in result.stderr
    assert "--adopt-published" in result.stderr and "security.go" in result.stderr


def test_install_lock_from_the_environment_is_seen(ns, tmp_path):
    ns.secret(PUBLISHED)
    refused(ns, ns.volume(), {"GITEA_CUSTOM": str(tmp_path / "none"),
                              "GITEA__security__INSTALL_LOCK": "true"})


def test_not_installed_gitea_gets_new_keys(ns, tmp_path):
    env = app_ini(ns, tmp_path, "[security]\nINSTALL_LOCK = false\nSECRET_KEY =\n")
    result = ns.run(["-p", "gitea", "--", "true"], volume=ns.volume(), env=env)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET][0] == "created"


def test_adopt_published_keeps_the_published_secret_key(ns, tmp_path):
    ns.secret(PUBLISHED)
    env = app_ini(ns, tmp_path, "[security]\nINSTALL_LOCK = true\n")
    vol = ns.volume()
    result = ns.run(["-p", "gitea", "--adopt-published", "--", "true"], volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET] == ("adopted", PUBLISHED_FP)
    assert fingerprint(vol.key(SECRET)) == PUBLISHED_FP
    assert "keyshim: warning:" in result.stderr


def test_app_ini_keys_are_adopted(ns, tmp_path):
    """What the installer and Gitea itself wrote into app.ini is the key
    set; the JWT secret keeps signing: a token Gitea issued still verifies
    with the exported JWT_SECRET."""
    keys = {SECRET: "Aa0" + raw_url(45)[:61], TOKEN: "eyJhbGciOiJIUzI1NiJ9.e30." + raw_url(),
            JWT: raw_url(), LFS: raw_url()}
    for value in keys.values():
        ns.secret(value)
    env = app_ini(ns, tmp_path, (
        "APP_NAME = Gitea\n[server]\nLFS_JWT_SECRET = {l}\n[security]\nINSTALL_LOCK = true\n"
        "SECRET_KEY = {s}\nINTERNAL_TOKEN = {t}\n[oauth2]\nJWT_SECRET = {j}\n").format(
        l=keys[LFS], s=keys[SECRET], t=keys[TOKEN], j=keys[JWT]))
    out = tmp_path / "out"
    out.mkdir()
    key = base64.urlsafe_b64decode(keys[JWT] + "=")
    (out / "token").write_text(jwt.encode({"sub": "gitea-user"}, key, algorithm="HS256"))
    vol = ns.volume()
    result = ns.run(["-p", "gitea", "--", *CONSUMER, str(out / "token"), str(out / "result")],
                    volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    got = states(result.stderr)
    for name, value in keys.items():
        assert got[name] == ("adopted", fingerprint(value)), name
    assert json.loads((out / "result").read_text()) == {"ok": True}
    # the check can fail: a fresh volume's JWT secret does not verify it
    fresh = ns.run(["-p", "gitea", "--", *CONSUMER, str(out / "token"), str(out / "result")],
                   volume=ns.volume("fresh"), env={"GITEA_CUSTOM": str(tmp_path / "none")})
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads((out / "result").read_text()) == {"ok": False}


@pytest.mark.parametrize("bad", ["short", raw_url(31), raw_url(33), raw_url() + "=",
                                 base64.b64encode(os.urandom(32)).decode()])
def test_jwt_secret_gitea_would_not_decode_is_refused(ns, tmp_path, bad):
    """DecodeJwtSecretBase64 wants base64url without padding of exactly 32
    bytes: anything else in app.ini is refused (65), not exported."""
    env = app_ini(ns, tmp_path, f"[oauth2]\nJWT_SECRET = {bad}\n")
    result = refused(ns, ns.volume(), env, EX_DATAERR)
    assert "JWT_SECRET" in result.stderr and "app.ini" in result.stderr


def test_double_underscore_file_is_read(ns, tmp_path):
    """GITEA__security__SECRET_KEY__FILE (environment-to-ini's form): used
    like NAME_FILE, nothing written for it."""
    key = "Zz9" + raw_url(45)[:61]
    secret = ns.secret_file(tmp_path / "gitea_secret_key", key)
    vol = ns.volume()
    result = ns.run(["-p", "gitea", "--", "true"], volume=vol,
                    env={"GITEA_CUSTOM": str(tmp_path / "none"),
                         "GITEA__security__SECRET_KEY__FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET] == ("file", fingerprint(key))
    assert SECRET not in vol.files()


def test_upper_case_section_spelling_is_the_same_key(ns, tmp_path):
    """environment-to-ini lower-cases the section: GITEA__SECURITY__SECRET_KEY
    names the same option; it is adopted, and exported under both names."""
    key = "Yy8" + raw_url(45)[:61]
    ns.secret(key)
    out = tmp_path / "env.json"
    vol = ns.volume()
    result = ns.run(["-p", "gitea", "--", PYTHON, "-c",
                     "import json, os, sys; json.dump({k: len(v) for k, v in os.environ.items() "
                     "if k.upper() == 'GITEA__SECURITY__SECRET_KEY'}, open(sys.argv[1], 'w'))",
                     str(out)], volume=vol,
                    env={"GITEA_CUSTOM": str(tmp_path / "none"), "GITEA__SECURITY__SECRET_KEY": key})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET] == ("adopted", fingerprint(key))
    assert json.loads(out.read_text()) == {SECRET: len(key), "GITEA__SECURITY__SECRET_KEY": len(key)}


def test_app_ini_is_read_without_continuation_lines(ns, tmp_path):
    """Gitea loads app.ini with IgnoreContinuation: a trailing backslash is
    part of the value, and the next line is an option of its own."""
    key = "Xx7" + raw_url(45)[:60] + "\\"
    ns.secret(key)
    env = app_ini(ns, tmp_path, f"[security]\nSECRET_KEY = {key}\nINSTALL_LOCK = true\n")
    result = ns.run(["-p", "gitea", "--", "true"], volume=ns.volume(), env=env)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET] == ("adopted", fingerprint(key))


@pytest.mark.parametrize("form", ["file://{p}", "file:{p}"])
def test_uri_file_is_the_key(ns, tmp_path, form):
    """[security] SECRET_KEY_URI = file:... (Gitea's loadSecret): the file's
    trimmed contents are the key, adopted; its path is named, never its
    contents. The same for the JWT secret's JWT_SECRET_URI."""
    key = "Ww6" + raw_url(45)[:61]
    jwt_secret = raw_url()
    secret = ns.secret_file(tmp_path / "gitea_secret_key", "  " + key)
    jwt_file = ns.secret_file(tmp_path / "gitea_jwt_secret", jwt_secret)
    env = app_ini(ns, tmp_path, "[security]\nINSTALL_LOCK = true\nSECRET_KEY_URI = " +
                  form.format(p=secret) + "\n[oauth2]\nJWT_SECRET_URI = " +
                  form.format(p=jwt_file) + "\n")
    result = ns.run(["-p", "gitea", "--", "true"], volume=ns.volume(), env=env)
    assert result.returncode == 0, result.stderr
    got = states(result.stderr)
    assert got[SECRET] == ("adopted", fingerprint(key))
    assert got[JWT] == ("adopted", fingerprint(jwt_secret))
    assert f"from {secret}" in result.stderr


@pytest.mark.parametrize("text,code", [
    ("SECRET_KEY = abcdefgh\nSECRET_KEY_URI = file:{p}\n", EX_CONFIG),   # Gitea: both set
    ("SECRET_KEY_URI = file:{p}.missing\n", EX_CONFIG),                   # Gitea cannot read it
    ("SECRET_KEY_URI = file:{p}%20x\n", EX_DATAERR),                      # not a plain path
    ("SECRET_KEY_URI = https://vault/key\n", EX_DATAERR),                 # Gitea: only file:
    ("SECRET_KEY_URI = file:{e}\n", EX_DATAERR),                          # Gitea: empty file
])
def test_uri_gitea_would_refuse_is_refused(ns, tmp_path, text, code):
    secret = ns.secret_file(tmp_path / "gitea_secret_key", "Vv5" + raw_url(45)[:61])
    empty = tmp_path / "empty"
    empty.write_text("\n")
    env = app_ini(ns, tmp_path, "[security]\nINSTALL_LOCK = true\n" +
                  text.format(p=secret, e=empty))
    result = refused(ns, ns.volume(), env, code)
    assert "SECRET_KEY_URI" in result.stderr or "SECRET_KEY" in result.stderr


# --- every name the images' environment-to-ini applies (config_env.go) ---------
# GITEA__ (Forgejo: also FORGEJO__) + section (any case) + __ + KEY (exact) +
# optional __FILE; `_0X..._` escapes. Spellings keyshim does not read are
# refused (78): they would reach app.ini, where keyshim's exported
# GITEA__security__SECRET_KEY (later in the environment) takes their place.

ENV_NOT_READ = ["FORGEJO__security__SECRET_KEY", "FORGEJO__SECURITY__SECRET_KEY",
                "GITEA__SECURITY__SECRET_KEY__FILE", "FORGEJO__security__SECRET_KEY__FILE",
                "GITEA__Security__SECRET_KEY", "GITEA__securit_0X79___SECRET_KEY",
                "GITEA__security__SECRET_0X5F_KEY", "FORGEJO__oauth2__JWT_SECRET"]


@pytest.mark.parametrize("variable", ENV_NOT_READ)
def test_other_spellings_of_a_key_are_refused(ns, tmp_path, variable):
    key = "Uu4" + raw_url(45)[:61] if "SECRET_KEY" in variable else raw_url()
    value = str(ns.secret_file(tmp_path / "key", key)) if variable.endswith("__FILE") else key
    ns.secret(key)
    result = refused(ns, ns.volume(), {"GITEA_CUSTOM": str(tmp_path / "none"), variable: value})
    assert variable in result.stderr
    assert ("GITEA__security__SECRET_KEY__FILE" in result.stderr or
            "GITEA__oauth2__JWT_SECRET__FILE" in result.stderr)


@pytest.mark.parametrize("variable", ["GITEA__security__SECRET_KEY_URI",
                                      "FORGEJO__SECURITY__SECRET_KEY_URI",
                                      "GITEA__oauth2__JWT_SECRET_URI"])
def test_uri_variables_are_refused(ns, tmp_path, variable):
    """keyshim does not read _URI variables; environment-to-ini would write
    the option beside the key keyshim exports, which Gitea refuses."""
    secret = ns.secret_file(tmp_path / "key", "Tt3" + raw_url(45)[:61])
    result = refused(ns, ns.volume(), {"GITEA_CUSTOM": str(tmp_path / "none"),
                                       variable: f"file:{secret}"})
    assert variable in result.stderr and "__FILE" in result.stderr


@pytest.mark.parametrize("variable,value", [
    ("GITEA__SECURITY__INSTALL_LOCK", "true"), ("FORGEJO__security__INSTALL_LOCK", "true"),
    ("GITEA__security__INSTALL_LOCK__FILE", "/run/secrets/lock"),
    ("GITEA__security__INSTALL_LOC_0X4B_", "1")])
def test_install_lock_in_any_spelling_is_seen(ns, tmp_path, variable, value):
    """An installed Gitea whose database keyshim cannot see (Postgres), no
    key anywhere: refused (78), whichever spelling says it is installed."""
    ns.secret(PUBLISHED)
    env = app_ini(ns, tmp_path, "[database]\nDB_TYPE = postgres\n")
    result = refused(ns, ns.volume(), {**env, variable: value})
    assert variable in result.stderr and PUBLISHED_FP in result.stderr


def test_install_lock_false_in_another_spelling_is_not_installed(ns, tmp_path):
    result = ns.run(["-p", "gitea", "--", "true"], volume=ns.volume(),
                    env={"GITEA_CUSTOM": str(tmp_path / "none"),
                         "FORGEJO__SECURITY__INSTALL_LOCK": "false"})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SECRET][0] == "created"


@pytest.mark.parametrize("variable,value", [("SECRET_KEY", "old-operator-secret-key-1234"),
                                            ("INSTALL_LOCK", "true")])
def test_setup_variables_without_app_ini_are_refused(ns, tmp_path, variable, value):
    """The images' setup writes plain SECRET_KEY and INSTALL_LOCK into a new
    app.ini (docker/root/etc/s6/gitea/setup): refused while there is none."""
    ns.secret(value)
    result = refused(ns, ns.volume(), {"GITEA_CUSTOM": str(tmp_path / "none"), variable: value})
    assert variable in result.stderr and f"GITEA__security__{variable}" in result.stderr
    # with app.ini in place, the setup leaves them alone: not refused
    env = app_ini(ns, tmp_path, "[security]\nINSTALL_LOCK = false\n")
    result = ns.run(["-p", "gitea", "--", "true"], volume=ns.volume("b"), env={**env, variable: value})
    assert result.returncode == 0, result.stderr


# --- a key from a _URI option is kept and checked, never exported -------------
# Exported, environment-to-ini would write SECRET_KEY beside SECRET_KEY_URI,
# and Gitea refuses to start ("Cannot specify both").

ENV_DUMP = [PYTHON, "-c", "import json, os, sys; json.dump(sorted(k for k in os.environ "
            "if k.upper().startswith(('GITEA__', 'FORGEJO__'))), open(sys.argv[1], 'w'))"]


def test_uri_key_is_not_exported(ns, tmp_path):
    key, jwt_secret = "Ss2" + raw_url(45)[:61], raw_url()
    secret = ns.secret_file(tmp_path / "gitea_secret_key", key)
    jwt_file = ns.secret_file(tmp_path / "gitea_jwt_secret", jwt_secret)
    env = app_ini(ns, tmp_path, f"[security]\nINSTALL_LOCK = true\nSECRET_KEY_URI = file:{secret}\n"
                  f"[oauth2]\nJWT_SECRET_URI = file://{jwt_file}\n")
    vol, out = ns.volume(), tmp_path / "env.json"
    for state in ("adopted", "loaded"):   # and so on every start
        result = ns.run(["-p", "gitea", "--", *ENV_DUMP, str(out)], volume=vol, env=env)
        assert result.returncode == 0, result.stderr
        got = states(result.stderr)
        assert got[SECRET] == (state, fingerprint(key))
        assert got[JWT] == (state, fingerprint(jwt_secret))
        assert json.loads(out.read_text()) == sorted([TOKEN, TOKEN.upper(), LFS, LFS.upper()])
    assert fingerprint(vol.key(SECRET)) == fingerprint(key)
    # the file changed: it differs from the key file, refused whatever --on-conflict says
    ns.secret_file(secret, "Rr1" + raw_url(45)[:61])
    for args in ((), ("--on-conflict", "file")):
        result = ns.run(["-p", "gitea", *args, "--", "true"], volume=vol, env=env)
        assert result.returncode == EX_CONFIG, result.stderr
        assert result.stderr.count("keyshim: error:") == 1


@pytest.mark.parametrize("variable", [SECRET, SECRET + "_FILE", SECRET + "__FILE",
                                      "GITEA__SECURITY__SECRET_KEY"])
def test_key_variable_beside_uri_is_refused(ns, tmp_path, variable):
    """NAME (any spelling) or NAME_FILE beside SECRET_KEY_URI in app.ini:
    the service would find both; refused (78), even with the same key."""
    key = "Qq0" + raw_url(45)[:61]
    secret = ns.secret_file(tmp_path / "gitea_secret_key", key)
    env = app_ini(ns, tmp_path, f"[security]\nINSTALL_LOCK = true\nSECRET_KEY_URI = file:{secret}\n")
    value = str(secret) if variable.endswith("FILE") else key
    result = refused(ns, ns.volume(), {**env, variable: value})
    assert variable in result.stderr and "SECRET_KEY_URI" in result.stderr
