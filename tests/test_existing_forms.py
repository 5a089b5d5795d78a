"""Every form the service itself accepts (issue 13): besides the value in
NAME, authentik resolves NAME=env://VAR[?DEFAULT] and NAME=file:///PATH and
reads YAML configuration files; Plausible reads $CONFIG_DIR/NAME (default
/run/secrets) before the environment. keyshim takes such keys over as the
service reads them, and never shadows one: the key file holds the key, not
a reference; a file the service prefers to keyshim's export is adopted, or
a conflict; a place keyshim cannot read is a refusal.

keyshim runs as PID 1 in fresh namespaces (`ns`: static and ASan builds);
every value goes through ns.secret/ns.secret_file, so the leak check
(conftest) knows it."""

import base64
import json
import os
import pathlib
import secrets
import subprocess

import pytest

from conftest import fingerprint, states
from test_existing import shared_dir  # noqa: F401 (a fixture)
from test_preset_consumers import django_signing

EX_DATAERR, EX_CONFIG = 65, 78
AK = "AUTHENTIK_SECRET_KEY"
SKB = "SECRET_KEY_BASE"


def b64(n):
    return base64.b64encode(secrets.token_bytes(n)).decode()


def run(ns, vol, preset, env=None, extra=(), setup="", command=("true",)):
    return ns.run(["-p", preset, *extra, "--", *command], volume=vol, env=env, setup=setup)


def refused(ns, preset, env, code, vol=None, setup="", extra=()):
    vol = vol or ns.volume()
    before = vol.snapshot()
    result = run(ns, vol, preset, env, extra=extra, setup=setup)
    assert result.returncode == code, result.stderr
    assert vol.snapshot() == before, "a refusal changed the volume"
    assert result.stderr.count("keyshim: error:") == 1, result.stderr
    return result


# --- authentik: env:// and file:// in AUTHENTIK_SECRET_KEY -------------------

def test_authentik_file_reference_is_resolved_and_the_key_adopted(ns, tmp_path):
    """authentik's docs put the key in a secret file and the variable says
    file:///path: the key file must hold the key, not the reference."""
    key = b64(60)
    secret = ns.secret_file(tmp_path / "authentik_secret_key", key)
    vol = ns.volume()
    first = run(ns, vol, "authentik", {AK: f"file://{secret}"})
    assert first.returncode == 0, first.stderr
    assert states(first.stderr)[AK] == ("adopted", fingerprint(key))
    assert f"from {secret}" in first.stderr
    assert vol.key(AK) == key
    # the reference gone (as the README says to do), the key stays
    again = run(ns, vol, "authentik")
    assert states(again.stderr)[AK] == ("loaded", fingerprint(key))


def test_authentik_file_reference_key_signs_as_before(ns, tmp_path):
    """A session signed by authentik's Django before keyshim (its key read
    from the file) still opens under what keyshim exports; under a fresh
    key it does not, so the check can fail."""
    key = b64(60)
    secret = ns.secret_file(tmp_path / "ak", key)
    out = tmp_path / "out"
    out.mkdir()
    consumer = django_signing(AK)
    before = subprocess.run([*consumer, "make", str(out / "state"), "-"], env={AK: key},
                            capture_output=True, text=True, timeout=60)
    assert before.returncode == 0, before.stderr
    for vol, env, expected in ((ns.volume(), {AK: f"FILE://{secret}"}, True),
                               (ns.volume("fresh"), {}, False)):
        result = out / f"result-{expected}.json"
        opened = run(ns, vol, "authentik", env,
                     command=(*consumer, "open", str(out / "state"), str(result)))
        assert opened.returncode == 0, opened.stderr
        assert (json.loads(result.read_text())["ok"] is True) == expected


def test_authentik_file_reference_is_trimmed_as_authentik_strips_it(ns, tmp_path):
    key = b64(60)
    secret = tmp_path / "ak"
    ns.secret_file(secret, key)
    secret.write_text(f"  {key}\t\n\n")
    vol = ns.volume()
    result = run(ns, vol, "authentik", {AK: f"file:{secret}"})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[AK] == ("adopted", fingerprint(key))
    assert vol.key(AK) == key


@pytest.mark.parametrize("content", ["\u00a0KEY", "KEY\u2003", "KEY\x1f", ""])
def test_authentik_file_whose_trim_is_unclear_is_refused(ns, tmp_path, content):
    """Python's strip, Go's TrimSpace and keyshim could cut different ends."""
    key = b64(60)
    secret = ns.secret_file(tmp_path / "ak", key)
    secret.write_text(content.replace("KEY", key))
    result = refused(ns, "authentik", {AK: f"file://{secret}"}, EX_DATAERR)
    assert str(secret) in result.stderr


def test_authentik_env_reference_is_resolved(ns):
    key = ns.secret(b64(60))
    vol = ns.volume()
    result = run(ns, vol, "authentik", {AK: "env://AK_OLD_KEY", "AK_OLD_KEY": key})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[AK] == ("adopted", fingerprint(key))
    assert "AK_OLD_KEY" in result.stderr
    assert vol.key(AK) == key


def test_authentik_env_reference_default_is_what_authentik_uses(ns):
    key = ns.secret(b64(60))
    vol = ns.volume()
    result = run(ns, vol, "authentik", {AK: f"env://AK_UNSET_VARIABLE?{key}"})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[AK] == ("adopted", fingerprint(key))
    assert vol.key(AK) == key


def test_authentik_env_reference_to_nothing_is_refused(ns):
    result = refused(ns, "authentik", {AK: "env://AK_UNSET_VARIABLE"}, EX_CONFIG)
    assert "AK_UNSET_VARIABLE" in result.stderr


def test_authentik_env_reference_to_an_empty_variable_is_refused(ns):
    """os.getenv and LookupEnv give "" for a set, empty variable, not the
    default: authentik would start with an empty key. keyshim refuses."""
    default = ns.secret(b64(60))
    result = refused(ns, "authentik", {AK: f"env://AK_EMPTY?{default}", "AK_EMPTY": ""},
                     EX_CONFIG)
    assert "AK_EMPTY is set but empty" in result.stderr


@pytest.mark.parametrize("kind", ["reference", "key"])
def test_authentik_json_string_value_is_refused(ns, tmp_path, kind):
    """authentik's Python half json-decodes "..." (a reference inside is
    then read), its Go half does not: no key file may hold the quotes."""
    secret = ns.secret_file(tmp_path / "akey", b64(60))
    inner = f"file://{secret}" if kind == "reference" else ns.secret(b64(60))
    result = refused(ns, "authentik", {AK: f'"{inner}"'}, EX_DATAERR)
    assert "JSON string" in result.stderr


def test_authentik_missing_file_is_refused_default_or_not(ns, tmp_path):
    """authentik would fall back to the ?default (often empty): keyshim does
    not guess whether the secret was meant to be mounted."""
    fallback = ns.secret(b64(40))
    for i, value in enumerate((f"file://{tmp_path}/missing",
                               f"file://{tmp_path}/missing?{fallback}")):
        result = refused(ns, "authentik", {AK: value}, EX_CONFIG, vol=ns.volume(f"v{i}"))
        assert f"{tmp_path}/missing" in result.stderr


def test_authentik_reference_conflicting_with_the_key_file_is_refused(ns, tmp_path):
    vol = ns.volume()
    made = run(ns, vol, "authentik")
    assert states(made.stderr)[AK][0] == "created"
    other = b64(60)
    secret = ns.secret_file(tmp_path / "ak", other)
    result = refused(ns, "authentik", {AK: f"file://{secret}"}, EX_CONFIG, vol=vol)
    assert fingerprint(other) in result.stderr
    assert fingerprint(vol.key(AK)) in result.stderr


def test_authentik_key_file_holding_a_reference_is_refused(ns, tmp_path):
    """What an older keyshim adopted from NAME=file:///...: not a key."""
    vol = ns.volume()
    path = vol.data / AK
    path.write_text(f"file://{tmp_path}/ak\n")
    path.chmod(0o600)
    result = refused(ns, "authentik", {}, EX_DATAERR, vol=vol)
    assert AK in result.stderr


@pytest.mark.parametrize("value", [
    " file:///run/secrets/ak",          # Python strips the space, Go does not
    "fi\tle:///run/secrets/ak",         # Python drops the tab, Go refuses it
    "file://host/run/secrets/ak",       # a host: keyshim does not follow
    "file:relative/ak",                 # Python opens it relative, Go does not
    "file:///run/secrets/a%20k",        # Go decodes the escape, Python does not
    "env://NOT-A-NAME",
    "env:AK_OLD_KEY",
])
def test_authentik_unclear_reference_is_refused(ns, value):
    result = refused(ns, "authentik", {AK: value, "AK_OLD_KEY": ns.secret(b64(60))}, EX_DATAERR)
    assert AK in result.stderr


@pytest.mark.parametrize("content", ["12345678901234567890123", '"a quoted old secret value"',
                                     "[1, 2, 3, 4, 5, 6, 7, 8, 9]"])
def test_authentik_referenced_key_that_reads_as_json_is_refused(ns, tmp_path, content):
    """authentik took the file's text as it is, but reads a variable that
    parses as JSON as JSON: exported, it would be another key."""
    secret = ns.secret_file(tmp_path / "ak", content)
    refused(ns, "authentik", {AK: f"file://{secret}"}, EX_DATAERR)


def test_authentik_plain_value_is_still_adopted_as_it_is(ns):
    key = ns.secret("an old secret: with a colon " + b64(8))
    vol = ns.volume()
    result = run(ns, vol, "authentik", {AK: key})
    assert states(result.stderr)[AK] == ("adopted", fingerprint(key))


# --- authentik: YAML configuration files ----------------------------------------

def etc_authentik(ns, tmp_path, files):
    """Shell for `setup`: a tmpfs on /etc in the test's own mount namespace
    holding /etc/authentik/... as given (files keyshim may read)."""
    src = tmp_path / "etc-authentik"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
        ns.secret_paths.add(str((src / name).resolve()))
    return f"mount -t tmpfs keyshim-etc /etc; cp -r {src} /etc/authentik\n"


@pytest.mark.parametrize("files,where", [
    ({"config.yml": "postgresql:\n  host: db\nsecret_key: KEY\n"}, "/etc/authentik/config.yml"),
    ({"config.d/10-keys.yml": "secret_key: \"KEY\"\n"}, "/etc/authentik/config.d/10-keys.yml"),
    ({"config.yml": "\"secret\\x5fkey\": KEY\n"}, "/etc/authentik/config.yml"),
])
def test_authentik_yaml_that_may_set_the_key_is_refused(ns, tmp_path, files, where):
    key = ns.secret(b64(60))
    setup = etc_authentik(ns, tmp_path, {k: v.replace("KEY", key) for k, v in files.items()})
    result = refused(ns, "authentik", {}, EX_CONFIG, setup=setup)
    assert where in result.stderr and "secret_key" in result.stderr
    # even with the key in the environment: the two may differ
    refused(ns, "authentik", {AK: key}, EX_CONFIG, setup=setup, vol=ns.volume("env"))


def test_authentik_yaml_without_the_key_is_fine(ns, tmp_path):
    setup = etc_authentik(ns, tmp_path, {"config.yml": "postgresql:\n  host: db\n",
                                     "config.d/20-mail.yml": "email:\n  port: 25\n"})
    vol = ns.volume()
    result = run(ns, vol, "authentik", setup=setup)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[AK][0] == "created"


def test_authentik_env_naming_other_yaml_files_is_refused(ns):
    result = refused(ns, "authentik", {"AUTHENTIK_ENV": "production"}, EX_CONFIG)
    assert "AUTHENTIK_ENV" in result.stderr


# --- Plausible: $CONFIG_DIR/NAME before the environment -------------------------

def config_dir(ns, tmp_path, value):
    directory = tmp_path / "secrets"
    directory.mkdir(exist_ok=True)
    ns.secret_file(directory / SKB, value)
    return directory


def test_plausible_config_dir_file_is_adopted(ns, tmp_path):
    key = b64(64)
    directory = config_dir(ns, tmp_path, key)
    vol = ns.volume()
    result = run(ns, vol, "plausible", {"CONFIG_DIR": str(directory)})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SKB] == ("adopted", fingerprint(key))
    assert f"from {directory / SKB}" in result.stderr
    assert vol.key(SKB) == key
    (directory / SKB).unlink()
    again = run(ns, vol, "plausible", {"CONFIG_DIR": str(directory)})
    assert states(again.stderr)[SKB] == ("loaded", fingerprint(key))


def test_plausible_default_run_secrets_is_read(ns, tmp_path):
    key = b64(64)
    directory = config_dir(ns, tmp_path, key)
    setup = f"mount -t tmpfs keyshim-run /run; mkdir /run/secrets; mount --bind {directory} /run/secrets\n"
    vol = ns.volume()
    result = run(ns, vol, "plausible", setup=setup)
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SKB] == ("adopted", fingerprint(key))
    assert "/run/secrets/SECRET_KEY_BASE" in result.stderr


def test_plausible_config_dir_file_wins_over_the_environment(ns, tmp_path):
    """Plausible never looks at SECRET_KEY_BASE when the file exists."""
    key, shadowed = b64(64), ns.secret(b64(64))
    directory = config_dir(ns, tmp_path, key)
    vol = ns.volume()
    result = run(ns, vol, "plausible", {"CONFIG_DIR": str(directory), SKB: shadowed})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SKB] == ("adopted", fingerprint(key))
    assert fingerprint(shadowed) in result.stderr and "not used" in result.stderr


def test_plausible_config_dir_file_conflicting_with_the_key_file_is_refused(ns, tmp_path):
    vol = ns.volume()
    assert states(run(ns, vol, "plausible").stderr)[SKB][0] == "created"
    other = b64(64)
    directory = config_dir(ns, tmp_path, other)
    env = {"CONFIG_DIR": str(directory)}
    result = refused(ns, "plausible", env, EX_CONFIG, vol=vol)
    assert fingerprint(other) in result.stderr and fingerprint(vol.key(SKB)) in result.stderr
    # the key file cannot win: Plausible would read the file anyway
    chosen = refused(ns, "plausible", env, EX_CONFIG, vol=vol, extra=("--on-conflict", "file"))
    assert str(directory / SKB) in chosen.stderr
    # the file can: it is what Plausible reads
    taken = run(ns, vol, "plausible", env, extra=("--on-conflict", "env"))
    assert taken.returncode == 0, taken.stderr
    assert states(taken.stderr)[SKB] == ("env", fingerprint(other))


def test_plausible_config_dir_file_is_trimmed(ns, tmp_path):
    key = b64(64)
    directory = config_dir(ns, tmp_path, key)
    (directory / SKB).write_text(f"\n {key} \n")
    vol = ns.volume()
    result = run(ns, vol, "plausible", {"CONFIG_DIR": str(directory)})
    assert states(result.stderr)[SKB] == ("adopted", fingerprint(key))


@pytest.mark.parametrize("content", ["", "\n", "too short"])
def test_plausible_config_dir_file_plausible_would_refuse_is_refused(ns, tmp_path, content):
    directory = config_dir(ns, tmp_path, b64(64))
    (directory / SKB).write_text(content)
    result = refused(ns, "plausible", {"CONFIG_DIR": str(directory)}, EX_DATAERR)
    assert str(directory / SKB) in result.stderr


# --- read as the service's user ---------------------------------------------------

def test_authentik_file_reference_is_read_with_the_service_users_rights(ns, shared_dir):
    """authentik opens the file as its own user: root with -u reads it with
    that user's rights, so a file only root may read is refused (77) and its
    key never reaches the volume; one the user may read is adopted."""
    base = pathlib.Path(shared_dir)
    mine, roots = b64(60), b64(60)
    readable = ns.secret_file(base / "ak-user", mine)
    os.chown(readable, 1001, 1001)
    secret_dir = base / "root-only"
    secret_dir.mkdir(mode=0o700)
    root_only = ns.secret_file(secret_dir / "ak", roots)
    for path, key, code in ((readable, mine, 0), (root_only, roots, 77)):
        vol = ns.volume(f"v{code}")
        result = ns.run(["-d", str(vol.mnt / "keys"), "-p", "authentik", "-u", "1001:1001",
                         "--", "true"], volume=vol, env={AK: f"file://{path}"}, dir_option=False)
        assert result.returncode == code, result.stderr
        if code:
            assert str(path) in result.stderr and vol.files() == []
            assert fingerprint(key) not in result.stderr
        else:
            assert states(result.stderr)[AK] == ("adopted", fingerprint(key))
