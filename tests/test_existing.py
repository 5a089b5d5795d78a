"""Existing deployments (issue 12): keyshim takes over the keys a service
already uses, from each place the service keeps them, and never shadows
them with new ones.

Every scenario encrypts or signs data with an "old" key BEFORE keyshim is
introduced, with the libraries the services use (cryptography's Fernet and
PyJWT as Airflow does, AES-256-GCM keyed as Semaphore does), then puts
keyshim as PID 1 in front of the consumer: the consumer must decrypt. The
old key is given as the service would have it: in the environment, in
NAME_FILE, in the service's own config file. _CMD/_SECRET, conflicts and
broken or unreadable config files are refused before anything is written."""

import base64
import json
import os
import shutil
import tempfile

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import fingerprint, states

PYTHON = "/usr/bin/python3"
EX_DATAERR, EX_NOPERM, EX_CONFIG = 65, 77, 78

SEMAPHORE_ACCESS = "SEMAPHORE_ACCESS_KEY_ENCRYPTION"
FERNET = "AIRFLOW__CORE__FERNET_KEY"
JWT = "AIRFLOW__API_AUTH__JWT_SECRET"
API = "AIRFLOW__API__SECRET_KEY"
PLAIN = b"a password stored before keyshim came"
CLAIMS = {"sub": "admin", "aud": "task-instance-logs"}

# The consumer: decrypts what was stored before, with the keys it was
# exported; writes a verdict to a JSON file, never a key.
CONSUMER = r'''
import base64, json, os, sys, warnings
import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
state = json.load(open(sys.argv[1]))
verdict = {}
warnings.simplefilter("ignore")
if "aesgcm" in state:
    key = base64.b64decode(os.environ["SEMAPHORE_ACCESS_KEY_ENCRYPTION"], validate=True)
    raw = base64.b64decode(state["aesgcm"])
    try:
        verdict["aesgcm"] = AESGCM(key).decrypt(raw[:12], raw[12:], None) == state["plain"].encode()
    except Exception as error:
        verdict["aesgcm"] = type(error).__name__
if "fernet" in state:
    try:
        verdict["fernet"] = Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"]).decrypt(
            state["fernet"].encode()) == state["plain"].encode()
    except InvalidToken:
        verdict["fernet"] = "InvalidToken"
for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
    if name in state:
        try:
            jwt.decode(state[name], os.environ[name], algorithms=["HS512"],
                       audience="task-instance-logs")
            verdict[name] = True
        except jwt.InvalidSignatureError:
            verdict[name] = "InvalidSignatureError"
json.dump(verdict, open(sys.argv[2], "w"))
'''


class Before:
    """A deployment before keyshim: old keys, and data made with them."""

    def __init__(self, tmp, keys):
        self.keys = keys
        self.dir = tmp / "before"
        self.dir.mkdir(exist_ok=True)
        state = {"plain": PLAIN.decode()}
        if SEMAPHORE_ACCESS in keys:
            key = base64.b64decode(keys[SEMAPHORE_ACCESS])
            nonce = os.urandom(12)
            state["aesgcm"] = base64.b64encode(nonce + AESGCM(key).encrypt(nonce, PLAIN, None)).decode()
        if FERNET in keys:
            state["fernet"] = Fernet(keys[FERNET]).encrypt(PLAIN).decode()
        for name in (JWT, API):
            if name in keys:
                state[name] = jwt.encode(CLAIMS, keys[name], algorithm="HS512")
        self.state = self.dir / "state.json"
        self.state.write_text(json.dumps(state))
        self.verdict = self.dir / "verdict.json"

    def expected(self):
        found = {}
        if SEMAPHORE_ACCESS in self.keys:
            found["aesgcm"] = True
        if FERNET in self.keys:
            found["fernet"] = True
        for name in (JWT, API):
            if name in self.keys:
                found[name] = True
        return found

    def consumer(self):
        return ["--", PYTHON, "-c", CONSUMER, str(self.state), str(self.verdict)]

    def run(self, ns, vol, preset, env=None, args=()):
        if self.verdict.exists():
            self.verdict.unlink()
        result = ns.run(["-p", preset, *args, *self.consumer()], volume=vol, env=env)
        verdict = json.loads(self.verdict.read_text()) if self.verdict.exists() else None
        return result, verdict


def old_semaphore_keys():
    # a 16-byte AES key (AES-128: Semaphore accepts it, keyshim never makes it)
    return {SEMAPHORE_ACCESS: base64.b64encode(os.urandom(16)).decode(),
            "SEMAPHORE_COOKIE_HASH": base64.b64encode(os.urandom(64)).decode(),
            "SEMAPHORE_COOKIE_ENCRYPTION": base64.b64encode(os.urandom(32)).decode()}


def old_airflow_keys():
    # `openssl rand -base64 32`: '+' and '/' in a Fernet key, which Python reads
    while True:
        fernet = base64.b64encode(os.urandom(32)).decode()
        if "+" in fernet or "/" in fernet:
            break
    return {FERNET: fernet,
            JWT: base64.b64encode(os.urandom(16)).decode(),      # Airflow's own default size
            API: base64.urlsafe_b64encode(os.urandom(96)).decode()}


def semaphore_config(directory, keys):
    fields = {"access_key_encryption": keys[SEMAPHORE_ACCESS],
              "cookie_hash": keys["SEMAPHORE_COOKIE_HASH"],
              "cookie_encryption": keys["SEMAPHORE_COOKIE_ENCRYPTION"]}
    config = {"sqlite": {"host": "/var/lib/semaphore/database.sqlite"}, "dialect": "sqlite",
              "tmp_path": "/tmp/semaphore", **fields, "web_host": ""}
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent="\t"))
    return path


def airflow_config(path, keys):
    path.write_text(
        "[core]\ndags_folder = /opt/airflow/dags\n"
        f"fernet_key = {keys[FERNET]}\n\n"
        "[api]\nbase_url = http://localhost:8080\n"
        f"secret_key = {keys[API]}\n\n"
        "[api_auth]\njwt_expiration_time = 86400\n"
        f"jwt_secret = {keys[JWT]}\n")
    return path


PRESETS = {"semaphore": old_semaphore_keys, "airflow": old_airflow_keys}


def give(source, preset, keys, tmp):
    """The environment that hands keyshim the old keys from `source`."""
    env = {}
    if source == "environment":
        env.update(keys)
    elif source == "file_var":
        for name, value in keys.items():
            path = tmp / f"secret-{name}"
            path.write_text(value + "\n")
            env[f"{name}_FILE"] = str(path)
    elif preset == "semaphore":
        confdir = tmp / "etc-semaphore"
        confdir.mkdir()
        semaphore_config(confdir, keys)
        env["SEMAPHORE_CONFIG_PATH"] = str(confdir)
    else:
        home = tmp / "airflow-home"
        home.mkdir()
        airflow_config(home / "airflow.cfg", keys)
        env["AIRFLOW_HOME"] = str(home)
    return env


def assert_no_value(result, keys):
    for value in keys.values():
        assert value not in result.stdout + result.stderr


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("source", ["environment", "file_var", "config"])
def test_old_data_still_decrypts(ns, tmp_path, preset, source):
    keys = PRESETS[preset]()
    before = Before(tmp_path, keys)
    vol = ns.volume()
    env = give(source, preset, keys, tmp_path)

    result, verdict = before.run(ns, vol, preset, env=env)
    assert result.returncode == 0, result.stderr
    assert verdict == before.expected(), result.stderr
    assert_no_value(result, keys)
    seen = states(result.stderr)
    for name, value in keys.items():
        if source == "file_var":
            assert seen[name] == ("file", fingerprint(value)), result.stderr
            assert name not in vol.files()
        else:
            assert seen[name] == ("adopted", fingerprint(value)), result.stderr
            # the key file keeps the value exactly as adopted
            assert vol.key(name) == value
    if source == "config":
        config_name = "config.json" if preset == "semaphore" else "airflow.cfg"
        adopted = [l for l in result.stderr.splitlines() if " adopted " in l]
        assert adopted and all(config_name in l for l in adopted), result.stderr
    if preset == "airflow" and source != "file_var":
        # the old JWT secret is 24 characters: a warning, by fingerprint
        assert f"{JWT}: the value from" in result.stderr
        assert fingerprint(keys[JWT]) in result.stderr

    if source == "file_var":
        return
    # keyshim is now in place: the next start needs nothing but the volume
    again, verdict = before.run(ns, vol, preset)
    assert again.returncode == 0, again.stderr
    assert verdict == before.expected()
    assert {n: s for n, (s, _) in states(again.stderr).items()} == dict.fromkeys(keys, "loaded")


@pytest.mark.parametrize("suffix", ["_CMD", "_SECRET"])
def test_cmd_and_secret_are_refused(ns, tmp_path, suffix):
    vol = ns.volume()
    env = {FERNET + suffix: "cat /run/secrets/fernet" if suffix == "_CMD" else "airflow/fernet"}
    before_run = vol.snapshot()
    result = ns.run(["-p", "airflow", "--", "true"], volume=vol, env=env)
    assert result.returncode == EX_CONFIG, result.stderr
    assert FERNET + suffix in result.stderr and f"{FERNET}_FILE" in result.stderr
    assert vol.snapshot() == before_run == {}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_config_differing_from_the_volume_is_refused(ns, tmp_path, preset):
    keys = PRESETS[preset]()
    vol = ns.volume()
    first = ns.run(["-p", preset, "init"], volume=vol)
    assert first.returncode == 0, first.stderr
    env = give("config", preset, keys, tmp_path)
    snap = vol.snapshot()
    result = ns.run(["-p", preset, "--", "true"], volume=vol, env=env)
    assert result.returncode == EX_CONFIG, result.stderr
    name = SEMAPHORE_ACCESS if preset == "semaphore" else FERNET
    assert fingerprint(keys[name]) in result.stderr
    assert fingerprint(vol.key(name)) in result.stderr
    assert vol.snapshot() == snap
    assert_no_value(result, keys)


BROKEN = {
    "semaphore": ('{"access_key_encryption": "abc', "config.json"),
    "airflow": ("[core\nfernet_key = x\n", "airflow.cfg"),
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_broken_config_fails_closed(ns, tmp_path, preset):
    text, name = BROKEN[preset]
    confdir = tmp_path / "conf"
    confdir.mkdir()
    (confdir / name).write_text(text)
    env = ({"SEMAPHORE_CONFIG_PATH": str(confdir)} if preset == "semaphore"
           else {"AIRFLOW_CONFIG": str(confdir / name)})
    vol = ns.volume()
    result = ns.run(["-p", preset, "--", "true"], volume=vol, env=env)
    assert result.returncode == EX_DATAERR, result.stderr
    assert str(confdir / name) in result.stderr
    assert vol.files() == []


def test_config_value_of_the_wrong_form_fails_closed(ns, tmp_path):
    keys = old_semaphore_keys()
    keys[SEMAPHORE_ACCESS] = base64.b64encode(os.urandom(20)).decode()  # no AES key
    env = give("config", "semaphore", keys, tmp_path)
    vol = ns.volume()
    result = ns.run(["-p", "semaphore", "--", "true"], volume=vol, env=env)
    assert result.returncode == EX_DATAERR, result.stderr
    assert "config.json" in result.stderr and "access_key_encryption" in result.stderr
    assert vol.files() == []
    assert_no_value(result, keys)


@pytest.fixture
def shared_dir():
    """A directory every user may enter (pytest's tmp_path is root's only)."""
    path = tempfile.mkdtemp(prefix="keyshim-conf-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def test_config_is_read_with_the_service_users_rights(ns, tmp_path, shared_dir):
    """Root with -u: a config.json the service user may read is adopted; a
    symlink it planted to a file only root may read is refused (77), and
    that file's key never reaches the volume."""
    import pathlib
    base = pathlib.Path(shared_dir)
    keys = old_semaphore_keys()
    confdir = base / "etc-semaphore"
    confdir.mkdir()
    os.chown(confdir, 1001, 1001)
    config = semaphore_config(confdir, keys)
    os.chown(config, 1001, 1001)
    os.chmod(config, 0o600)
    vol = ns.volume()
    args = ["-d", str(vol.mnt / "keys"), "-p", "semaphore", "-u", "1001:1001", "--", "true"]
    env = {"SEMAPHORE_CONFIG_PATH": str(confdir)}
    ok = ns.run(args, volume=vol, env=env, dir_option=False)
    assert ok.returncode == 0, ok.stderr
    assert states(ok.stderr)[SEMAPHORE_ACCESS] == ("adopted", fingerprint(keys[SEMAPHORE_ACCESS]))

    # root's secret, and the service user's symlink to it
    secret_dir = base / "root-only"
    secret_dir.mkdir(mode=0o700)
    other = old_semaphore_keys()
    secret = semaphore_config(secret_dir, other)
    os.chmod(secret, 0o600)
    evil = base / "evil"
    evil.mkdir()
    os.chown(evil, 1001, 1001)
    os.symlink(secret, evil / "config.json")
    vol2 = ns.volume("second")
    args2 = ["-d", str(vol2.mnt / "keys"), "-p", "semaphore", "-u", "1001:1001", "--", "true"]
    refused = ns.run(args2, volume=vol2, env={"SEMAPHORE_CONFIG_PATH": str(evil)},
                     dir_option=False)
    assert refused.returncode == EX_NOPERM, refused.stderr
    assert str(evil / "config.json") in refused.stderr
    assert vol2.files() == []
    assert_no_value(refused, other)
    assert fingerprint(other[SEMAPHORE_ACCESS]) not in refused.stderr


def test_published_session_key_is_ignored(ns):
    vol = ns.volume()
    result = ns.run(["-p", "airflow", "--", "true"], volume=vol,
                    env={JWT: "airflow_jwt_secret"})
    assert result.returncode == 0, result.stderr
    assert "published" in result.stderr and fingerprint("airflow_jwt_secret") in result.stderr
    assert states(result.stderr)[JWT][0] == "created"
    assert vol.key(JWT) != "airflow_jwt_secret"


def test_published_data_key_is_refused_unless_told(ns, tmp_path):
    published = "IlRqgrrO5Gp27MlWakDX1xVrPv4jhoUx+ARY+qGyDxQ="
    vol = ns.volume()
    result = ns.run(["-p", "semaphore", "--", "true"], volume=vol,
                    env={SEMAPHORE_ACCESS: published})
    assert result.returncode == EX_CONFIG, result.stderr
    assert "--adopt-published" in result.stderr and fingerprint(published) in result.stderr
    assert vol.files() == []
    keys = dict(old_semaphore_keys(), **{SEMAPHORE_ACCESS: published})
    before = Before(tmp_path, keys)
    told, verdict = before.run(ns, vol, "semaphore", env={SEMAPHORE_ACCESS: published},
                               args=["--adopt-published"])
    assert told.returncode == 0, told.stderr
    assert verdict == {"aesgcm": True}
    assert states(told.stderr)[SEMAPHORE_ACCESS] == ("adopted", fingerprint(published))
    assert "published" in told.stderr


def test_service_cli_in_a_running_container_reads_only(ns, tmp_path):
    """`docker compose exec SERVICE /keyshim -p airflow --no-create -- airflow
    connections list`: the keys of the volume, nothing written, and a
    volume without them is refused rather than given new ones."""
    keys = old_airflow_keys()
    before = Before(tmp_path, keys)
    vol = ns.volume()
    adopted, _ = before.run(ns, vol, "airflow", env=keys)
    assert adopted.returncode == 0, adopted.stderr
    snap = vol.snapshot()
    result, verdict = before.run(ns, vol, "airflow", args=["--no-create"])
    assert result.returncode == 0, result.stderr
    assert verdict == before.expected()
    assert vol.snapshot() == snap
    empty = ns.volume("empty")
    refused, verdict = before.run(ns, empty, "airflow", args=["--no-create"])
    assert refused.returncode == EX_CONFIG and verdict is None, refused.stderr
    assert empty.files() == []
