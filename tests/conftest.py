"""Shared harness: run the real keyshim binary as PID 1 in fresh PID and
mount namespaces (unshare), with a host directory bind-mounted as the
volume, and check after every test that no key value reached any output."""

import hashlib
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STATIC_BIN = ROOT / "dist" / "keyshim"
ASAN_BIN = ROOT / "build" / "asan" / "keyshim"
BINARIES = {"static": STATIC_BIN, "asan": ASAN_BIN}
# --- arm64 under emulation (issue 10) ---
# dist/keyshim-arm64 through qemu-aarch64-static (tests/arm64/keyshim); a
# test module that cannot run under emulation says why in ARM64_SKIP.
ARM64_BIN = ROOT / "dist" / "keyshim-arm64"
BINARIES["arm64"] = ROOT / "tests" / "arm64" / "keyshim"


def arm64_check(request):
    reason = getattr(request.module, "ARM64_SKIP", None)
    if reason:
        pytest.skip(f"arm64 under qemu: {reason}")
    if not ARM64_BIN.exists():
        pytest.fail(f"{ARM64_BIN} is missing: run scripts/build --arch arm64")
# --- end arm64 ---
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SEMAPHORE = ["SEMAPHORE_ACCESS_KEY_ENCRYPTION", "SEMAPHORE_COOKIE_HASH",
             "SEMAPHORE_COOKIE_ENCRYPTION"]
AIRFLOW = ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
           "AIRFLOW__API__SECRET_KEY"]


def fingerprint(value):
    """What keyshim prints for a value: `printf %s VALUE | b2sum -l 64`."""
    if isinstance(value, str):
        value = value.encode()
    return hashlib.blake2b(value, digest_size=8).hexdigest()


STATE_LINE = re.compile(
    r"keyshim: (\w+) (created|loaded|adopted|file|env) ([0-9a-f]{16}) \((.*)\)$")


def states(stderr):
    """{NAME: (STATE, FINGERPRINT)} from keyshim's per-key log lines."""
    found = {}
    for line in stderr.splitlines():
        m = STATE_LINE.match(line)
        if m:
            found[m[1]] = (m[2], m[3])
    return found


class Volume:
    """A host directory that plays a persistent volume: `data` is bind-
    mounted at `mnt`, which is the key directory inside the namespace."""

    def __init__(self, base, name):
        self.data = base / f"{name}-data"
        self.mnt = base / f"{name}-mnt"
        self.data.mkdir()
        self.mnt.mkdir()

    def key(self, name):
        return (self.data / name).read_text().rstrip("\n")

    def files(self):
        return sorted(p.name for p in self.data.iterdir())

    def snapshot(self):
        """Everything about the volume a failed run must not change."""
        snap = {}
        for p in sorted(self.data.iterdir()):
            st = p.lstat()
            body = os.readlink(p) if p.is_symlink() else (
                p.read_bytes() if p.is_file() else None)
            snap[p.name] = (st.st_mode, st.st_uid, st.st_size, body)
        return snap


class Namespaces:
    def __init__(self, tmp_path, binary):
        self.tmp = tmp_path
        self.binary = binary
        self.volumes = []
        self.outputs = []

    def volume(self, name="vol"):
        vol = Volume(self.tmp, name)
        self.volumes.append(vol)
        return vol

    def popen(self, args, volume=None, env=None, setup="", binary=None,
              dir_option=True, **kwargs):
        """Start `keyshim ARGS` as PID 1 of new PID and mount namespaces.
        With a volume, it is bind-mounted first and -d points at it.
        `setup` is shell run inside the namespaces before the exec."""
        binary = str(binary or self.binary)
        argv = [binary]
        if volume is not None and dir_option:
            argv += ["-d", str(volume.mnt)]
        argv += list(args)
        script = 'set -e; if [ -n "$1" ]; then mount --bind "$1" "$2"; fi; shift 2; ' \
                 + setup + '\nexec "$@"'
        full_env = {"PATH": BASE_PATH,
                    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=99",
                    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=98"}
        full_env.update(env or {})
        cmd = ["unshare", "--pid", "--fork", "--mount", "--mount-proc",
               "--propagation", "private", "sh", "-c", script, "sh",
               str(volume.data) if volume else "", str(volume.mnt) if volume else ""]
        return subprocess.Popen(cmd + argv, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kwargs)

    def run(self, args, timeout=60, **kwargs):
        proc = self.popen(args, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"keyshim {args} timed out; stderr: {err}")
        return self.record(proc.returncode, out, err)

    def record(self, returncode, out, err):
        result = subprocess.CompletedProcess([], returncode, out, err)
        self.outputs.append(out + err)
        # A sanitizer report is a failure whatever the exit code says.
        assert "runtime error:" not in err and "AddressSanitizer" not in err, err
        return result

    def secrets(self):
        """Every key value in every volume of this test."""
        values = []
        for vol in self.volumes:
            for p in vol.data.iterdir():
                if p.is_file() and not p.is_symlink() and not p.name.startswith("."):
                    text = p.read_bytes().decode(errors="replace").strip()
                    if len(text) >= 16:
                        values.append(text)
        return values


def harness(tmp_path, binary):
    """Yield a Namespaces for `binary`; afterwards, fail if any key value of
    any of its volumes appeared in any output it recorded."""
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run scripts/build (scripts/test builds the asan one)")
    namespaces = Namespaces(tmp_path, binary)
    yield namespaces
    for value in namespaces.secrets():
        for output in namespaces.outputs:
            assert value not in output, "a key value appeared in keyshim's output"


@pytest.fixture(params=list(BINARIES))
def ns(request, tmp_path):
    """The harness, once with the static release binary and once with the
    ASan+UBSan build of the same sources, and the arm64 build under qemu."""
    if request.param == "arm64":
        arm64_check(request)
    yield from harness(tmp_path, BINARIES[request.param])


@pytest.fixture
def ns_static(tmp_path):
    """The harness with the release binary only (for slow scenarios where
    running both builds adds nothing)."""
    yield from harness(tmp_path, STATIC_BIN)
