"""README promises that a mutation audit (issue 14) found untested, each on
the real static binary (and the ASan build where `ns` runs both): the
matching break of shim/ is in tests/mutants/, and this file kills it.

Faults come from `strace -e inject` with `-P PATH` (only calls on that
path are hit) or from a probe-free `when=N` where the order of calls is
fixed by the scenario."""

import base64
import fcntl
import os
import signal
import stat
import time

import pytest

from conftest import STATIC_BIN, fingerprint, skip_under_emulation, states
from test_core import (EX_CONFIG, EX_NOPERM, EX_USAGE, TEMP_PREFIX, assert_error, b64,
                       exported, fp_service, run_failing, table, write_key)
from test_supervise import finish, host_pid1

STRACE = "/usr/bin/strace"
EX_OSERR, EX_IOERR = 71, 74


def this_boot():
    """BOOT as keyshim names its temporary files: the first 16 hex digits
    of this kernel's boot id."""
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip().replace("-", "")[:16]


def traced(ns, vol, args, inject=(), paths=(), **kwargs):
    """`keyshim -d VOL ARGS` under strace, faults in `inject` (limited to
    calls on `paths` when given), as the namespace's PID 1."""
    if inject:
        skip_under_emulation(ns, "strace injects its faults into qemu's own system calls "
                             "(the wrapper's fork, qemu's mmap and futex), not keyshim's")
    opts = ["-f", "-qq", "-o", "/dev/null"]
    for path in paths:
        opts += ["-P", path]
    for spec in inject:
        opts += ["-e", "inject=" + spec]
    return ns.run(opts + [str(ns.binary), "-d", str(vol.mnt)] + args, volume=vol,
                  binary=STRACE, dir_option=False, **kwargs)


# --- How keys are kept: publishing never replaces a key ---------------------------

@pytest.mark.parametrize("given", [False, True], ids=["create", "adopt"])
@pytest.mark.parametrize("publish", ["link", "rename"])
def test_publish_never_replaces_an_existing_key(ns, given, publish):
    """Another container published K between our look and our link (made
    here by hiding K from our first two reads): link(2), or the
    rename(RENAME_NOREPLACE) used where hard links are not supported, must
    fail on the existing name, and keyshim must load that key, not
    replace it."""
    vol = ns.volume()
    stored = b64()
    write_key(vol.data / "K", stored)
    before = vol.snapshot()
    env = {"K": stored} if given else {}
    inject = ["openat:error=ENOENT:when=1..2"]
    if publish == "rename":
        inject.append("linkat:error=EPERM")
    result = traced(ns, vol, ["-k", "K"] + fp_service("K"), env=env, inject=inject,
                    paths=["K"])
    assert result.returncode == 0, result.stderr
    assert states(result.stderr) == {"K": ("loaded", fingerprint(stored))}
    assert exported(result.stdout) == {"K": fingerprint(stored)}
    assert vol.snapshot() == before


# --- the ephemeral guard fails closed -------------------------------------------------

# Every way of asking the kernel which mount holds the opened directory
# fails: statx(STATX_MNT_ID) (Linux < 5.8), name_to_handle_at (a filesystem
# without file handles) and /proc/self/fdinfo/FD (not readable). The fdinfo
# fault is limited to the opens of /proc/self/fdinfo/* (strace -P, with the
# volume itself so that statx and name_to_handle_at on its descriptor are hit).
NO_MOUNT_ID = ("statx:error=ENOSYS", "name_to_handle_at:error=EOPNOTSUPP",
               "open:error=EACCES")


@pytest.mark.parametrize("faults,needle", [
    (("open:error=EACCES",), "cannot read /proc/self/mountinfo"),
    (("read:error=EIO:when=1",), "cannot read /proc/self/mountinfo"),
    (NO_MOUNT_ID, "the kernel does not tell which mount holds it (Permission denied)"),
], ids=["mountinfo-open", "mountinfo-read", "no-mount-id"])
def test_ephemeral_guard_fails_closed(ns_static, faults, needle):
    """When the mount table cannot be read, or the kernel will not say
    which mount holds the opened directory, keyshim cannot tell that DIR
    is persistent: it refuses (78), even on a real volume, and writes
    nothing. (The static binary: the faults name musl's syscalls.)"""
    ns = ns_static
    vol = ns.volume()
    if faults == NO_MOUNT_ID:
        paths = [str(vol.mnt)] + [f"/proc/self/fdinfo/{fd}" for fd in range(3, 16)]
    elif faults[0].startswith("open:"):
        paths = ["/proc/self/mountinfo"]
    else:
        paths = []
    result = traced(ns, vol, ["-d", str(vol.mnt / "keys"), "-k", "K", "init"],
                    inject=faults, paths=paths)
    assert_error(result, EX_CONFIG, needle, "--allow-ephemeral")
    assert vol.files() == []


@pytest.mark.parametrize("fstype", ["ramfs", "devtmpfs"])
def test_ramfs_and_devtmpfs_are_ephemeral(ns, fstype):
    """Both die with the machine: refused like tmpfs. The mount is made
    read-only (per mount) so that a broken guard could not write into
    the host's devtmpfs: it would fail with 73, not 78."""
    vol = ns.volume()
    setup = f"mount -t {fstype} {fstype} {vol.mnt}; mount -o remount,bind,ro {vol.mnt}"
    result = ns.run(["-d", str(vol.mnt / "keyshim-test-keys"), "-k", "K", "init"],
                    volume=vol, dir_option=False, setup=setup)
    assert_error(result, EX_CONFIG, fstype, "--allow-ephemeral")


# --- exit codes 74 and 71 ---------------------------------------------------------

def test_read_error_on_a_key_file_is_74(ns_static):
    ns = ns_static
    vol = ns.volume()
    write_key(vol.data / "K", b64())
    before = vol.snapshot()
    result = traced(ns, vol, ["-k", "K", "init"], inject=["read:error=EIO"],
                    paths=[str(vol.mnt / "K")])
    assert_error(result, EX_IOERR, f"{vol.mnt}/K", "cannot read", "I/O error")
    assert vol.snapshot() == before


def test_fork_failure_under_g_is_71(ns):
    vol = ns.volume()
    result = traced(ns, vol, ["-g", "-k", "K", "--", "true"],
                    inject=["fork,vfork,clone,clone3:error=EAGAIN"])
    assert_error(result, EX_OSERR, "cannot fork")
    assert vol.files() == ["K"]  # the key was made before: it stays


# --- --on-conflict shows fingerprints, never the value ----------------------------

@pytest.mark.parametrize("winner", ["env", "file"])
@pytest.mark.parametrize("source", ["NAME", "NAME_FILE"])
def test_on_conflict_warning_shows_fingerprints_only(ns, tmp_path, winner, source):
    """The warning names both fingerprints; the harness's leak check fails
    the test if either value shows anywhere (it knows the NAME value, the
    NAME_FILE contents and the file on the volume)."""
    vol = ns.volume()
    stored, given = b64(), b64()
    write_key(vol.data / "K", stored)
    if source == "NAME":
        env = {"K": given}
    else:
        env = {"K_FILE": str(ns.secret_file(tmp_path / "secret", given))}
    result = ns.run(["-k", "K", "--on-conflict", winner] + fp_service("K"), volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    warnings = [l for l in result.stderr.splitlines() if l.startswith("keyshim: warning:")]
    assert len(warnings) == 1, result.stderr
    assert fingerprint(stored) in warnings[0] and fingerprint(given) in warnings[0]
    want = given if winner == "env" else stored
    assert exported(result.stdout) == {"K": fingerprint(want)}
    for value in (stored, given):
        assert value not in result.stdout + result.stderr


# --- NAME_FILE follows symlinks (Kubernetes secret volumes) ------------------------

def test_name_file_follows_kubernetes_symlinks(ns, tmp_path):
    """A Kubernetes secret volume: K -> ..data/K, ..data -> ..2024_01_01."""
    vol = ns.volume()
    secrets = tmp_path / "secrets"
    real = secrets / "..2024_01_01_00_00_00.000000001"
    real.mkdir(parents=True)
    value = b64()
    ns.secret_file(real / "K", value, mode=0o644)
    os.symlink(real.name, secrets / "..data")
    os.symlink("..data/K", secrets / "K")
    result = ns.run(["-k", "K"] + fp_service("K"), volume=vol,
                    env={"K_FILE": str(secrets / "K")})
    assert result.returncode == 0, result.stderr
    assert states(result.stderr) == {"K": ("file", fingerprint(value))}
    assert exported(result.stdout) == {"K": fingerprint(value)}
    assert vol.files() == []


# --- check changes nothing, also with -u as root --------------------------------------

def test_check_with_u_as_root_changes_nothing(ns):
    """Root-owned keys (made before -u was added) are handed to the user by
    a normal start; `check` with -u reports them and changes nothing: no
    chown, no temporary file removed, no directory handed over."""
    vol = ns.volume()
    os.chmod(vol.data, 0o755)  # root's, empty but for what follows
    for name in ("A", "B"):
        write_key(vol.data / name, b64())
    # named as this boot's: a start holding the lock would remove it at once
    (vol.data / f"{TEMP_PREFIX}A-{this_boot()}-{os.urandom(8).hex()}").write_text("half a key")
    before = vol.snapshot()
    dir_before = os.stat(vol.data)
    result = ns.run(["-u", "1001:1001", "-k", "A", "-k", "B", "-k", "C", "check"], volume=vol)
    assert result.returncode == 1, result.stderr  # C is missing
    assert {n: s for n, (_, s) in table(result.stdout).items()} == \
        {"A": "loaded", "B": "loaded", "C": "missing"}
    assert vol.snapshot() == before
    st = os.stat(vol.data)
    assert (st.st_uid, st.st_mode) == (dir_before.st_uid, dir_before.st_mode)


# --- temporary files: removed only under the lock ---------------------------------------

def test_stale_temp_file_kept_while_another_holds_the_lock(ns):
    """README "Several hosts, one volume": a temporary file of this boot is
    removed at once only by a start that holds the lock on a local
    filesystem. All keys exist and another process holds the directory
    lock (it is creating a key: its young temporary file is live). A start
    that only loads keys must not wait, and must not remove that file;
    with the lock free, the next start removes it at once (it is seconds
    old, far from the 15 minutes any other file must wait)."""
    vol = ns.volume()
    write_key(vol.data / "K", b64())
    live = vol.data / f"{TEMP_PREFIX}OTHER-{this_boot()}-{os.urandom(8).hex()}"
    live.write_text("being written")
    holder = os.open(vol.data, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        result = ns.run(["-k", "K", "init"], volume=vol, timeout=20)
        assert result.returncode == 0, result.stderr
        assert live.exists(), "a temporary file was removed without the lock"
        assert "removed a temporary file" not in result.stderr
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    # with the lock free, the next start clears it
    result = ns.run(["-k", "K", "init"], volume=vol)
    assert result.returncode == 0, result.stderr
    assert not live.exists() and "removed a temporary file" in result.stderr
    assert vol.files() == ["K"]


@pytest.mark.parametrize("what", ["create", "load"])
def test_without_flock_stale_temp_files_are_kept(ns, what):
    """A filesystem without flock (some network filesystems): keys are
    still created once (link(2)), but a young temporary file is not
    removed, even one of this boot: without the lock nothing tells a
    crashed run's file from a live one until it is 15 minutes old."""
    vol = ns.volume()
    if what == "load":
        write_key(vol.data / "K", b64())
    stale = vol.data / f"{TEMP_PREFIX}K-{this_boot()}-{os.urandom(8).hex()}"
    stale.write_text("maybe live")
    result = traced(ns, vol, ["-k", "K", "init"], inject=["flock:error=ENOLCK"])
    assert result.returncode == 0, result.stderr
    assert table(result.stdout)["K"][1] == ("created" if what == "create" else "loaded")
    assert stale.exists()
    assert sorted(vol.files()) == sorted(["K", stale.name])


# --- the supervisor is not dumpable --------------------------------------------------

def test_supervisor_is_not_dumpable(ns):
    """keyshim -g started as uid 1234 (exec resets dumpable to 1): the
    supervisor makes itself non-dumpable, so its /proc/1/environ belongs to
    root and the service (same uid) cannot read its memory or environ."""
    vol = ns.volume()
    os.chown(vol.data, 1234, 1234)
    os.chmod(vol.data, 0o700)
    service = ["--", "sh", "-c",
               'sleep 0.5; echo "owner $(stat -c %u /proc/1/environ)"; '
               'if cat /proc/1/environ >/dev/null 2>&1; then echo environ readable; fi']
    # pytest's tmp_path is root's alone: reach the volume through /mnt/v
    setup = f"mount -t tmpfs -o mode=0755 tmpfs /mnt; mkdir /mnt/v; mount --bind {vol.data} /mnt/v"
    result = ns.run(["--reuid", "1234", "--regid", "1234", "--clear-groups", str(ns.binary),
                     "-d", "/mnt/v", "-g", "-k", "K"] + service,
                    volume=vol, binary="/usr/bin/setpriv", dir_option=False, setup=setup)
    assert result.returncode == 0, result.stderr
    assert "owner 0" in result.stdout.splitlines(), result.stdout
    assert "environ readable" not in result.stdout


# --- -g: signals to the process group; SIGTTIN/SIGTTOU kept -------------------------

def test_signal_reaches_the_whole_process_group(ns_static, tmp_path):
    """The service's first process survives SIGTERM (it traps it) and waits
    for a child in its group: only a signal to the group ends the child."""
    ns = ns_static
    ready, marker = tmp_path / "ready", tmp_path / "marker"
    script = (f"trap 'echo parent-term >> {marker}' TERM; "
              f"sh -c 'trap \"echo child-term >> {marker}; exit 7\" TERM; "
              f"echo > {ready}; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done' & "
              # the trap interrupts the first wait; the second gets the status
              "c=$!; wait $c; s=$?; if [ $s -gt 128 ]; then wait $c; s=$?; fi; exit $s")
    proc = ns.popen(["-k", "K", "-g", "--", "sh", "-c", script], volume=ns.volume())
    pid = host_pid1(proc, ready)
    time.sleep(0.2)  # both traps are set
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    result = finish(ns, proc, timeout=60)
    assert "child-term" in marker.read_text().split(), marker.read_text()
    assert result.returncode == 7, result.stderr
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("sig", ["TTIN", "TTOU"])
def test_ttin_ttou_are_not_forwarded(ns_static, tmp_path, sig):
    """Like tini, keyshim -g keeps SIGTTIN/SIGTTOU to itself: stopping on
    the terminal is for the child to do, not something to relay."""
    ns = ns_static
    ready, marker = tmp_path / "ready", tmp_path / "marker"
    # USR1 only ends the loop, so that a pending {sig} trap still runs first
    script = (f"trap 'echo {sig} >> {marker}' {sig}; trap 'done=1' USR1; echo > {ready}; "
              'i=0; while [ -z "$done" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; '
              '[ -n "$done" ] || exit 3')
    proc = ns.popen(["-k", "K", "-g", "--", "sh", "-c", script], volume=ns.volume())
    pid = host_pid1(proc, ready)
    os.kill(pid, getattr(signal, "SIG" + sig))
    time.sleep(0.5)
    # had it been forwarded, it would have stopped the service's `sleep`:
    # SIGCONT (forwarded like any signal) lets a broken keyshim fail fast
    os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGUSR1)  # a control: this one is forwarded
    result = finish(ns, proc)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), marker.read_text()


# --- flags, twins, -q/-v, --help, --version -------------------------------------------

@pytest.mark.parametrize("variable", ["KEYSHIM_SUPERVISE", "KEYSHIM_NO_CREATE",
                                      "KEYSHIM_ALLOW_EPHEMERAL", "KEYSHIM_QUIET",
                                      "KEYSHIM_VERBOSE"])
@pytest.mark.parametrize("value", ["2", "on", "TRUE", "y"])
def test_flag_other_than_1_true_yes_0_false_no_is_64(ns, variable, value):
    vol = ns.volume()
    run_failing(ns, vol, ["-k", "K", "init"], EX_USAGE, variable, env={variable: value})
    assert vol.files() == []


@pytest.mark.parametrize("value", ["1", "true", "yes", "0", "false", "no", ""])
def test_flag_values_accepted(ns, value):
    vol = ns.volume()
    result = ns.run(["-k", "K", "init"], volume=vol, env={"KEYSHIM_VERBOSE": value})
    assert result.returncode == 0, result.stderr
    verbose = value in ("1", "true", "yes")
    assert (states(result.stderr) != {}) == verbose, result.stderr


@pytest.mark.parametrize("how", ["-q", "--quiet", "KEYSHIM_QUIET"])
def test_quiet_prints_errors_only(ns, how):
    vol = ns.volume()
    args, env = ([how], {}) if how.startswith("-") else ([], {how: "1"})
    result = ns.run(["-k", "K"] + args + ["--", "true"], volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # a warning still shows; an error too
    write_key(vol.data / "K2", b64(16))
    result = ns.run(["-k", "K", "-k", "K2"] + args + ["--", "true"], volume=vol, env=env)
    assert_error(result, 65, "K2")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("how", ["-v", "--verbose", "KEYSHIM_VERBOSE"])
def test_verbose_says_more(ns, how):
    vol = ns.volume()
    args, env = ([how], {}) if how.startswith("-") else ([], {how: "1"})
    normal = ns.run(["-k", "K", "--", "true"], volume=ns.volume("normal"))
    result = ns.run(["-k", "K"] + args + ["--", "true"], volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert f"{vol.mnt}: on " in result.stderr  # the ephemeral guard's finding
    assert len(result.stderr.splitlines()) > len(normal.stderr.splitlines())
    # init/check: the per-key log lines only with -v
    result = ns.run(["-k", "K"] + args + ["init"], volume=vol, env=env)
    assert states(result.stderr)["K"][0] == "loaded"
    assert states(ns.run(["-k", "K", "init"], volume=vol).stderr) == {}


def test_quiet_option_wins_over_verbose_twin(ns):
    vol = ns.volume()
    result = ns.run(["-q", "-k", "K", "--", "true"], volume=vol, env={"KEYSHIM_VERBOSE": "1"})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    result = ns.run(["-v", "-k", "K", "init"], volume=vol, env={"KEYSHIM_QUIET": "1"})
    assert states(result.stderr)["K"][0] == "loaded", result.stderr


def test_help(ns):
    result = ns.run(["--help"])
    short = ns.run(["-h"])
    assert result.returncode == 0 and short.returncode == 0
    assert result.stdout == short.stdout and result.stderr == ""
    assert result.stdout.startswith("usage: keyshim")
    for option in ("--dir", "--preset", "--key", "--user", "--supervise", "--no-create",
                   "--allow-ephemeral", "--on-conflict", "--quiet", "--verbose", "--help",
                   "--version", "KEYSHIM_DIR", "KEYSHIM_USER", "KEYSHIM_SUPERVISE"):
        assert option in result.stdout, option


def test_version(ns):
    result = ns.run(["--version"])
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("keyshim 0.") and "(libsodium 1.0." in line, line


def test_keyshim_dir_twin_and_the_option_wins(ns):
    vol = ns.volume()
    result = ns.run(["-k", "K", "init"], volume=vol, dir_option=False,
                    env={"KEYSHIM_DIR": str(vol.mnt / "from-env")})
    assert result.returncode == 0, result.stderr
    assert vol.files() == ["from-env"] and os.listdir(vol.data / "from-env") == ["K"]
    result = ns.run(["-d", str(vol.mnt / "from-option"), "-k", "K", "init"], volume=vol,
                    dir_option=False, env={"KEYSHIM_DIR": str(vol.mnt / "from-env")})
    assert result.returncode == 0, result.stderr
    assert vol.files() == ["from-env", "from-option"]


def test_keyshim_user_twin_and_the_option_wins(ns):
    vol = ns.volume()
    service = ["--", "sh", "-c", "id -u"]
    result = ns.run(["-k", "K"] + service, volume=vol, env={"KEYSHIM_USER": "1001:1001"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1001"]
    assert os.stat(vol.data / "K").st_uid == 1001
    result = ns.run(["-u", "1002:1002", "-k", "K2"] + service, volume=ns.volume("b"),
                    env={"KEYSHIM_USER": "1001:1001"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1002"]


@pytest.mark.parametrize("how", ["KEYSHIM_SUPERVISE=1", "-g with KEYSHIM_SUPERVISE=0"])
def test_keyshim_supervise_twin_and_the_option_wins(ns, how):
    """Supervised, keyshim stays PID 1 and the service is its child."""
    vol = ns.volume()
    if how.startswith("-g"):
        args, env = ["-g"], {"KEYSHIM_SUPERVISE": "0"}
    else:
        args, env = [], {"KEYSHIM_SUPERVISE": "1"}
    result = ns.run(["-k", "K"] + args + ["--", "sh", "-c", "echo pid $$ parent $PPID"],
                    volume=vol, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pid", result.stdout.split()[1], "parent", "1"]
    assert result.stdout.split()[1] != "1"
    unsupervised = ns.run(["-k", "K", "--", "sh", "-c", "echo pid $$"], volume=vol,
                          env={"KEYSHIM_SUPERVISE": "0"})
    assert unsupervised.stdout.split() == ["pid", "1"]


# --- accepting what the service accepts, and nothing more ---------------------------

@pytest.mark.parametrize("name", ["SEMAPHORE_ACCESS_KEY_ENCRYPTION", "SEMAPHORE_COOKIE_HASH",
                                  "AIRFLOW__CORE__FERNET_KEY"])
@pytest.mark.parametrize("where", ["NAME", "NAME_FILE", "key file"])
def test_non_ascii_bytes_are_no_base64_key(ns, tmp_path, name, where):
    """libsodium 1.0.18 decodes bytes from 0x80 up as base64 digits: 42 of
    them and "A=" pass for 32 bytes of base64 that Go's and Python's base64
    refuse. keyshim must refuse it (65) wherever it comes from."""
    vol = ns.volume()
    preset = "semaphore" if name.startswith("SEMAPHORE") else "airflow"
    junk = b"\xff" * 42 + b"A=\n"
    setup, env = "", {}
    if where == "NAME":
        setup = f"export {name}=\"$(printf '\\377%.0s' $(seq 42))A=\""
    elif where == "NAME_FILE":
        (tmp_path / "secret").write_bytes(junk)
        env = {name + "_FILE": str(tmp_path / "secret")}
    else:
        (vol.data / name).write_bytes(junk)
        os.chmod(vol.data / name, 0o600)
    result = ns.run(["-p", preset, "init"], volume=vol, setup=setup, env=env)
    assert result.returncode == 65, result.stderr
    assert name in result.stderr
