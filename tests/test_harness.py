"""The harness's own guarantees (tests/conftest.py), checked directly: the
leak check finds a key value wherever a test could have let it slip, and
require() turns a missing real part into a failure under CI=true."""

import base64
import os

import pytest

from conftest import STATIC_BIN, Namespaces, require


def value():
    return base64.b64encode(os.urandom(32)).decode()


def leaks_after(tmp_path, script, env=None):
    """Run `sh -c SCRIPT` as the harness would run keyshim; the leaks found."""
    ns = Namespaces(tmp_path, STATIC_BIN)
    vol = ns.volume()
    result = ns.run(["-c", script], volume=vol, binary="/bin/sh", dir_option=False, env=env)
    assert result.returncode == 0, result.stderr
    return ns.leaks()


@pytest.mark.parametrize("script,leaks", [('echo "$K"', True), ('echo "${#K}"', False),
                                           ('echo "$K" | b2sum -l 64', False)])
def test_leak_from_name_in_the_environment(tmp_path, script, leaks):
    assert bool(leaks_after(tmp_path, script, env={"K": value()})) == leaks


def test_leak_from_name_file_contents(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(value() + "\n")
    assert leaks_after(tmp_path, 'cat "$K_FILE" >&2', env={"K_FILE": str(secret)})


def test_leak_from_the_volume(tmp_path):
    ns = Namespaces(tmp_path, STATIC_BIN)
    vol = ns.volume()
    (vol.data / "K").write_text(value() + "\n")
    ns.run(["-c", f"cat {vol.mnt}/K"], volume=vol, binary="/bin/sh", dir_option=False)
    assert ns.leaks()


def test_leak_into_a_file_outside_the_key_directory(tmp_path):
    v = value()
    out = tmp_path / "service.log"
    assert leaks_after(tmp_path, f'echo "$K" > {out}', env={"K": v})


def test_leak_in_argv_and_registered_secrets(tmp_path):
    ns = Namespaces(tmp_path, STATIC_BIN)
    v = ns.secret(value())
    ns.run(["-c", "true", v], binary="/bin/sh", dir_option=False)
    assert any(l.startswith("argv") for l in ns.leaks())


def test_secret_files_and_key_directories_may_hold_values(tmp_path):
    ns = Namespaces(tmp_path, STATIC_BIN)
    vol = ns.volume()
    secret = ns.secret_file(tmp_path / "secret", value())
    keys = tmp_path / "keys"
    keys.mkdir()
    ns.run(["-c", f'cp "$K_FILE" {keys}/K; cp "$K_FILE" {vol.mnt}/K', "-d", str(keys)],
           volume=vol, binary="/bin/sh", dir_option=False, env={"K_FILE": str(secret)})
    assert (keys / "K").exists() and (vol.data / "K").exists()
    assert ns.leaks() == []


@pytest.mark.parametrize("ci,allow,outcome", [
    ("", "", "skip"), ("true", "", "fail"), ("true", "podman", "skip"),
    ("true", "qemu,podman", "skip"), ("true", "all", "skip"), ("true", "qemu", "fail"),
])
def test_require_fails_under_ci_unless_allowed(monkeypatch, ci, allow, outcome):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("KEYSHIM_TEST_ALLOW_SKIP", allow)
    require("podman", True, "never raised when available")
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
    with pytest.raises(expected) as raised:
        require("podman", False, "podman info failed")
    assert "podman" in str(raised.value) and "podman info failed" in str(raised.value)
