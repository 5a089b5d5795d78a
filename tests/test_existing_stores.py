"""Existing deployments, continued (issue 12): where the service keeps keys
keyshim cannot read, keyshim refuses (78) rather than create a key in front
of them; Airflow 3.0.0/3.0.1's [webserver] secret_key; the official Airflow
docker-compose.yaml, whose AIRFLOW__CORE__FERNET_KEY is empty when FERNET_KEY
is unset.

Every refusal is checked to leave the volume untouched and to name the file
or variable; no key value may appear in any output (conftest)."""

import base64
import json
import os
import re

import jwt
import pytest
import yaml
from cryptography.fernet import Fernet

from conftest import ROOT, fingerprint, states

PYTHON = "/usr/bin/python3"
EX_DATAERR, EX_CONFIG = 65, 78
FERNET = "AIRFLOW__CORE__FERNET_KEY"
JWT = "AIRFLOW__API_AUTH__JWT_SECRET"
API = "AIRFLOW__API__SECRET_KEY"
WEBSERVER = "AIRFLOW__WEBSERVER__SECRET_KEY"
SEMAPHORE_ACCESS = "SEMAPHORE_ACCESS_KEY_ENCRYPTION"


def b64(n):
    return base64.b64encode(os.urandom(n)).decode()


def semaphore_json(directory, extra=None, name="config.json"):
    config = {"dialect": "sqlite", "sqlite": {"host": "/var/lib/semaphore/database.sqlite"},
              "access_key_encryption": b64(32), "cookie_hash": b64(32),
              "cookie_encryption": b64(32), **(extra or {})}
    (directory / name).write_text(json.dumps(config, indent="\t"))
    return config


def refused(ns, args, env, vol=None):
    vol = vol or ns.volume()
    result = ns.run([*args, "--", "true"], volume=vol, env=env)
    assert result.returncode == EX_CONFIG, result.stderr
    assert vol.files() == [], "a refusal wrote to the volume"
    assert result.stderr.count("keyshim: error:") == 1, result.stderr
    return result


# --- Semaphore: YAML config, keyring, option_encryption ---------------------

@pytest.mark.parametrize("name", ["config.yaml", "config.yml"])
def test_semaphore_yaml_config_is_refused(ns, tmp_path, name):
    """Semaphore reads config.yaml/config.yml when config.json is missing:
    keyshim cannot read YAML, so it must not create keys in front of it."""
    confdir = tmp_path / "etc-semaphore"
    confdir.mkdir()
    (confdir / name).write_text("access_key_encryption: " + b64(32) + "\n")
    result = refused(ns, ["-p", "semaphore"], {"SEMAPHORE_CONFIG_PATH": str(confdir)})
    assert str(confdir / name) in result.stderr and "config.json" in result.stderr


def test_semaphore_yaml_beside_json_reads_the_json(ns, tmp_path):
    """config.json comes first for Semaphore too: keyshim adopts from it."""
    confdir = tmp_path / "etc-semaphore"
    confdir.mkdir()
    config = semaphore_json(confdir)
    (confdir / "config.yaml").write_text("web_host: ''\n")
    vol = ns.volume()
    result = ns.run(["-p", "semaphore", "--", "true"], volume=vol,
                    env={"SEMAPHORE_CONFIG_PATH": str(confdir)})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr)[SEMAPHORE_ACCESS] == (
        "adopted", fingerprint(config["access_key_encryption"]))


def test_semaphore_keyring_in_config_is_refused(ns, tmp_path):
    confdir = tmp_path / "etc-semaphore"
    confdir.mkdir()
    semaphore_json(confdir, {"encryption": {"keys_file": "/etc/semaphore/keys.json"}})
    result = refused(ns, ["-p", "semaphore"], {"SEMAPHORE_CONFIG_PATH": str(confdir)})
    assert str(confdir / "config.json") in result.stderr
    assert "encryption" in result.stderr and "-k SEMAPHORE_COOKIE_HASH" in result.stderr


def test_semaphore_keyring_variable_is_refused(ns, tmp_path):
    result = refused(ns, ["-p", "semaphore"],
                     {"SEMAPHORE_ENCRYPTION_KEYS_FILE": "/etc/semaphore/keys.json"})
    assert "SEMAPHORE_ENCRYPTION_KEYS_FILE is set" in result.stderr


def test_semaphore_cookie_keys_alone_work_beside_a_keyring(ns):
    """The fix the refusal names: keyshim keeps only the cookie keys."""
    vol = ns.volume()
    result = ns.run(["-k", "SEMAPHORE_COOKIE_HASH", "-k", "SEMAPHORE_COOKIE_ENCRYPTION",
                     "--", "true"], volume=vol,
                    env={"SEMAPHORE_ENCRYPTION_KEYS_FILE": "/etc/semaphore/keys.json"})
    assert result.returncode == 0, result.stderr
    assert vol.files() == ["SEMAPHORE_COOKIE_ENCRYPTION", "SEMAPHORE_COOKIE_HASH"]


def test_semaphore_option_key_in_config_is_refused(ns, tmp_path):
    confdir = tmp_path / "etc-semaphore"
    confdir.mkdir()
    config = semaphore_json(confdir, {"option_encryption": b64(32)})
    result = refused(ns, ["-p", "semaphore"], {"SEMAPHORE_CONFIG_PATH": str(confdir)})
    assert "option_encryption" in result.stderr and "SEMAPHORE_OPTION_ENCRYPTION" in result.stderr
    assert config["option_encryption"] not in result.stderr


def test_semaphore_empty_option_key_is_no_key(ns, tmp_path):
    confdir = tmp_path / "etc-semaphore"
    confdir.mkdir()
    semaphore_json(confdir, {"option_encryption": ""})
    vol = ns.volume()
    result = ns.run(["-p", "semaphore", "--", "true"], volume=vol,
                    env={"SEMAPHORE_CONFIG_PATH": str(confdir)})
    assert result.returncode == 0, result.stderr


# --- Airflow: _cmd / _secret inside airflow.cfg -----------------------------

@pytest.mark.parametrize("section,option", [
    ("core", "fernet_key_cmd"), ("core", "fernet_key_secret"),
    ("api_auth", "jwt_secret_cmd"), ("api", "secret_key_secret"),
    ("webserver", "secret_key_cmd"),
])
def test_airflow_cfg_cmd_and_secret_are_refused(ns, tmp_path, section, option):
    """Airflow runs `[core] fernet_key_cmd` (or asks the secrets backend for
    `fernet_key_secret`) when fernet_key is unset: keyshim cannot, and its
    export would win."""
    cfg = tmp_path / "airflow.cfg"
    head = "" if section == "core" else "[core]\ndags_folder = /opt/airflow/dags\n\n"
    cfg.write_text(f"{head}[{section}]\n{option} = cat /run/secrets/airflow-key\n")
    result = refused(ns, ["-p", "airflow"], {"AIRFLOW_CONFIG": str(cfg)})
    assert str(cfg) in result.stderr and f"[{section}] {option}" in result.stderr
    assert "_FILE" in result.stderr


def test_airflow_webserver_cmd_variable_is_refused(ns):
    result = refused(ns, ["-p", "airflow"], {WEBSERVER + "_CMD": "cat /run/secrets/key"})
    assert WEBSERVER + "_CMD is set" in result.stderr


@pytest.mark.parametrize("value,why", [
    ("$FERNET_KEY", "expands"), ("${FERNET_KEY}", "expands"),
    ("~/fernet", "~"), ("%(other)s", "interpolat"),
])
def test_airflow_cfg_value_airflow_would_rewrite_fails_closed(ns, tmp_path, value, why):
    """Airflow expands $VARS, a leading ~ and % interpolation in airflow.cfg:
    keyshim cannot know the result, so it refuses, naming file and option."""
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[core]\nother = x\nfernet_key = {value}\n")
    vol = ns.volume()
    result = ns.run(["-p", "airflow", "--", "true"], volume=vol,
                    env={"AIRFLOW_CONFIG": str(cfg), "FERNET_KEY": Fernet.generate_key().decode()})
    assert result.returncode == EX_DATAERR, result.stderr
    line = [l for l in result.stderr.splitlines() if "keyshim: error:" in l]
    assert len(line) == 1 and str(cfg) in line[0] and "[core] fernet_key" in line[0], result.stderr
    assert why in line[0].lower() or why in line[0], line[0]
    assert vol.files() == []


# --- Airflow 3.0.0/3.0.1: [webserver] secret_key ----------------------------

# The consumer: what an Airflow component would see. Writes a verdict, never a key.
SEES = r'''
import json, os, sys, jwt
state = json.load(open(sys.argv[1]))
verdict = {"same": os.environ.get("AIRFLOW__API__SECRET_KEY") == os.environ.get("AIRFLOW__WEBSERVER__SECRET_KEY")}
for name in ("AIRFLOW__API__SECRET_KEY", "AIRFLOW__WEBSERVER__SECRET_KEY"):
    try:
        jwt.decode(state["token"], os.environ[name], algorithms=["HS512"], audience="task-instance-logs")
        verdict[name] = True
    except Exception as error:
        verdict[name] = type(error).__name__
if "fernet" in state:
    from cryptography.fernet import Fernet
    verdict["fernet_set"] = bool(os.environ.get("AIRFLOW__CORE__FERNET_KEY"))
    try:
        verdict["fernet"] = Fernet(os.environ["AIRFLOW__CORE__FERNET_KEY"]).decrypt(state["fernet"].encode()) == b"conn"
    except Exception as error:
        verdict["fernet"] = type(error).__name__
verdict["jwt_published"] = os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET") == "airflow_jwt_secret"
json.dump(verdict, open(sys.argv[2], "w"))
'''


def sees(ns, tmp_path, vol, env, secret, fernet=None):
    state = tmp_path / "state.json"
    verdict = tmp_path / "verdict.json"
    data = {"token": jwt.encode({"sub": "log", "aud": "task-instance-logs"}, secret,
                                algorithm="HS512")}
    if fernet:
        data["fernet"] = Fernet(fernet).encrypt(b"conn").decode()
    state.write_text(json.dumps(data))
    if verdict.exists():
        verdict.unlink()
    result = ns.run(["-p", "airflow", "--", PYTHON, "-c", SEES, str(state), str(verdict)],
                    volume=vol, env=env)
    return result, json.loads(verdict.read_text()) if verdict.exists() else None


def test_airflow_3_0_webserver_secret_key_in_cfg_is_adopted_and_exported_under_both_names(
        ns, tmp_path):
    """A 3.0.0/3.0.1 deployment keeps the key as [webserver] secret_key;
    3.0.2+ still fall back to it. keyshim adopts it as AIRFLOW__API__SECRET_KEY
    and exports it under both names."""
    old = b64(16)  # Airflow's own default: b64encode(os.urandom(16))
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[core]\nfernet_key = {Fernet.generate_key().decode()}\n\n"
                   f"[webserver]\nsecret_key = {old}\n")
    vol = ns.volume()
    result, verdict = sees(ns, tmp_path, vol, {"AIRFLOW_CONFIG": str(cfg)}, old)
    assert result.returncode == 0, result.stderr
    assert verdict == {"same": True, API: True, WEBSERVER: True, "jwt_published": False}, result.stderr
    assert states(result.stderr)[API] == ("adopted", fingerprint(old))
    assert f"from {cfg}" in result.stderr
    assert vol.key(API) == old


def test_airflow_api_section_wins_over_webserver_section(ns, tmp_path):
    new, old = b64(64), b64(64)
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[api]\nsecret_key = {new}\n\n[webserver]\nsecret_key = {old}\n")
    vol = ns.volume()
    result, verdict = sees(ns, tmp_path, vol, {"AIRFLOW_CONFIG": str(cfg)}, new)
    assert result.returncode == 0, result.stderr
    assert verdict[API] is True and verdict[WEBSERVER] is True
    assert states(result.stderr)[API] == ("adopted", fingerprint(new))
    assert fingerprint(old) in result.stderr and "is not used" in result.stderr


def test_airflow_webserver_variable_is_adopted(ns, tmp_path):
    old = b64(64)
    vol = ns.volume()
    result, verdict = sees(ns, tmp_path, vol, {WEBSERVER: old}, old)
    assert result.returncode == 0, result.stderr
    assert verdict[API] is True and verdict[WEBSERVER] is True and verdict["same"]
    assert states(result.stderr)[API] == ("adopted", fingerprint(old))
    assert f"from {WEBSERVER}" in result.stderr
    # next start: the volume alone; a different old-name value is a conflict
    other = b64(64)
    conflict = ns.run(["-p", "airflow", "--", "true"], volume=vol, env={WEBSERVER: other})
    assert conflict.returncode == EX_CONFIG, conflict.stderr
    assert fingerprint(other) in conflict.stderr and f"unset {WEBSERVER}" in conflict.stderr


# --- the official docker-compose.yaml ---------------------------------------

# A faithful copy of the environment block of `x-airflow-common` in
# Airflow's official docker-compose.yaml (airflow-core/docs/howto/
# docker-compose/docker-compose.yaml @b9584335).
OFFICIAL_ENV = """
AIRFLOW__CORE__EXECUTOR: CeleryExecutor
AIRFLOW__CORE__AUTH_MANAGER: airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://airflow:airflow@postgres/airflow
AIRFLOW__CELERY__RESULT_BACKEND: db+postgresql://airflow:airflow@postgres/airflow
AIRFLOW__CELERY__BROKER_URL: redis://:@redis:6379/0
AIRFLOW__CORE__FERNET_KEY: ${FERNET_KEY}
AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'true'
AIRFLOW__CORE__LOAD_EXAMPLES: 'true'
AIRFLOW__CORE__EXECUTION_API_SERVER_URL: 'http://airflow-apiserver:8080/execution/'
AIRFLOW__API_AUTH__JWT_SECRET: ${AIRFLOW__API_AUTH__JWT_SECRET:-airflow_jwt_secret}
AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'true'
_PIP_ADDITIONAL_REQUIREMENTS: ${_PIP_ADDITIONAL_REQUIREMENTS:-}
AIRFLOW_CONFIG: '/opt/airflow/config/airflow.cfg'
"""


def interpolate(value, shell_env):
    """Compose's ${VAR} and ${VAR:-default}, as `docker compose` does."""
    def one(m):
        name, default = m.group(1), m.group(3)
        got = shell_env.get(name, "")
        return got if got or default is None else default
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, str(value))


def merged_environment(shell_env):
    """The official block, with examples/airflow merged in as the README
    says (its environment keys replace the official ones)."""
    env = yaml.safe_load(OFFICIAL_ENV)
    example = yaml.safe_load((ROOT / "examples/airflow/compose.entrypoint.yaml").read_text())
    env.update(example["x-airflow"]["environment"])
    return {k: interpolate(v, shell_env) for k, v in env.items()}


def test_official_compose_empty_fernet_variable_does_not_win_over_airflow_cfg(ns, tmp_path):
    """FERNET_KEY unset: the official compose passes AIRFLOW__CORE__FERNET_KEY=""
    (Airflow would then store connections UNENCRYPTED); airflow-init wrote a
    generated key into the shared config/airflow.cfg. keyshim adopts that key
    and exports it; the published JWT secret is not kept."""
    env = merged_environment({})
    assert env[FERNET] == "" and env[JWT] == "airflow_jwt_secret"
    # what `airflow config list` in airflow-init writes: a Fernet key, and
    # random jwt_secret and secret_key of 16 bytes
    fernet, secret = Fernet.generate_key().decode(), b64(16)
    config = tmp_path / "config"
    config.mkdir()
    (config / "airflow.cfg").write_text(
        f"[core]\ndags_folder = /opt/airflow/dags\nfernet_key = {fernet}\n\n"
        f"[api]\nsecret_key = {secret}\n\n[api_auth]\njwt_secret = {b64(16)}\n")
    env["AIRFLOW_CONFIG"] = str(config / "airflow.cfg")
    vol = ns.volume()
    result, verdict = sees(ns, tmp_path, vol, env, secret, fernet=fernet)
    assert result.returncode == 0, result.stderr
    assert verdict == {"same": True, API: True, WEBSERVER: True, "fernet_set": True,
                       "fernet": True, "jwt_published": False}, result.stderr
    seen = states(result.stderr)
    assert seen[FERNET] == ("adopted", fingerprint(fernet))
    assert seen[JWT][0] == "created" and "published" in result.stderr
    assert vol.key(FERNET) == fernet


@pytest.mark.parametrize("args", [["-p", "airflow", "-p", "airflow2"],
                                  ["-p", "airflow", "-k", WEBSERVER]])
def test_a_name_exported_twice_is_refused(ns, args):
    """AIRFLOW__WEBSERVER__SECRET_KEY is the airflow preset's second name for
    its API secret key: asking for it as a key too would export it twice,
    with two values."""
    vol = ns.volume()
    result = ns.run([*args, "--", "true"], volume=vol)
    assert result.returncode == 64, result.stderr
    assert WEBSERVER in result.stderr and API in result.stderr
    assert vol.files() == []


def test_every_preset_with_a_file_of_its_own_in_one_run(ns):
    """A shared init container may name them all: each service's file is
    looked for (none exists here), and nothing runs out of room (this
    exited 70, 'too many service configuration files', with five)."""
    presets = ["semaphore", "airflow", "plausible", "grafana", "gitea", "n8n", "node-red",
               "authentik"]
    args = [a for p in presets for a in ("-p", p)]
    result = ns.run(args + ["--", "true"], volume=ns.volume())
    assert result.returncode == 0, result.stderr
    assert {state for state, _ in states(result.stderr).values()} == {"created"}
