"""The grafana preset (issue 13). Grafana silently uses the secret_key
published in its conf/defaults.ini when none is set, so a volume that holds
Grafana's data and no key anywhere holds data encrypted with that public
value: keyshim refuses to create a key in front of it (78) unless
--adopt-published says to keep the published value. Grafana's own key
sources (grafana.ini read as go-ini reads it, GF_SECURITY_SECRET_KEY__FILE
as its image reads it) are adopted. The key is checked the way Grafana
decodes it: PBKDF2-SHA256(secret, salt, 10000, 32) into AES-GCM, with
Python's cryptography (Debian's python3-cryptography).

keyshim runs as PID 1 in fresh namespaces (`ns`: static and ASan builds).
No key value may appear in any output (conftest); the published value is
registered with the harness so that it is checked too."""

import base64
import json
import os

import pytest

from conftest import fingerprint, states

PYTHON = "/usr/bin/python3"
NAME = "GF_SECURITY_SECRET_KEY"
PUBLISHED = "SW2YcwTIb9zpOOhoPsMm"   # grafana/grafana conf/defaults.ini
PUBLISHED_FP = fingerprint(PUBLISHED)
EX_USAGE, EX_DATAERR, EX_NOPERM, EX_CONFIG = 64, 65, 77, 78

# The service: Grafana's secrets encryption (pkg/services/encryption:
# KeyToBytes = PBKDF2-SHA256(secret, salt, 10000, 32); AES-GCM payload =
# 8-byte salt, 12-byte nonce, ciphertext+tag). "make" encrypts PLAIN into
# STATE under the exported key, "open" writes {"ok": ...} to RESULT.
CONSUMER = [PYTHON, "-c", r'''
import json, os, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
mode, state, result = sys.argv[1:]
secret = os.environ["GF_SECURITY_SECRET_KEY"].encode()
def key(salt):
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, 10000).derive(secret)
if mode == "make":
    salt, nonce = b"s4lt5alt", os.urandom(12)
    with open(state, "wb") as f:
        f.write(salt + nonce + AESGCM(key(salt)).encrypt(nonce, b"a data source password", None))
else:
    data = open(state, "rb").read()
    try:
        ok = AESGCM(key(data[:8])).decrypt(data[8:20], data[20:], None) == b"a data source password"
    except InvalidTag:
        ok = False
    with open(result, "w") as f:
        json.dump({"ok": ok}, f)
''']


def grafana_encrypt(secret, plain=b"a data source password"):
    """What Grafana stored under `secret` before keyshim came."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    salt, nonce = b"abcdefgh", os.urandom(12)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, 10000).derive(secret.encode())
    return salt + nonce + AESGCM(key).encrypt(nonce, plain, None)


def data_dir(tmp_path, with_db):
    """$GF_PATHS_DATA, holding grafana.db (Grafana's data) or nothing."""
    data = tmp_path / "grafana-data"
    data.mkdir(exist_ok=True)
    if with_db:
        (data / "grafana.db").write_bytes(b"SQLite format 3\0")
    return data


def grafana_ini(ns, tmp_path, text):
    """A grafana.ini the test wrote (it may hold a key)."""
    path = tmp_path / "grafana.ini"
    path.write_text(text)
    ns.secret_paths.add(os.path.realpath(path))
    return path


def env_for(data, ini=None, **more):
    env = {"GF_PATHS_DATA": str(data),
           "GF_PATHS_CONFIG": str(ini) if ini else "/nonexistent/grafana.ini"}
    env.update(more)
    return env


def refused(ns, vol, env, code=EX_CONFIG, args=()):
    result = ns.run(["-p", "grafana", *args, "--", "true"], volume=vol, env=env)
    assert result.returncode == code, result.stderr
    assert vol.files() == [], "a refusal wrote to the volume"
    assert result.stderr.count("keyshim: error:") == 1, result.stderr
    return result


# --- the published default --------------------------------------------------

def test_fresh_volume_creates_a_strong_key(ns, tmp_path):
    """No data yet: a new key, 32 random bytes in base64, as usual."""
    ns.secret(PUBLISHED)
    vol = ns.volume()
    result = ns.run(["-p", "grafana", "--", "true"], volume=vol,
                    env=env_for(data_dir(tmp_path, False)))
    assert result.returncode == 0, result.stderr
    state, fp = states(result.stderr)[NAME]
    assert state == "created" and fp != PUBLISHED_FP
    assert len(base64.b64decode(vol.key(NAME), validate=True)) == 32


def test_data_without_key_is_refused(ns, tmp_path):
    """grafana.db there and no key anywhere: Grafana has been encrypting with
    the published value; a new key would lose every stored secret."""
    ns.secret(PUBLISHED)
    data = data_dir(tmp_path, True)
    vol = ns.volume()
    result = refused(ns, vol, env_for(data))
    err = result.stderr
    assert str(data / "grafana.db") in err and "conf/defaults.ini" in err
    assert PUBLISHED_FP in err and "--adopt-published" in err and NAME in err


def test_data_without_key_is_refused_in_check_mode(ns, tmp_path):
    ns.secret(PUBLISHED)
    vol = ns.volume()
    result = ns.run(["-p", "grafana", "check"], volume=vol, env=env_for(data_dir(tmp_path, True)))
    assert result.returncode == EX_CONFIG, result.stderr
    assert vol.files() == []


def test_data_at_the_image_default_path_is_seen(ns, tmp_path):
    """GF_PATHS_DATA unset: /var/lib/grafana/grafana.db, as Grafana's
    packages and image keep it (a tmpfs over /var/lib inside the test's
    mount namespace only)."""
    ns.secret(PUBLISHED)
    vol = ns.volume()
    setup = "mount -t tmpfs none /var/lib; mkdir -p /var/lib/grafana; : > /var/lib/grafana/grafana.db"
    result = ns.run(["-p", "grafana", "--", "true"], volume=vol, setup=setup,
                    env={"GF_PATHS_CONFIG": "/nonexistent/grafana.ini"})
    assert result.returncode == EX_CONFIG, result.stderr
    assert "/var/lib/grafana/grafana.db" in result.stderr and vol.files() == []


def test_adopt_published_keeps_the_data_readable(ns, tmp_path):
    """--adopt-published writes the published value into the key file
    (by fingerprint only, with a warning), and Grafana's data encrypted
    with it opens; the next start loads it."""
    ns.secret(PUBLISHED)
    data = data_dir(tmp_path, True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "state").write_bytes(grafana_encrypt(PUBLISHED))
    vol = ns.volume()
    result = ns.run(["-p", "grafana", "--adopt-published", "--", *CONSUMER, "open",
                     str(out / "state"), str(out / "result")], volume=vol, env=env_for(data))
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[NAME] == ("adopted", PUBLISHED_FP)
    assert "keyshim: warning:" in result.stderr and "secrets-migration" in result.stderr
    assert fingerprint(vol.key(NAME)) == PUBLISHED_FP
    assert json.loads((out / "result").read_text()) == {"ok": True}
    again = ns.run(["-p", "grafana", "--", "true"], volume=vol, env=env_for(data))
    assert again.returncode == 0, again.stderr
    assert states(again.stderr)[NAME] == ("loaded", PUBLISHED_FP)


def test_created_key_cannot_open_the_old_data(ns, tmp_path):
    """The check can fail: a key created on a fresh volume does not open
    data encrypted with the published value, and does round-trip its own."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "state").write_bytes(grafana_encrypt(PUBLISHED))
    vol = ns.volume()
    env = env_for(data_dir(tmp_path, False))
    run = ns.run(["-p", "grafana", "--", *CONSUMER, "open", str(out / "state"),
                  str(out / "result")], volume=vol, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads((out / "result").read_text()) == {"ok": False}
    for mode in ("make", "open"):
        run = ns.run(["-p", "grafana", "--", *CONSUMER, mode, str(out / "state"),
                      str(out / "result")], volume=vol, env=env)
        assert run.returncode == 0, run.stderr
    assert json.loads((out / "result").read_text()) == {"ok": True}


def test_published_value_in_the_environment_is_refused(ns, tmp_path):
    """GF_SECURITY_SECRET_KEY set to the published value: a data key
    anyone can decrypt with, refused unless --adopt-published."""
    ns.secret(PUBLISHED)
    env = env_for(data_dir(tmp_path, False), GF_SECURITY_SECRET_KEY=PUBLISHED)
    refused(ns, ns.volume(), env)
    vol = ns.volume("v2")
    result = ns.run(["-p", "grafana", "--adopt-published", "--", "true"], volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[NAME] == ("adopted", PUBLISHED_FP)


def test_planted_link_at_the_data_counts_as_data(ns, tmp_path):
    """A symlink at grafana.db is not followed, and counts as data (a
    dangling one too): refusing is the safe answer."""
    ns.secret(PUBLISHED)
    data = data_dir(tmp_path, False)
    os.symlink("/nonexistent/elsewhere.db", data / "grafana.db")
    refused(ns, ns.volume(), env_for(data))


# --- Grafana's own key sources ----------------------------------------------

@pytest.mark.parametrize("line,value", [
    ("secret_key = {v}", "{v}"),
    ("secret_key = {v} # the key, since 2021", "{v}"),
    ("secret_key={v};comment", "{v}"),
    ("  secret_key : '{v}'", "{v}"),
    ('secret_key = """{v}#;"""', "{v}#;"),
    ("secret_key = `{v} x`", "{v} x"),
])
def test_grafana_ini_key_is_adopted(ns, tmp_path, line, value):
    """[security] secret_key of grafana.ini, read as go-ini reads it
    (inline comments, quotes), is the key: adopted, and the data
    encrypted with it opens."""
    key = base64.b64encode(os.urandom(24)).decode()
    value = value.format(v=key)
    ns.secret(value)
    ini = grafana_ini(ns, tmp_path, "[server]\nhttp_port = 3000\n\n[security]\n" +
                      line.format(v=key) + "\nadmin_user = admin\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "state").write_bytes(grafana_encrypt(value))
    vol = ns.volume()
    result = ns.run(["-p", "grafana", "--", *CONSUMER, "open", str(out / "state"),
                     str(out / "result")], volume=vol, env=env_for(data_dir(tmp_path, True), ini))
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[NAME] == ("adopted", fingerprint(value))
    assert f"from {ini}" in result.stderr
    assert json.loads((out / "result").read_text()) == {"ok": True}


def test_grafana_ini_empty_key_means_the_default(ns, tmp_path):
    """`secret_key =` is skipped by Grafana (loadSpecifiedConfigFile), which
    then uses the published default: with data there, refused."""
    ns.secret(PUBLISHED)
    ini = grafana_ini(ns, tmp_path, "[security]\nsecret_key =\n")
    refused(ns, ns.volume(), env_for(data_dir(tmp_path, True), ini))


@pytest.mark.parametrize("value", ["$__file{/run/secrets/grafana_key}", "${GRAFANA_KEY}",
                                   "abc$__env{HOME}"])
def test_grafana_expanded_value_is_refused(ns, tmp_path, value):
    """Grafana replaces ${...} and $__NAME{...} in every value: keyshim cannot
    know the result, so it refuses (65), from grafana.ini and from the
    environment alike."""
    ini = grafana_ini(ns, tmp_path, f"[security]\nsecret_key = {value}\n")
    result = refused(ns, ns.volume(), env_for(data_dir(tmp_path, False), ini), EX_DATAERR)
    assert str(ini) in result.stderr and "secret_key" in result.stderr
    result = refused(ns, ns.volume("v2"),
                     env_for(data_dir(tmp_path, False), GF_SECURITY_SECRET_KEY=value), EX_DATAERR)
    assert NAME in result.stderr


def test_grafana_ini_unreadable_syntax_is_refused(ns, tmp_path):
    """A value that goes on over several lines: refused (65), not guessed."""
    ini = grafana_ini(ns, tmp_path, "[security]\nsecret_key = abc\\\n  def\n")
    result = refused(ns, ns.volume(), env_for(data_dir(tmp_path, True), ini), EX_DATAERR)
    assert str(ini) in result.stderr


def test_double_underscore_file_is_read_and_removed(ns, tmp_path):
    """GF_SECURITY_SECRET_KEY__FILE (the image's run.sh reads every
    GF_*__FILE): used like NAME_FILE, nothing written, and removed from the
    service's environment, where run.sh would refuse it beside the key."""
    key = base64.b64encode(os.urandom(32)).decode()
    secret = ns.secret_file(tmp_path / "grafana_key", key)
    out = tmp_path / "env.json"
    vol = ns.volume()
    result = ns.run(["-p", "grafana", "--", PYTHON, "-c",
                     "import json, os, sys; json.dump(sorted(k for k in os.environ if "
                     "k.startswith('GF_SECURITY')), open(sys.argv[1], 'w'))", str(out)],
                    volume=vol, env=env_for(data_dir(tmp_path, True),
                                            GF_SECURITY_SECRET_KEY__FILE=str(secret)))
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[NAME] == ("file", fingerprint(key))
    assert json.loads(out.read_text()) == [NAME]
    assert vol.files() == []


def test_double_underscore_file_beside_the_key_is_a_usage_error(ns, tmp_path):
    key = base64.b64encode(os.urandom(32)).decode()
    secret = ns.secret_file(tmp_path / "grafana_key", key)
    result = refused(ns, ns.volume(), env_for(data_dir(tmp_path, False), GF_SECURITY_SECRET_KEY=key,
                                              GF_SECURITY_SECRET_KEY__FILE=str(secret)), EX_USAGE)
    assert "GF_SECURITY_SECRET_KEY__FILE" in result.stderr


def test_grafana_ini_differs_from_key_file_is_refused(ns, tmp_path):
    """The key file is the key; grafana.ini holding another is a conflict."""
    vol = ns.volume()
    first = ns.run(["-p", "grafana", "--", "true"], volume=vol,
                   env=env_for(data_dir(tmp_path, False)))
    assert first.returncode == 0, first.stderr
    before = vol.snapshot()
    other = base64.b64encode(os.urandom(24)).decode()
    ns.secret(other)
    ini = grafana_ini(ns, tmp_path, f"[security]\nsecret_key = {other}\n")
    result = ns.run(["-p", "grafana", "--", "true"], volume=vol,
                    env=env_for(data_dir(tmp_path, True), ini))
    assert result.returncode == EX_CONFIG, result.stderr
    assert str(ini) in result.stderr and vol.snapshot() == before


@pytest.fixture
def shared_dir():
    """A directory every user may enter (pytest's tmp_path is root's only)."""
    import shutil
    import tempfile
    path = tempfile.mkdtemp(prefix="keyshim-grafana-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def test_data_is_looked_for_as_the_service_user(ns, shared_dir):
    """Root with -u: the data is looked for with the service user's rights.
    Data the user can see is data (78); a link the user planted on the way
    to a directory only root may read is not resolved with root's rights:
    keyshim cannot tell, and says so (77) instead of guessing."""
    import pathlib
    ns.secret(PUBLISHED)
    base = pathlib.Path(shared_dir)
    data = base / "data"
    data.mkdir()
    (data / "grafana.db").write_bytes(b"SQLite format 3\0")
    os.chown(data, 1001, 1001)
    vol = ns.volume()
    args = ["-d", str(vol.mnt / "keys"), "-p", "grafana", "-u", "1001:1001", "--", "true"]
    seen = ns.run(args, volume=vol, env=env_for(data), dir_option=False)
    assert seen.returncode == EX_CONFIG, seen.stderr
    assert vol.files() == []

    hidden = base / "root-only"
    hidden.mkdir(mode=0o700)
    (hidden / "grafana.db").write_bytes(b"SQLite format 3\0")
    evil = base / "evil"
    evil.mkdir()
    os.chown(evil, 1001, 1001)
    os.symlink(hidden, evil / "data")
    vol2 = ns.volume("second")
    args2 = ["-d", str(vol2.mnt / "keys"), "-p", "grafana", "-u", "1001:1001", "--", "true"]
    result = ns.run(args2, volume=vol2, env=env_for(evil / "data"), dir_option=False)
    assert result.returncode == EX_NOPERM, result.stderr
    assert str(evil / "data" / "grafana.db") in result.stderr and vol2.files() == []


@pytest.mark.parametrize("where", [
    {"GF_DATABASE_TYPE": "postgres"}, {"GF_DATABASE_URL": "mysql://grafana:pw@db:3306/grafana"},
    {"GF_DATABASE_PATH": "/elsewhere/grafana.db"}, "[database]\ntype = mysql\n",
    "[database]\nurl = postgres://grafana@db/grafana\n",
    # the image's run.sh reads these into the variables after keyshim ran
    {"GF_DATABASE_URL__FILE": "/run/secrets/grafana-db-url"},
    {"GF_DATABASE_TYPE__FILE": "/run/secrets/grafana-db-type"},
    {"GF_DATABASE_PATH__FILE": "/run/secrets/grafana-db-path"},
    {"GF_PATHS_DATA__FILE": "/run/secrets/grafana-data-path"},
])
def test_data_in_a_database_keyshim_cannot_see_is_refused(ns, tmp_path, where):
    """MySQL or PostgreSQL (url or type), or a SQLite file elsewhere: the
    data may be there, encrypted with the published value, so without a key
    keyshim refuses (78) as for grafana.db, and --adopt-published keeps it."""
    ns.secret(PUBLISHED)
    data = data_dir(tmp_path, False)
    if isinstance(where, dict):
        env = env_for(data, **where)
        named = next(iter(where))
    else:
        env = env_for(data, grafana_ini(ns, tmp_path, where))
        named = where.splitlines()[1].split()[0]
    result = refused(ns, ns.volume(), env)
    assert named in result.stderr and "cannot see" in result.stderr
    assert "pw@" not in result.stderr and "postgres://" not in result.stderr
    vol = ns.volume("v2")
    kept = ns.run(["-p", "grafana", "--adopt-published", "--", "true"], volume=vol, env=env)
    assert kept.returncode == 0, kept.stderr
    assert states(kept.stderr)[NAME] == ("adopted", PUBLISHED_FP)


@pytest.mark.parametrize("where", [{"GF_DATABASE_TYPE": "sqlite3"},
                                   {"GF_DATABASE_PATH": "grafana.db"},
                                   "[database]\ntype = sqlite3\npath = grafana.db\n"])
def test_the_default_database_settings_create_on_a_fresh_volume(ns, tmp_path, where):
    """The settings that keep the data in $GF_PATHS_DATA/grafana.db, said
    out loud: a fresh volume still gets a new key."""
    data = data_dir(tmp_path, False)
    env = env_for(data, **where) if isinstance(where, dict) else \
        env_for(data, grafana_ini(ns, tmp_path, where))
    result = ns.run(["-p", "grafana", "--", "true"], volume=ns.volume(), env=env)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[NAME][0] == "created"


def test_data_path_in_grafana_ini_counts_unless_the_variable_wins(ns, tmp_path):
    """[paths] data in grafana.ini moves Grafana's data where keyshim does not
    look: without GF_PATHS_DATA (which wins over the file), that may be
    data, and keyshim refuses; with it, the variable's place is looked at."""
    ns.secret(PUBLISHED)
    ini = grafana_ini(ns, tmp_path, "[paths]\ndata = /srv/grafana\n")
    result = refused(ns, ns.volume(), {"GF_PATHS_CONFIG": str(ini)})
    assert "[paths] data" in result.stderr
    fresh = ns.run(["-p", "grafana", "--", "true"], volume=ns.volume("v2"),
                   env=env_for(data_dir(tmp_path, False), ini))
    assert fresh.returncode == 0, fresh.stderr
    assert states(fresh.stderr)[NAME][0] == "created"
