"""keyshim's main paths under valgrind: no memory error, no definite or
indirect leak, no file descriptor left open at exit but the inherited
ones. Two builds: build/plain/keyshim (glibc, Debian's libsodium, no
sanitizers: valgrind cannot run ASan binaries) and the static musl
release binary dist/keyshim. Each runs as PID 1 in the namespace harness,
with valgrind's report in its own file so keyshim's stderr stays clean."""

import base64
import os
import re

import pytest

from conftest import ROOT, SEMAPHORE, STATIC_BIN

VALGRIND = "/usr/bin/valgrind"
BUILDS = {"plain": ROOT / "build" / "plain" / "keyshim", "static": STATIC_BIN}
PRESET = ["-p", "semaphore"]


@pytest.fixture(params=list(BUILDS))
def vg(request, ns_static, tmp_path):
    binary = BUILDS[request.param]
    assert binary.exists(), f"{binary} is missing: scripts/test builds it (build/plain)"
    logs = tmp_path / "valgrind"
    logs.mkdir()

    def run(args, volume=None, expect=0, dir_option=True, **kwargs):
        # --vgdb=no: valgrind's gdb server makes FIFOs in /tmp named after
        # the pid, and here every keyshim is pid 1 of its namespace: two
        # runs at once on one machine would share them.
        argv = ["-q", "--vgdb=no", "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect",
                "--show-leak-kinds=definite,indirect", "--track-fds=yes",
                "--trace-children=no", f"--log-file={logs}/%p.log", str(binary)]
        if volume is not None and dir_option:
            argv += ["-d", str(volume.mnt)]
        result = ns_static.run(argv + list(args), volume=volume, binary=VALGRIND,
                               dir_option=False, timeout=120, **kwargs)
        report = "".join(p.read_text() for p in sorted(logs.iterdir()))
        for p in logs.iterdir():
            p.unlink()
        assert result.returncode == expect, (result.returncode, result.stderr, report)
        # die() exits with the key directory still open, which is harmless;
        # a normal return must have closed everything it opened
        assert_clean(report, fds=expect in (0, 1))
        return result

    run.ns = ns_static
    return run


def assert_clean(report, fds=True):
    """Nothing in valgrind's report but open descriptors: the inherited
    ones, or (fds=False) any."""
    lines = [re.sub(r"^==\d+== ?", "", line) for line in report.splitlines()]
    if not fds:
        # drop each "Open file descriptor" block: it ends at a blank line
        kept, skipping = [], False
        for line in lines:
            skipping = line.startswith("Open file descriptor") or (skipping and line.strip())
            if not skipping:
                kept.append(line)
        lines = kept
    for i, line in enumerate(lines):
        if line.strip() == "" or line.startswith("FILE DESCRIPTORS:") or \
                line.strip() == "<inherited from parent>":
            continue
        if line.startswith("Open file descriptor") and i + 1 < len(lines) and \
                lines[i + 1].strip() == "<inherited from parent>":
            continue
        raise AssertionError("valgrind says:\n" + report)


def test_init_creates_then_loads(vg):
    vol = vg.ns.volume()
    first = vg(PRESET + ["init"], volume=vol)
    assert first.stdout.count(" created") == 3
    again = vg(PRESET + ["init"], volume=vol)
    assert again.stdout.count(" loaded") == 3
    assert vol.files() == sorted(SEMAPHORE)


def test_check(vg):
    vol = vg.ns.volume()
    assert vg(PRESET + ["check"], volume=vol, expect=1).stdout.count(" missing") == 3
    vg(PRESET + ["init"], volume=vol)
    assert vg(PRESET + ["-v", "check"], volume=vol).stdout.count(" loaded") == 3


def test_exec(vg):
    vol = vg.ns.volume()
    result = vg(PRESET + ["--", "/bin/true"], volume=vol)
    assert result.stderr.count("created") == 3


def test_supervise(vg):
    vol = vg.ns.volume()
    vg(PRESET + ["-g", "--", "/bin/true"], volume=vol)
    vg(PRESET + ["-g", "--", "sh", "-c", "kill -TERM $$"], volume=vol, expect=128 + 15)
    vg(PRESET + ["-g", "--", "sh", "-c", "exit 3"], volume=vol, expect=3)


def test_user(vg):
    vol = vg.ns.volume()
    vg(PRESET + ["-u", "nobody", "init"], volume=vol)
    vg(PRESET + ["-u", "no-such-user-here", "init"], volume=vol, expect=67)


def test_error_paths(vg, tmp_path):
    vol = vg.ns.volume()
    vg(PRESET + ["init"], volume=vol)
    good = (vol.data / SEMAPHORE[0]).read_text()
    (vol.data / SEMAPHORE[1]).write_text("not a key\n")
    vg(PRESET + ["init"], volume=vol, expect=65)
    (vol.data / SEMAPHORE[1]).unlink()
    # a conflicting value from the environment, refused
    other = base64.b64encode(os.urandom(32)).decode()
    vg(PRESET + ["init"], volume=vol, expect=78, env={SEMAPHORE[0]: other})
    vg(PRESET + ["--no-create", "init"], volume=vol, expect=78)
    # NAME_FILE, and a value adopted from the environment
    secret = tmp_path / "secret"
    secret.write_text(good)
    vg(PRESET + ["init"], volume=vol, env={SEMAPHORE[1] + "_FILE": str(secret)})
    vg(PRESET + ["--bogus"], volume=vol, expect=64)
    vg(["-k", "K", "--", "/no/such/command"], volume=vol, expect=127)
    # the container's own filesystem: refused as ephemeral
    vg(PRESET + ["-d", str(tmp_path / "rootfs-keys"), "init"], expect=78)
