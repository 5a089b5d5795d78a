"""keyshim's core behaviour, end to end: the real binary as PID 1 in fresh
namespaces (see conftest.py), a host directory as the volume.

Every failure case checks the exact exit code, that the volume is byte for
byte what it was (vol.snapshot()), and that stderr carries exactly one
"keyshim: error:" line naming the file or variable at fault."""

import base64
import binascii
import fcntl
import os
import re
import shutil
import socket
import stat
import time

import pytest

from conftest import AIRFLOW, SEMAPHORE, fingerprint, states

EX_USAGE, EX_DATAERR, EX_NOPERM, EX_CONFIG = 64, 65, 77, 78
TEMP_PREFIX = ".keyshim-tmp-"


# --- helpers -------------------------------------------------------------

def fp_service(*names):
    """`-- COMMAND` for a service that prints "NAME FINGERPRINT" for each
    variable it got, computed inside the service: never the value."""
    script = "; ".join(f'printf "%s " {n}; printf %s "${n}" | b2sum -l 64' for n in names)
    return ["--", "sh", "-c", script]


def exported(stdout):
    """{NAME: FINGERPRINT} from fp_service's output."""
    return {f[0]: f[1] for f in (line.split() for line in stdout.splitlines()) if len(f) >= 2}


def table(stdout):
    """{NAME: (FINGERPRINT, STATE)} from init's or check's stdout."""
    rows = [line.split(" ") for line in stdout.splitlines()]
    assert all(len(r) == 3 for r in rows), stdout
    return {r[0]: (r[1], r[2]) for r in rows}


def file_fps(vol, names):
    return {n: fingerprint(vol.key(n)) for n in names}


def assert_error(result, code, *needles):
    """Exit code `code` and one error line that mentions every needle."""
    assert result.returncode == code, (result.returncode, result.stderr)
    errors = [l for l in result.stderr.splitlines() if l.startswith("keyshim: error: ")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


def b64(n=32):
    return base64.b64encode(os.urandom(n)).decode()


def write_key(path, text, mode=0o600):
    """A key file as keyshim writes it (or deliberately not: any bytes)."""
    path.write_bytes(text if isinstance(text, bytes) else (text + "\n").encode())
    os.chmod(path, mode)


def run_failing(ns, vol, args, code, *needles, **kwargs):
    """Run, expect failure `code`, and check the volume did not change."""
    before = vol.snapshot()
    result = ns.run(args, volume=vol, **kwargs)
    assert_error(result, code, *needles)
    assert vol.snapshot() == before
    return result


# --- 1. keys kept across restarts, files and formats -----------------------

def test_restart_keeps_keys_and_fresh_volume_gets_new_ones(ns):
    vol = ns.volume()
    first = ns.run(["-p", "semaphore", *fp_service(*SEMAPHORE)], volume=vol)
    assert first.returncode == 0, first.stderr
    assert {n: s for n, (s, _) in states(first.stderr).items()} == dict.fromkeys(SEMAPHORE, "created")
    second = ns.run(["-p", "semaphore", *fp_service(*SEMAPHORE)], volume=vol)
    assert second.returncode == 0, second.stderr
    assert {n: s for n, (s, _) in states(second.stderr).items()} == dict.fromkeys(SEMAPHORE, "loaded")
    # the service got exactly what the files hold, both times
    assert exported(first.stdout) == exported(second.stdout) == file_fps(vol, SEMAPHORE)
    assert {n: fp for n, (_, fp) in states(second.stderr).items()} == file_fps(vol, SEMAPHORE)

    fresh = ns.volume("fresh")
    third = ns.run(["-p", "semaphore", *fp_service(*SEMAPHORE)], volume=fresh)
    assert third.returncode == 0, third.stderr
    assert set(exported(third.stdout).values()).isdisjoint(exported(first.stdout).values())


def test_files_are_0600_in_a_new_0700_dir_value_plus_newline(ns):
    vol = ns.volume()
    result = ns.run(["-d", str(vol.mnt / "keys"), "-p", "airflow", "init"], volume=vol)
    assert result.returncode == 0, result.stderr
    keys = vol.data / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert sorted(p.name for p in keys.iterdir()) == sorted(AIRFLOW)
    for name in AIRFLOW:
        st = (keys / name).lstat()
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        body = (keys / name).read_bytes()
        assert body.endswith(b"\n") and b"\n" not in body[:-1]


def check_format(value, fmt, nbytes):
    """value is the canonical text of `nbytes` random bytes in `fmt`."""
    if fmt == "hex":
        assert re.fullmatch(r"[0-9a-f]+", value) and len(value) == 2 * nbytes
        assert len(binascii.unhexlify(value)) == nbytes
        return
    alphabet = "A-Za-z0-9_-" if fmt == "base64url" else "A-Za-z0-9+/"
    assert len(value) == 4 * ((nbytes + 2) // 3)
    assert re.fullmatch(f"[{alphabet}]+={{0,2}}", value), value
    decode = base64.urlsafe_b64decode if fmt == "base64url" else base64.b64decode
    assert len(decode(value)) == nbytes


def test_preset_formats_and_lengths(ns):
    vol = ns.volume()
    result = ns.run(["-p", "airflow", "-p", "semaphore", "init"], volume=vol)
    assert result.returncode == 0, result.stderr
    for name in SEMAPHORE:
        assert len(vol.key(name)) == 44
        check_format(vol.key(name), "base64", 32)
    fernet = vol.key("AIRFLOW__CORE__FERNET_KEY")
    assert len(fernet) == 44 and "+" not in fernet and "/" not in fernet
    check_format(fernet, "base64url", 32)
    # both HS512 keys: 64 bytes, as long as the digest (issue 12)
    for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert len(vol.key(name)) == 88
        check_format(vol.key(name), "base64", 64)
    rows = table(result.stdout)
    assert rows == {n: (fingerprint(vol.key(n)), "created") for n in AIRFLOW + SEMAPHORE}


@pytest.mark.parametrize("how", ["options", "environment"])
def test_custom_keys_and_presets_combined(ns, how):
    vol = ns.volume()
    specs = ["HEXKEY:hex:16", "URLKEY:base64url:48", "PLAIN"]
    if how == "options":
        args, env = ["-p", "airflow2"] + [a for s in specs for a in ("-k", s)], {}
    else:
        args, env = [], {"KEYSHIM_PRESET": "airflow2", "KEYSHIM_KEYS": ",".join(specs)}
    names = ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__WEBSERVER__SECRET_KEY",
             "HEXKEY", "URLKEY", "PLAIN"]
    result = ns.run(args + fp_service(*names), volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert vol.files() == sorted(names)
    check_format(vol.key("HEXKEY"), "hex", 16)
    check_format(vol.key("URLKEY"), "base64url", 48)
    assert len(vol.key("URLKEY")) == 64
    check_format(vol.key("PLAIN"), "base64", 32)
    check_format(vol.key("AIRFLOW__CORE__FERNET_KEY"), "base64url", 32)
    assert exported(result.stdout) == file_fps(vol, names)


def test_option_replaces_its_environment_twin(ns):
    vol = ns.volume()
    result = ns.run(["-k", "FROM_OPTION", "init"], volume=vol,
                    env={"KEYSHIM_KEYS": "FROM_ENV"})
    assert result.returncode == 0, result.stderr
    assert vol.files() == ["FROM_OPTION"]


# --- 2. export, PID 1, init and check ------------------------------------

def test_service_is_pid_1_and_gets_the_file_values(ns):
    vol = ns.volume()
    names = AIRFLOW
    service = fp_service(*names)
    service[-1] = "echo PID $$; " + service[-1]
    result = ns.run(["-p", "airflow"] + service, volume=vol)
    assert result.returncode == 0, result.stderr
    assert "PID 1" in result.stdout.splitlines()
    assert exported(result.stdout) == {"PID": "1", **file_fps(vol, names)}


def test_init_prints_name_fingerprint_state(ns):
    vol = ns.volume()
    first = ns.run(["-p", "semaphore", "init"], volume=vol)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"{n} {fingerprint(vol.key(n))} created" for n in SEMAPHORE]
    second = ns.run(["-p", "semaphore", "init"], volume=vol)
    assert second.returncode == 0
    assert second.stdout.splitlines() == [f"{n} {fingerprint(vol.key(n))} loaded" for n in SEMAPHORE]


def test_check_present_missing_invalid(ns):
    vol = ns.volume()
    # missing: 1, and nothing is written, not even DIR
    result = ns.run(["-d", str(vol.mnt / "keys"), "-k", "A", "-k", "B", "check"], volume=vol)
    assert result.returncode == 1, result.stderr
    assert table(result.stdout) == {"A": ("-", "missing"), "B": ("-", "missing")}
    assert vol.files() == []
    # one present, one missing: still 1, still nothing written
    assert ns.run(["-k", "A", "init"], volume=vol).returncode == 0
    before = vol.snapshot()
    result = ns.run(["-k", "A", "-k", "B", "check"], volume=vol)
    assert result.returncode == 1
    assert table(result.stdout) == {"A": (fingerprint(vol.key("A")), "loaded"), "B": ("-", "missing")}
    assert vol.snapshot() == before
    # all present: 0
    assert ns.run(["-k", "B", "init"], volume=vol).returncode == 0
    result = ns.run(["-k", "A", "-k", "B", "check"], volume=vol)
    assert result.returncode == 0
    assert table(result.stdout) == {n: (fingerprint(vol.key(n)), "loaded") for n in "AB"}
    # invalid: 65, file untouched
    write_key(vol.data / "B", "not a key")
    run_failing(ns, vol, ["-k", "A", "-k", "B", "check"], EX_DATAERR, str(vol.mnt / "B"))


# --- 3. concurrent first starts agree ---------------------------------------

def test_concurrent_starts_create_each_key_once(ns_static, tmp_path):
    ns = ns_static
    names = SEMAPHORE + ["EXTRA"]
    args = ["-p", "semaphore", "-k", "EXTRA:hex:16"] + fp_service(*names)
    starts = 16
    for round_ in range(5):
        vol = ns.volume(f"round{round_}")
        ready = tmp_path / f"ready{round_}"
        ready.mkdir()
        gate = tmp_path / f"gate{round_}"
        # Barrier: the test holds an exclusive lock on `gate`; each start
        # says it is ready, then waits for a shared lock: all go at once.
        gate_fd = os.open(gate, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(gate_fd, fcntl.LOCK_EX)
        setup = f"mktemp -p {ready} >/dev/null; flock -s {gate} true"
        try:
            procs = [ns.popen(args, volume=vol, setup=setup) for _ in range(starts)]
            for _ in range(6000):  # poll, at most ~60 s, until all are waiting
                if len(os.listdir(ready)) == starts:
                    break
                time.sleep(0.01)
            assert len(os.listdir(ready)) == starts, "not all starts reached the barrier"
        finally:
            os.close(gate_fd)  # releases the lock
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append(ns.record(proc.returncode, out, err))

        assert [r.returncode for r in results] == [0] * starts, [r.stderr for r in results]
        want = file_fps(vol, names)
        for r in results:
            assert exported(r.stdout) == want
        for name in names:
            seen = [states(r.stderr)[name] for r in results]
            assert sorted(s for s, _ in seen) == ["created"] + ["loaded"] * (starts - 1)
            assert {fp for _, fp in seen} == {want[name]}
        assert vol.files() == sorted(names)  # no temporary file left
        assert not any(f.startswith(TEMP_PREFIX) for f in os.listdir(vol.data))


# --- 4. bad input, each with its code -----------------------------------------

USAGE_CASES = [
    (["-x", "-k", "K", "init"], {}, "-x"),
    (["--bogus", "-k", "K", "init"], {}, "--bogus"),
    (["-k", "1X", "init"], {}, "1X"),
    (["-k", "A-B", "init"], {}, "A-B"),
    (["-k", "K:base32", "init"], {}, "base32"),
    (["-k", "K:hex:15", "init"], {}, "15"),
    (["-k", "K:hex:1025", "init"], {}, "1025"),
    (["-k", "K:base64:32x", "init"], {}, "32x"),
    (["-p", "nosuch", "init"], {}, "nosuch"),
    (["-p", "semaphore", "sh"], {}, "'sh'"),
    (["-p", "semaphore", "--"], {}, "--"),
    (["-k", "K", "--on-conflict", "maybe", "init"], {}, "maybe"),
    (["init"], {"KEYSHIM_KEYS": "K,1X"}, "KEYSHIM_KEYS"),
    (["init"], {"KEYSHIM_PRESET": "nosuch"}, "KEYSHIM_PRESET"),
    (["init"], {}, "no keys"),
]


@pytest.mark.parametrize("args,env,needle", USAGE_CASES,
                         ids=[" ".join(a) + "|" + ",".join(e) for a, e, _ in USAGE_CASES])
def test_usage_errors_exit_64(ns, args, env, needle):
    vol = ns.volume()
    run_failing(ns, vol, args, EX_USAGE, needle, env=env)
    assert vol.files() == []


def test_command_not_found_127_and_not_executable_126(ns, tmp_path):
    vol = ns.volume()
    assert ns.run(["-k", "K", "init"], volume=vol).returncode == 0
    run_failing(ns, vol, ["-k", "K", "--", "no-such-command-keyshim"], 127,
                "no-such-command-keyshim")
    run_failing(ns, vol, ["-k", "K", "--", str(tmp_path / "missing" / "cmd")], 127,
                str(tmp_path / "missing" / "cmd"))
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho ran\n")
    os.chmod(script, 0o644)
    result = run_failing(ns, vol, ["-k", "K", "--", str(script)], 126, str(script))
    assert "ran" not in result.stdout


def valid_b64url_with_std_chars():
    """A base64url key whose standard-base64 spelling has '+' or '/'."""
    while True:
        text = base64.b64encode(os.urandom(32)).decode()
        if "+" in text or "/" in text:
            return text


VALID = b64()
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
CORRUPT_CASES = {
    "empty": ("base64", b""),
    "only newline": ("base64", b"\n"),
    "truncated": ("base64", (VALID[:30] + "\n").encode()),
    "wrong length": ("base64", (b64(31) + "\n").encode()),   # also 44 characters
    "longer": ("base64", (b64(48) + "\n").encode()),
    "wrong alphabet": ("base64", ("*" + VALID[1:] + "\n").encode()),
    "trailing junk": ("base64", (VALID + "\njunk").encode()),
    "junk before newline": ("base64", (VALID + "x\n").encode()),
    "two newlines": ("base64", (VALID + "\n\n").encode()),
    "crlf": ("base64", (VALID + "\r\n").encode()),
    "leading space": ("base64", (" " + VALID + "\n").encode()),
    "base64 not base64url": ("base64url", (valid_b64url_with_std_chars() + "\n").encode()),
    "upper-case hex": ("hex", (os.urandom(32).hex().upper() + "\n").encode()),
    "non-canonical padding": ("base64", (VALID[:42] + B64_ALPHABET[B64_ALPHABET.index(VALID[42]) + 1]
                                         + "=\n").encode()),
}


@pytest.mark.parametrize("case", list(CORRUPT_CASES))
def test_corrupt_key_file_exits_65_and_is_kept(ns, case):
    fmt, body = CORRUPT_CASES[case]
    if case == "non-canonical padding":
        # a 32-byte base64 key ends in one of AEIMQUYcgkosw048 before '=':
        # any other last character decodes but does not round-trip
        assert body.decode()[42] not in "AEIMQUYcgkosw048"
    vol = ns.volume()
    write_key(vol.data / "K", body)
    for mode in (["init"], fp_service("K")):
        result = run_failing(ns, vol, ["-k", f"K:{fmt}"] + mode, EX_DATAERR, str(vol.mnt / "K"))
        assert result.stdout == ""
    assert (vol.data / "K").read_bytes() == body


def test_valid_key_without_trailing_newline_is_accepted(ns):
    """Control for the corrupt cases: the same check accepts a good key."""
    vol = ns.volume()
    write_key(vol.data / "K", VALID.encode())
    result = ns.run(["-k", "K"] + fp_service("K"), volume=vol)
    assert result.returncode == 0, result.stderr
    assert exported(result.stdout) == {"K": fingerprint(VALID)}
    assert (vol.data / "K").read_bytes() == VALID.encode()


@pytest.mark.parametrize("target", ["inside", "outside"])
def test_symlinked_key_file_77(ns, tmp_path, target):
    vol = ns.volume()
    if target == "inside":
        write_key(vol.data / "REAL", b64())
        os.symlink("REAL", vol.data / "K")
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        write_key(elsewhere / "K", b64())
        os.symlink(elsewhere / "K", vol.data / "K")
    for mode in (["init"], ["check"], fp_service("K")):
        run_failing(ns, vol, ["-k", "K"] + mode, EX_NOPERM, str(vol.mnt / "K"), "symbolic link")


@pytest.mark.parametrize("kind", ["directory", "fifo", "socket"])
def test_key_path_not_a_regular_file_77(ns, kind):
    vol = ns.volume()
    if kind == "directory":
        (vol.data / "K").mkdir(mode=0o700)
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(vol.data / "K"))
        listener.close()
    else:
        os.mkfifo(vol.data / "K", 0o600)
    for mode in (["init"], ["check"]):
        run_failing(ns, vol, ["-k", "K"] + mode, EX_NOPERM, str(vol.mnt / "K"), "regular file",
                    timeout=20)  # a FIFO must not block keyshim


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_77(ns, mode):
    vol = ns.volume()
    write_key(vol.data / "K", b64(), mode=mode)
    run_failing(ns, vol, ["-k", "K", "init"], EX_NOPERM, str(vol.mnt / "K"), f"{mode:04o}")


def test_key_file_of_another_uid_77(ns):
    vol = ns.volume()
    write_key(vol.data / "K", b64())
    os.chown(vol.data / "K", 1234, 1234)
    for mode in (["init"], ["check"], fp_service("K")):
        run_failing(ns, vol, ["-k", "K"] + mode, EX_NOPERM, str(vol.mnt / "K"), "1234")


# The volume seen by a non-root keyshim: /tmp/pytest-of-root is 0700, so
# inside the namespace the volume is also bind-mounted under a fresh tmpfs
# at /mnt that uid 1234 can walk through.
AS_1234 = ["--reuid", "1234", "--regid", "1234", "--clear-groups"]


def run_as_1234(ns, vol, args):
    setup = f"mount -t tmpfs -o mode=0755 tmpfs /mnt; mkdir /mnt/v; mount --bind {vol.data} /mnt/v"
    return ns.run(AS_1234 + [str(ns.binary), "-d", "/mnt/v/keys"] + args, volume=vol,
                  dir_option=False, binary="/usr/bin/setpriv", setup=setup)


def test_unreadable_dir_as_non_root_77(ns):
    vol = ns.volume()
    keys = vol.data / "keys"
    keys.mkdir()
    os.chmod(keys, 0)
    for mode in (["init"], ["check"]):
        before = vol.snapshot()
        result = run_as_1234(ns, vol, ["-k", "K"] + mode)
        assert_error(result, EX_NOPERM, "/mnt/v/keys")
        assert vol.snapshot() == before


def test_non_root_can_create_in_its_own_dir(ns):
    """Control for the test above: same path, readable DIR, works."""
    vol = ns.volume()
    keys = vol.data / "keys"
    keys.mkdir(mode=0o700)
    os.chown(keys, 1234, 1234)
    result = run_as_1234(ns, vol, ["-k", "K", "init"])
    assert result.returncode == 0, result.stderr
    st = (keys / "K").stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (1234, 0o600)


# --- 5. the ephemeral guard ------------------------------------------------------

def test_no_volume_refused_78_and_nothing_created(ns, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = ns.run(["-d", str(plain / "keys"), "-k", "K", "init"], volume=None)
    assert_error(result, EX_CONFIG, str(plain / "keys"), "--allow-ephemeral")
    assert list(plain.iterdir()) == []
    # and with an existing DIR: still refused, still empty
    (plain / "keys").mkdir()
    result = ns.run(["-d", str(plain / "keys"), "-k", "K", "--", "true"], volume=None)
    assert_error(result, EX_CONFIG, "--allow-ephemeral")
    assert list((plain / "keys").iterdir()) == []


def test_tmpfs_dir_refused_78(ns):
    vol = ns.volume()
    run_failing(ns, vol, ["-k", "K", "init"], EX_CONFIG, str(vol.mnt), "tmpfs",
                setup=f"mount -t tmpfs tmpfs {vol.mnt}")
    assert vol.files() == []


@pytest.mark.parametrize("how", ["option", "environment"])
def test_allow_ephemeral(ns, tmp_path, how):
    plain = tmp_path / "plain"
    plain.mkdir()
    args, env = (["--allow-ephemeral"], {}) if how == "option" else ([], {"KEYSHIM_ALLOW_EPHEMERAL": "1"})
    result = ns.run(["-d", str(plain / "keys"), "-k", "K"] + args + fp_service("K"),
                    volume=None, env=env)
    assert result.returncode == 0, result.stderr
    value = (plain / "keys" / "K").read_text().rstrip("\n")
    assert exported(result.stdout) == {"K": fingerprint(value)}
    assert value not in result.stdout + result.stderr  # not a volume: check by hand
    assert stat.S_IMODE((plain / "keys" / "K").stat().st_mode) == 0o600


def test_existing_keys_load_from_ephemeral_dir(ns, tmp_path):
    vol = ns.volume()
    assert ns.run(["-p", "semaphore", "init"], volume=vol).returncode == 0
    plain = tmp_path / "plain"
    plain.mkdir(mode=0o700)
    for name in SEMAPHORE:
        shutil.copy2(vol.data / name, plain / name)  # keeps mode 0600
    before = sorted(os.listdir(plain))
    result = ns.run(["-d", str(plain), "-p", "semaphore"] + fp_service(*SEMAPHORE), volume=None)
    assert result.returncode == 0, result.stderr
    assert {n: s for n, (s, _) in states(result.stderr).items()} == dict.fromkeys(SEMAPHORE, "loaded")
    assert exported(result.stdout) == file_fps(vol, SEMAPHORE)
    assert sorted(os.listdir(plain)) == before


# --- 6. values from the environment ---------------------------------------

def test_env_value_adopted_and_persisted(ns):
    vol = ns.volume()
    value = b64()
    result = ns.run(["-k", "K"] + fp_service("K"), volume=vol, env={"K": value})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr) == {"K": ("adopted", fingerprint(value))}
    assert exported(result.stdout) == {"K": fingerprint(value)}
    assert (vol.data / "K").read_bytes() == (value + "\n").encode()
    assert stat.S_IMODE((vol.data / "K").stat().st_mode) == 0o600
    # next start, without the variable: the adopted key is loaded
    result = ns.run(["-k", "K"] + fp_service("K"), volume=vol)
    assert states(result.stderr) == {"K": ("loaded", fingerprint(value))}


def test_invalid_env_value_65(ns):
    vol = ns.volume()
    bad = b64(31)
    result = run_failing(ns, vol, ["-d", str(vol.mnt / "keys"), "-k", "K", "init"], EX_DATAERR,
                         "K (from the environment)", env={"K": bad})
    assert bad not in result.stderr
    assert vol.files() == []


def test_env_conflicts_with_file(ns):
    vol = ns.volume()
    stored, given = b64(), b64()
    write_key(vol.data / "K", stored)
    result = run_failing(ns, vol, ["-k", "K"] + fp_service("K"), EX_CONFIG, "K",
                         fingerprint(stored), fingerprint(given), env={"K": given})
    assert result.stdout == ""
    assert given not in result.stderr
    # --on-conflict env: the service gets the variable, the file stays
    before = vol.snapshot()
    for args, env in ((["--on-conflict", "env"], {}), ([], {"KEYSHIM_ON_CONFLICT": "env"})):
        result = ns.run(["-k", "K"] + args + fp_service("K"), volume=vol, env={"K": given, **env})
        assert result.returncode == 0, result.stderr
        assert exported(result.stdout) == {"K": fingerprint(given)}
        assert states(result.stderr) == {"K": ("env", fingerprint(given))}
        assert vol.snapshot() == before
    # --on-conflict file: the service gets the file
    result = ns.run(["-k", "K", "--on-conflict", "file"] + fp_service("K"), volume=vol,
                    env={"K": given})
    assert result.returncode == 0, result.stderr
    assert exported(result.stdout) == {"K": fingerprint(stored)}
    assert states(result.stderr) == {"K": ("loaded", fingerprint(stored))}
    assert vol.snapshot() == before
    # the same value in both: simply loaded
    result = ns.run(["-k", "K"] + fp_service("K"), volume=vol, env={"K": stored})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr) == {"K": ("loaded", fingerprint(stored))}
    assert vol.snapshot() == before


def test_name_file_is_read_exported_and_hidden(ns, tmp_path):
    vol = ns.volume()
    secret = tmp_path / "secret"
    value = b64()
    write_key(secret, value)
    service = ["--", "sh", "-c", 'env | cut -d= -f1; printf "K "; printf %s "$K" | b2sum -l 64']
    result = ns.run(["-d", str(vol.mnt / "keys"), "-k", "K"] + service, volume=vol,
                    env={"K_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
    names = result.stdout.splitlines()
    assert "K_FILE" not in names and "K" in names
    assert exported(result.stdout)["K"] == fingerprint(value)
    assert states(result.stderr) == {"K": ("file", fingerprint(value))}
    assert vol.files() == []  # not even DIR
    assert value not in result.stdout + result.stderr  # not in a volume: check by hand


@pytest.mark.parametrize("extra", [10, 2000], ids=["static-block", "heap"])
def test_service_environment_small_and_large(ns, tmp_path, extra):
    """keyshim builds the service's environment in a static block when it
    fits and on the heap when it does not: either way every inherited
    variable arrives exactly once, K_FILE not at all, and K once, holding
    the key. (The service reads its environment as keyshim's execve gave
    it: /proc/$$/environ. The order is the fuzzer's to check: the harness
    that starts keyshim reorders what it inherits.)"""
    vol = ns.volume()
    secret = tmp_path / "secret"
    value = b64()
    write_key(secret, value)
    names = [f"KS_EXTRA_{i}" for i in range(extra)]
    env = {name: str(i) for i, name in enumerate(names)}
    env["K_FILE"] = str(secret)
    script = ('tr "\\0" "\\n" </proc/$$/environ | cut -d= -f1; '
              'printf "K "; printf %s "$K" | b2sum -l 64')
    result = ns.run(["-d", str(vol.mnt / "keys"), "-k", "K", "--", "sh", "-c", script],
                    volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    received = result.stdout.splitlines()[:-1]
    assert sorted(n for n in received if n.startswith("KS_EXTRA_")) == sorted(names)
    assert received.count("K") == 1 and "K_FILE" not in received
    assert exported(result.stdout)["K"] == fingerprint(value)


def test_name_file_errors(ns, tmp_path):
    vol = ns.volume()
    good, bad = tmp_path / "good", tmp_path / "bad"
    write_key(good, b64())
    write_key(bad, b64(16))
    run_failing(ns, vol, ["-k", "K", "init"], EX_USAGE, "K_FILE",
                env={"K": b64(), "K_FILE": str(good)})
    run_failing(ns, vol, ["-k", "K", "init"], EX_DATAERR, "K_FILE", str(bad),
                env={"K_FILE": str(bad)})
    run_failing(ns, vol, ["-k", "K", "init"], EX_CONFIG, "K_FILE", str(tmp_path / "nowhere"),
                env={"K_FILE": str(tmp_path / "nowhere")})
    assert vol.files() == []


@pytest.mark.parametrize("how", ["option", "environment"])
def test_no_create(ns, how):
    vol = ns.volume()
    args, env = (["--no-create"], {}) if how == "option" else ([], {"KEYSHIM_NO_CREATE": "1"})
    run_failing(ns, vol, ["-d", str(vol.mnt / "keys"), "-k", "K"] + args + ["init"], EX_CONFIG,
                "K", "--no-create", env=env)
    assert vol.files() == []
    assert ns.run(["-k", "K", "init"], volume=vol).returncode == 0
    result = ns.run(["-k", "K"] + args + fp_service("K"), volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert exported(result.stdout) == {"K": fingerprint(vol.key("K"))}


# --- 7. no value in any output ------------------------------------------------------

def test_verbose_output_holds_no_value(ns, tmp_path):
    vol = ns.volume()
    adopted = b64()
    from_file = tmp_path / "from-file"
    write_key(from_file, os.urandom(16).hex())
    env = {"ADOPTED": adopted, "FROMFILE_FILE": str(from_file)}
    args = ["-v", "-p", "airflow", "-k", "ADOPTED", "-k", "HEX:hex:16", "-k", "FROMFILE:hex:16"]
    outputs = []
    for mode in (["init"], fp_service("ADOPTED", "HEX"), ["check"]):
        result = ns.run(args + mode, volume=vol, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    # a conflict, verbosely: neither value is printed
    other = b64()
    result = ns.run(["-v", "-k", "ADOPTED", "init"], volume=vol, env={"ADOPTED": other})
    assert result.returncode == EX_CONFIG
    outputs.append(result.stdout + result.stderr)
    values = [vol.key(n) for n in vol.files()] + [adopted, other, from_file.read_text().strip()]
    assert len(values) == 8
    for value in values:
        for output in outputs:
            assert value not in output
    assert any("AIRFLOW__CORE__FERNET_KEY" in o for o in outputs)  # it did say something


# --- regressions from the code review ----------------------------------------

@pytest.mark.parametrize("args", [
    ["-k", "K", "init", "--", "/bin/echo", "hi"],    # words after init are not an exec
    ["-k", "K", "/bin/echo", "--", "hello"],         # no -- before the command
    ["-k", "K", "init", "-v"],                       # options come before the command word
])
def test_arguments_are_never_permuted(ns, args):
    """getopt_long must not reorder argv: each of these would once have
    run a different program than the one written."""
    vol = ns.volume()
    run_failing(ns, vol, args, EX_USAGE)


def test_option_value_dashdash_is_not_the_separator(ns, tmp_path):
    """In `-k K --dir -- init`, the "--" is -d's value, not the end of the
    options: this is init in a directory called "--"."""
    vol = ns.volume()
    result = ns.run(["-k", "K", "--allow-ephemeral", "--dir", "--", "init"], volume=None,
                    dir_option=False, setup=f"cd {vol.mnt}")
    assert result.returncode == 0, result.stderr
    assert (vol.mnt / "--" / "K").is_file()  # made in ./--, relative to the cwd
    assert table(result.stdout)["K"][1] == "created"


def test_name_file_holding_a_key_is_never_echoed(ns):
    """K_FILE=<the key itself> is an easy slip; the error must not show it."""
    vol = ns.volume()
    value = b64()
    result = run_failing(ns, vol, ["-k", "K", "init"], EX_CONFIG, "K_FILE", "not shown",
                         env={"K_FILE": value})
    assert value not in result.stdout + result.stderr


def test_key_named_like_another_keys_file_variable_64(ns):
    vol = ns.volume()
    run_failing(ns, vol, ["-k", "A", "-k", "A_FILE", "init"], EX_USAGE, "A_FILE")


@pytest.mark.parametrize("case", ["no-create", "missing-name-file"])
def test_refusal_writes_nothing_even_after_a_good_key(ns, case):
    """All keys are checked before any is written: a refusal on the second
    key must not leave the first one (or the directory) behind."""
    vol = ns.volume()
    if case == "no-create":
        args, env, code = ["-d", str(vol.mnt / "keys"), "--no-create", "-k", "A", "-k", "B", "init"], \
            {"A": b64()}, EX_CONFIG
    else:
        args, env, code = ["-d", str(vol.mnt / "keys"), "-k", "A", "-k", "B", "init"], \
            {"B_FILE": "/nonexistent/secret"}, EX_CONFIG
    run_failing(ns, vol, args, code, env=env)
    assert vol.files() == []


@pytest.mark.parametrize("kind", ["other-data", "sticky", "empty-subdir"])
def test_root_with_u_leaves_shared_directories_alone(ns, kind):
    """-u hands only a directory it made, or an empty volume root (a mount
    point), to the user: never a volume holding other data, never a
    sticky /tmp-like one, never an empty directory that is not a volume
    root (it belongs to whoever made it inside the volume)."""
    vol = ns.volume()
    keys = vol.data
    if kind == "other-data":
        (vol.data / "database.db").write_text("not ours")
        os.chmod(vol.data, 0o755)
    elif kind == "sticky":
        os.chmod(vol.data, 0o1777)
    else:
        os.chmod(vol.data, 0o755)
        keys = vol.data / "sub"
        keys.mkdir(mode=0o755)
    mode_before = stat.S_IMODE(os.stat(keys).st_mode)
    result = ns.run(["-u", "1001:1001", "-d", str(vol.mnt / keys.relative_to(vol.data)),
                     "-k", "K", "init"], volume=vol, dir_option=False)
    # issue 9: a directory others may write (root's sticky one) is refused
    assert result.returncode == (EX_NOPERM if kind == "sticky" else 0), result.stderr
    st = os.stat(keys)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, mode_before)
    if kind != "sticky":
        assert os.stat(keys / "K").st_uid == 1001


def test_root_with_u_hands_over_an_empty_fresh_volume(ns):
    vol = ns.volume()
    os.chmod(vol.data, 0o755)
    result = ns.run(["-u", "1001:1001", "-k", "K", "init"], volume=vol)
    assert result.returncode == 0, result.stderr
    st = os.stat(vol.data)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1001, 1001, 0o700)


def test_newline_in_a_path_keeps_the_error_on_one_line(ns, tmp_path):
    vol = ns.volume()
    result = ns.run(["-k", "K", "-d", str(vol.mnt) + "/a\nb", "init"], volume=vol,
                    dir_option=False, env={"K_FILE": "/no/such\nfile"})
    assert result.returncode == EX_CONFIG, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_waiting_for_the_lock_is_said_then_creation_goes_on(ns):
    """Another process holds the directory lock (a paused container in the
    middle of creating keys): keyshim says it waits, and creates the key
    once the lock is free."""
    vol = ns.volume()
    holder = os.open(vol.data, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        proc = ns.popen(["-k", "K", "init"], volume=vol)
        # keyshim writes this line and then blocks on the lock: a sync point
        waiting = proc.stderr.readline()
        assert "waiting for another keyshim" in waiting, waiting
        assert proc.poll() is None and vol.files() == []
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    out, err = proc.communicate(timeout=30)
    ns.record(proc.returncode, out, waiting + err)
    assert proc.returncode == 0, err
    assert table(out)["K"][1] == "created"
