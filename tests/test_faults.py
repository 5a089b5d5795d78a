"""Fault injection: every step of creating a key fails in turn (strace
-e inject on the real static binary, inside the namespace harness), with
the errors real disks give. After each fault keyshim must exit non-zero
with one error line, leave no key or a complete valid one and no
temporary file, and the next clean start must succeed.

To hit exactly one call, a probe run on a twin volume (same path depth,
same state) is traced first; its trace says which occurrence of a syscall
is, say, the fsync of K2's temporary file, and `when=N` targets it."""

import base64
import os
import re

import pytest

from conftest import STATIC_BIN

STRACE = "/usr/bin/strace"
TEMP_PREFIX = ".keyshim-tmp-"
KEYS = ["K1", "K2"]

# musl's strerror() texts: the error line must say what went wrong.
STRERROR = {
    "ENOSPC": "No space left on device",
    "EIO": "I/O error",
    "EACCES": "Permission denied",
    "EPERM": "Operation not permitted",
    "EDQUOT": "Quota exceeded",
    "EROFS": "Read-only file system",
}
# log.c exit_code_for_errno(): full or read-only disk 73, permission 77.
EXIT = {"ENOSPC": 73, "EDQUOT": 73, "EROFS": 73, "EIO": 74, "EACCES": 77, "EPERM": 77}

LINE = re.compile(r"^(?:\d+ +)?(\w+)\((.*)\) += (-?\w+)")


def keyshim_args(vol, subdir="", user=None):
    args = ["-d", str(vol.mnt) + subdir] + (["-u", user] if user else [])
    for name in KEYS:
        args += ["-k", name]
    return args + ["init"]


def run_traced(ns, vol, args, inject=(), trace="/dev/null", **kwargs):
    """keyshim ARGS under strace, as the namespace's only program."""
    opts = ["-f", "-qq", "-s", "40", "-o", str(trace)]
    for spec in inject:
        opts += ["-e", "inject=" + spec]
    return ns.run(opts + [str(STATIC_BIN)] + args, volume=vol, binary=STRACE,
                  dir_option=False, **kwargs)


def probe_calls(ns, tmp_path, subdir="", user=None):
    """The syscalls of a clean run that creates every key: a list of
    (name, args, result, occurrence of that name, 1-based)."""
    vol = ns.volume("probe")
    trace = tmp_path / "probe.trace"
    result = run_traced(ns, vol, keyshim_args(vol, subdir, user), trace=trace)
    assert result.returncode == 0, result.stderr
    calls, seen = [], {}
    for line in trace.read_text().splitlines():
        match = LINE.match(line)
        if match:
            name = match.group(1)
            seen[name] = seen.get(name, 0) + 1
            calls.append((name, match.group(2), match.group(3), seen[name]))
    trace.unlink()  # it shows the probe's key values in write() calls
    return calls


def step_occurrence(calls, step, key):
    """Which occurrence of the syscall is `step` of creating key `key`."""
    temp_fd = None
    after_link = False
    link_dirfd = None
    for i, (name, args, ret, nth) in enumerate(calls):
        if name == "openat" and TEMP_PREFIX + key + "-" in args:
            temp_fd = ret
            if step == "openat":
                return name, nth
            continue
        if temp_fd is None:
            continue
        first_arg = args.split(",")[0]
        if step in ("fchmod", "fchown", "write", "write2", "fsync", "close") and \
                first_arg == temp_fd:
            if step == "write2" and name == "write":
                step = "write"  # the second write: the newline
                continue
            if name == step:
                return name, nth
        if name == "linkat":
            after_link = True
            link_dirfd = first_arg  # the key directory's descriptor
            if step == "linkat":
                return name, nth
        # the directory itself, not merely the next fsync (another key's)
        if after_link and step == "fsync_dir" and name == "fsync" and first_arg == link_dirfd:
            return name, nth
        if after_link and step == "unlinkat" and name == "unlinkat":
            return name, nth
    raise AssertionError(f"no {step} for {key} in the probe trace")


def valid_key(vol, name):
    data = (vol.data / name).read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 1, data
    assert len(base64.b64decode(data[:-1], validate=True)) == 32
    assert (vol.data / name).stat().st_mode & 0o777 == 0o600
    return data


def assert_whole_or_nothing(vol, temp_ok=False):
    """Keys are absent or complete; no temporary file unless allowed.
    Returns {name: contents} of the keys present."""
    present = {}
    for name in vol.files():
        if name.startswith(TEMP_PREFIX):
            assert temp_ok, f"temporary file left behind: {name}"
            continue
        assert name in KEYS, f"unexpected file {name}"
        present[name] = valid_key(vol, name)
    return present


def one_line(stderr, kind="error"):
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"keyshim: {kind}:"), stderr
    return lines[0]


def clean_start(ns, vol, before, subdir=""):
    """The next start without faults: every key valid, the ones that
    survived the fault unchanged, no temporary file left."""
    result = ns.run(keyshim_args(vol, subdir), volume=vol, dir_option=False)
    assert result.returncode == 0, result.stderr
    root = vol.data / subdir.lstrip("/") if subdir else vol.data
    for name in KEYS:
        data = (root / name).read_bytes()
        assert len(base64.b64decode(data.rstrip(b"\n"), validate=True)) == 32
        if name in before:
            assert data == before[name], f"{name} changed after the fault"
            assert f"{name} " in result.stdout and "loaded" in result.stdout
    assert not [p for p in root.iterdir() if p.name.startswith(TEMP_PREFIX)]
    return result


# (step, error, key): each step of key_file_publish() failing once.
STEP_FAULTS = [
    ("openat", "ENOSPC", "K1"), ("openat", "EACCES", "K1"), ("openat", "EDQUOT", "K1"),
    ("openat", "EROFS", "K1"), ("openat", "EIO", "K2"),
    ("fchmod", "EPERM", "K1"), ("fchmod", "EROFS", "K2"),
    ("write", "ENOSPC", "K1"), ("write", "EDQUOT", "K2"), ("write", "EIO", "K1"),
    ("write2", "ENOSPC", "K1"),  # the newline: the temp file holds a partial key
    ("fsync", "EIO", "K1"), ("fsync", "ENOSPC", "K2"),
    ("close", "EIO", "K1"),
    ("linkat", "EIO", "K1"), ("linkat", "ENOSPC", "K2"), ("linkat", "EDQUOT", "K1"),
    ("linkat", "EROFS", "K1"),
]


@pytest.mark.parametrize("step,error,key", STEP_FAULTS,
                         ids=[f"{s}-{e}-{k}" for s, e, k in STEP_FAULTS])
def test_failed_step_leaves_nothing_half_made(ns_static, tmp_path, step, error, key):
    ns = ns_static
    name, nth = step_occurrence(probe_calls(ns, tmp_path), step, key)
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol),
                        inject=[f"{name}:error={error}:when={nth}"])
    # creating the temporary file is "cannot create" (73) even on EIO
    expected = 73 if step == "openat" and EXIT[error] == 74 else EXIT[error]
    assert result.returncode == expected, result.stderr
    line = one_line(result.stderr)
    assert key in line and STRERROR[error] in line
    present = assert_whole_or_nothing(vol)
    # the keys before the failing one were published; the failing one not
    assert sorted(present) == KEYS[:KEYS.index(key)]
    clean_start(ns, vol, present)


@pytest.mark.parametrize("error", ["EACCES", "EROFS", "ENOSPC"])
def test_mkdir_failure(ns_static, tmp_path, error):
    """The key directory itself cannot be made."""
    ns = ns_static
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol, "/keys"),
                        inject=[f"mkdirat:error={error}:when=1"])  # mkdirat: issue 9
    assert result.returncode == EXIT[error], result.stderr
    assert STRERROR[error] in one_line(result.stderr)
    assert vol.files() == []
    clean_start(ns, vol, {}, "/keys")


@pytest.mark.parametrize("from_end", [2, 1], ids=["key-bytes", "temp-name"])
def test_getrandom_failure(ns_static, tmp_path, from_end):
    """The kernel refuses random bytes (libsodium's misuse handler): for the
    key itself or the temp name, the last two getrandom calls before the
    first temporary file (libsodium tests the random source on its first
    use, just before)."""
    ns = ns_static
    calls = probe_calls(ns, tmp_path)
    first_temp = next(i for i, c in enumerate(calls) if c[0] == "openat" and TEMP_PREFIX in c[1])
    randoms = [c for c in calls[:first_temp] if c[0] == "getrandom"]
    assert len(randoms) == 3, randoms  # the probe agrees with the numbering
    nth = len(randoms) + 1 - from_end
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol), inject=[f"getrandom:error=EIO:when={nth}"])
    assert result.returncode == 71, result.stderr
    assert "random bytes" in one_line(result.stderr)
    assert vol.files() == []
    clean_start(ns, vol, {})


def test_a_start_that_only_loads_keys_asks_for_no_random_bytes(ns_static, tmp_path):
    """Loading existing keys needs no randomness, so keyshim never asks for
    it then: at boot, before the kernel's random pool is ready, getrandom()
    blocks, and a start that only loads keys must not wait for it. Even a
    refusing random source does not stop such a start."""
    ns = ns_static
    vol = ns.volume()
    assert clean_start(ns, vol, {}).returncode == 0
    trace = tmp_path / "load.trace"
    result = run_traced(ns, vol, keyshim_args(vol), trace=trace,
                        inject=["getrandom:error=EIO"])
    calls = trace.read_text()
    trace.unlink()
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout and "created" not in result.stdout
    assert "getrandom(" not in calls


@pytest.mark.parametrize("inject", [
    # a filesystem without hard links: published with renameat2(RENAME_NOREPLACE)
    "linkat:error=EPERM",
    # no locks (some network filesystems): link(2) alone keeps creation safe
    "flock:error=ENOLCK",
])
def test_missing_filesystem_feature_still_creates_keys(ns_static, tmp_path, inject):
    ns = ns_static
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol), inject=[inject])
    assert result.returncode == 0, result.stderr
    assert sorted(assert_whole_or_nothing(vol)) == KEYS
    clean_start(ns, vol, {k: valid_key(vol, k) for k in KEYS})


def test_link_and_rename_both_fail(ns_static, tmp_path):
    ns = ns_static
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol),
                        inject=["linkat:error=EPERM", "renameat2:error=EIO:when=1"])
    assert result.returncode == 74, result.stderr
    assert "I/O error" in one_line(result.stderr)
    assert assert_whole_or_nothing(vol) == {}
    clean_start(ns, vol, {})


@pytest.mark.parametrize("key", KEYS)
def test_directory_fsync_failure_after_link(ns_static, tmp_path, key):
    """The key is linked, then flushing the directory fails: exit 74 with
    the key complete (it may or may not survive a power cut, but it is
    whole), and no temporary file left. The fault hits the fsync of the
    key directory's own descriptor (K2 is the last key: no later fsync
    of another key's temporary file could stand in for it)."""
    ns = ns_static
    name, nth = step_occurrence(probe_calls(ns, tmp_path), "fsync_dir", key)
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol), inject=[f"{name}:error=EIO:when={nth}"])
    assert result.returncode == 74, result.stderr
    assert "cannot flush the directory" in one_line(result.stderr)
    assert "I/O error" in one_line(result.stderr)
    made = KEYS[:KEYS.index(key) + 1]
    try:
        assert sorted(assert_whole_or_nothing(vol)) == made
    finally:
        clean_start(ns, vol, {k: valid_key(vol, k) for k in made})


def parent_fsync_occurrence(calls, parent, leaf="keys"):
    """The fsync of the new key directory's parent. keyshim walks DIR with
    openat(O_NOFOLLOW) one component at a time and makes the leaf with
    mkdirat(parentfd, leaf): the descriptor that mkdirat used must be the
    one opened on `parent`'s last component, and that same descriptor
    (not closed or reused in between) is then fsynced."""
    opened = {}  # fd -> the name it was last opened on
    parent_fd = None
    for name, args, ret, nth in calls:
        fd = args.split(",")[0].strip()
        if name in ("open", "openat") and ret.lstrip("-").isdigit() and int(ret) >= 0:
            path = re.search(r'"([^"]*)"', args)
            opened[ret] = path[1] if path else None
        elif name == "close":
            opened.pop(fd, None)
            if fd == parent_fd:
                break
        elif name == "mkdirat" and ret == "0" and f'"{leaf}"' in args:
            assert opened.get(fd) == os.path.basename(parent), \
                f"mkdirat's dirfd {fd} is not a descriptor opened on {parent}: {args}"
            parent_fd = fd
        elif parent_fd is not None and name == "fsync" and fd == parent_fd:
            return name, nth
    raise AssertionError(f"no fsync of {parent}'s descriptor after mkdirat in the probe trace")


def test_new_key_directory_parent_is_fsynced(ns_static, tmp_path):
    """keyshim makes DIR: the new entry in DIR's parent is flushed too,
    and a failure to flush it is exit 74 before any key is written."""
    ns = ns_static
    probe = ns.volume("probe")
    trace = tmp_path / "parent.trace"
    opts = ["-f", "-qq", "-s", "4096", "-o", str(trace), str(STATIC_BIN)]
    result = ns.run(opts + keyshim_args(probe, "/keys"), volume=probe, binary=STRACE,
                    dir_option=False)
    assert result.returncode == 0, result.stderr
    calls, seen = [], {}
    for line in trace.read_text().splitlines():
        match = LINE.match(line)
        if match:
            seen[match[1]] = seen.get(match[1], 0) + 1
            calls.append((match[1], match[2], match[3], seen[match[1]]))
    trace.unlink()  # it holds the probe's key values
    name, nth = parent_fsync_occurrence(calls, str(probe.mnt))

    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol, "/keys"),
                        inject=[f"{name}:error=EIO:when={nth}"])
    assert result.returncode == 74, result.stderr
    assert "cannot flush the parent" in one_line(result.stderr)
    assert vol.files() == ["keys"] and os.listdir(vol.data / "keys") == []
    clean_start(ns, vol, {}, "/keys")


def test_temp_unlink_failure_after_link(ns_static, tmp_path):
    """The key is published but its temporary name cannot be removed: a
    warning, success, and the next start removes the leftover."""
    ns = ns_static
    name, nth = step_occurrence(probe_calls(ns, tmp_path), "unlinkat", "K1")
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol), inject=[f"{name}:error=EIO:when={nth}"])
    assert result.returncode == 0, result.stderr
    assert "I/O error" in one_line(result.stderr, "warning")
    assert sorted(assert_whole_or_nothing(vol, temp_ok=True)) == KEYS
    assert [n for n in vol.files() if n.startswith(TEMP_PREFIX + "K1-")]
    before = {k: valid_key(vol, k) for k in KEYS}
    result = clean_start(ns, vol, before)
    assert "removed a temporary file" in result.stderr


def test_write_and_cleanup_both_fail(ns_static, tmp_path):
    """A double fault: the write fails, then so does removing the temp
    file. The leftover is never taken for a key and the next start
    removes it."""
    ns = ns_static
    calls = probe_calls(ns, tmp_path)
    name, nth = step_occurrence(calls, "write", "K1")
    # abandon()'s unlinkat is the first unlinkat after the temp file's open
    unlinks_before = sum(1 for c in calls[:calls.index(next(
        c for c in calls if c[0] == "openat" and TEMP_PREFIX in c[1]))] if c[0] == "unlinkat")
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol),
                        inject=[f"write:error=ENOSPC:when={nth}",
                                f"unlinkat:error=EIO:when={unlinks_before + 1}"])
    assert result.returncode == 73, result.stderr
    assert "No space left on device" in one_line(result.stderr)
    assert assert_whole_or_nothing(vol, temp_ok=True) == {}
    assert [n for n in vol.files() if n.startswith(TEMP_PREFIX)]
    result = clean_start(ns, vol, {})
    assert "removed a temporary file" in result.stderr


def test_chown_failure_for_another_user(ns_static, tmp_path):
    """As root making keys for -u nobody: handing the temp file over fails."""
    ns = ns_static
    name, nth = step_occurrence(probe_calls(ns, tmp_path, user="nobody"), "fchown", "K1")
    vol = ns.volume()
    result = run_traced(ns, vol, keyshim_args(vol, user="nobody"),
                        inject=[f"{name}:error=EPERM:when={nth}"])
    assert result.returncode == 77, result.stderr
    assert "chown" in one_line(result.stderr)
    assert assert_whole_or_nothing(vol) == {}
    result = ns.run(keyshim_args(vol, user="nobody"), volume=vol, dir_option=False)
    assert result.returncode == 0, result.stderr
    assert sorted(assert_whole_or_nothing(vol)) == KEYS
    assert {(vol.data / k).stat().st_uid for k in KEYS} == {65534}
