"""Shared harness: run the real keyshim binary as PID 1 in fresh PID and
mount namespaces (unshare), with a host directory bind-mounted as the
volume, and check after every test that no key value reached any output.

The leak check knows every key value a test hands keyshim: the files on
its volumes (read before and after every run), values in the environment
it passes (NAME, and what NAME_FILE points at), and whatever the test
registers with `ns.secret(value)` / `ns.secret_file(path, value)`. None may
appear in any recorded output, in any argv given to ns.run/popen, or in
any file under the test's tmp_path outside a key directory (the volumes,
every -d/KEYSHIM_DIR given, and the files NAME_FILE names).

`require(kind, available, why)` is the one way a test may skip for want of
a real part (podman, fuse, qemu, npm, debootstrap): under CI=true it fails
instead, unless KEYSHIM_TEST_ALLOW_SKIP lists the kind (README, Proof)."""

import base64
import binascii
import hashlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
STATIC_BIN = ROOT / "dist" / "keyshim"
ASAN_BIN = ROOT / "build" / "asan" / "keyshim"
BINARIES = {"static": STATIC_BIN, "asan": ASAN_BIN}
# The arm64 build, dist/keyshim-arm64, through qemu-aarch64-static
# (tests/arm64/keyshim): the `ns` fixture's third binary.
ARM64_BIN = ROOT / "dist" / "keyshim-arm64"
BINARIES["arm64"] = ROOT / "tests" / "arm64" / "keyshim"


def skip_under_emulation(ns, why):
    """Skip this run of an `ns` test on the arm64 build, saying why it
    cannot work under qemu-user (the reason is qemu's, not keyshim's)."""
    if ns.binary == BINARIES["arm64"]:
        pytest.skip(f"arm64 under qemu: {why}")
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SEMAPHORE = ["SEMAPHORE_ACCESS_KEY_ENCRYPTION", "SEMAPHORE_COOKIE_HASH",
             "SEMAPHORE_COOKIE_ENCRYPTION"]
AIRFLOW = ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
           "AIRFLOW__API__SECRET_KEY"]


ALLOW_SKIP_VARIABLE = "KEYSHIM_TEST_ALLOW_SKIP"
# Where a service keeps its own configuration, keys included: the harness
# allows key values there and learns the key-like values those files hold.
CONFIG_HOME_VARIABLES = ("SEMAPHORE_CONFIG_PATH", "AIRFLOW_HOME", "AIRFLOW_CONFIG",
                         "N8N_USER_FOLDER", "KEYSHIM_NODE_RED_USER_DIR")
CONFIG_FILE_NAMES = ("config.json", "airflow.cfg", "config", ".config.runtime.json",
                     ".config.runtime.json.backup")


def require(kind, available, why):
    """Skip (saying why) when a real part this test needs is missing; under
    CI=true fail instead, unless KEYSHIM_TEST_ALLOW_SKIP=kind[,kind...]
    (or `all`) says that this machine may go without it."""
    if available:
        return
    allowed = {k.strip() for k in os.environ.get(ALLOW_SKIP_VARIABLE, "").split(",")}
    message = f"{kind} unavailable: {why}"
    print(f"keyshim tests: {message}", file=sys.stderr)
    if os.environ.get("CI", "").lower() in ("true", "1", "yes") and \
            kind not in allowed and "all" not in allowed:
        pytest.fail(f"{message}; CI=true runs every real part "
                    f"(set {ALLOW_SKIP_VARIABLE}={kind} to allow this skip)", pytrace=False)
    pytest.skip(message)


def looks_like_key(text):
    """A canonical base64/base64url (padded) or lower-case hex text of at
    least 16 bytes, or one a test made a few bytes off: what a key looks
    like in the environment. Paths never count."""
    if len(text) < 22 or text.startswith("/") or os.path.exists(text):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
        return True
    if not re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", text) or len(text) % 4:
        return False
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 16


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
        self.known = set()       # key values, wherever the test put them
        self.argvs = []          # every argv handed to popen
        self.key_dirs = set()    # -d / KEYSHIM_DIR values: keys may live there
        self.secret_paths = set()  # NAME_FILE targets and secret_file()s
        self.config_homes = set()  # the services' own config files/dirs

    def secret(self, value):
        """Register a key value the test put somewhere keyshim may see it
        (a service config, a file, a variable): the leak check then looks
        for it too. Returns the value."""
        text = value.decode() if isinstance(value, bytes) else value
        text = text.strip()
        if len(text) >= 16:
            self.known.add(text)
        return value

    def secret_file(self, path, value, mode=0o600):
        """Write `value` (plus a newline) to `path` as a secret keyshim may
        read (NAME_FILE, a service's config): registered, and allowed to
        hold the value."""
        path = pathlib.Path(path)
        path.write_text(value + "\n")
        os.chmod(path, mode)
        self.secret(value)
        self.secret_paths.add(os.path.realpath(path))
        return path

    def learn(self, args, env):
        """What a run hands keyshim: key values in its environment (and in
        the files NAME_FILE names), key directories in its options."""
        self.argvs.append([str(a) for a in args])
        for name, value in (env or {}).items():
            if not isinstance(value, str):
                continue
            if looks_like_key(value):
                self.secret(value)
            if name.endswith("_FILE") and value.startswith("/"):
                real = os.path.realpath(value)
                self.secret_paths.add(real)
                try:
                    with open(real, "rb") as f:
                        self.secret(f.read(4096).decode(errors="replace"))
                except OSError:
                    pass
            if name == "KEYSHIM_DIR" and value:
                self.key_dirs.add(os.path.realpath(value))
            if name in CONFIG_HOME_VARIABLES and value.startswith("/"):
                self.config_homes.add(os.path.realpath(value))
        args = [str(a) for a in args]
        for i, arg in enumerate(args):
            if arg in ("-d", "--dir") and i + 1 < len(args):
                self.key_dirs.add(os.path.realpath(args[i + 1]))
            elif arg.startswith("--dir="):
                self.key_dirs.add(os.path.realpath(arg[len("--dir="):]))
        self.learn_volumes()

    def learn_volumes(self):
        for value in self.volume_values():
            self.known.add(value)
        for home in self.config_homes:
            for path in self.files_under(home):
                if path.name not in CONFIG_FILE_NAMES and str(path) != home:
                    continue  # a service's database or logs: not its keys
                try:
                    with open(path, "rb") as f:
                        text = f.read(1 << 18).decode(errors="replace")
                except OSError:
                    continue
                for token in re.findall(r"[A-Za-z0-9+/_=-]{22,}", text):
                    if looks_like_key(token):
                        self.secret(token)

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
        self.learn(argv, env)
        # --kill-child: killing unshare (a timeout) kills the namespace's
        # PID 1 and so everything in it, so no test can hang on its pipes
        cmd = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc",
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
        self.learn_volumes()
        # A sanitizer report is a failure whatever the exit code says.
        assert "runtime error:" not in err and "AddressSanitizer" not in err, err
        return result

    def volume_values(self):
        """Every key value now in every volume of this test (any depth)."""
        values = []
        for vol in self.volumes:
            for p in vol.data.rglob("*"):
                if p.is_file() and not p.is_symlink() and not p.name.startswith("."):
                    try:
                        text = p.read_bytes()[:4096].decode(errors="replace").strip()
                    except OSError:
                        continue
                    if len(text) >= 16:
                        values.append(text)
        return values

    def secrets(self):
        """Every key value this test handed keyshim or keyshim made."""
        self.learn_volumes()
        return sorted(self.known)

    def allowed_path(self, path):
        """May this file hold a key value? Key directories and the
        secrets the test made for keyshim to read."""
        real = os.path.realpath(path)
        if real in self.secret_paths:
            return True
        homes = [str(v.data) for v in self.volumes] + list(self.key_dirs) + \
            list(self.config_homes)
        return any(real == h or real.startswith(h.rstrip("/") + "/") for h in homes)

    def leaks(self):
        """Where a key value appeared that it must not: outputs, argv, or
        files under tmp_path outside the key directories."""
        found = []
        values = self.secrets()
        if not values:
            return found
        for i, output in enumerate(self.outputs):
            found += [f"output of run {i + 1}" for v in values if v in output]
        for argv in self.argvs:
            joined = "\0".join(argv)
            found += [f"argv {argv[:3]}..." for v in values if v in joined]
        for p in self.written_files():
            if self.allowed_path(p):
                continue
            try:
                with open(p, "rb") as f:
                    data = f.read(1 << 20).decode(errors="replace")
            except OSError:
                continue
            found += [f"file {p}" for v in values if v in data]
        return found

    def written_files(self):
        """Regular files under tmp_path, not installed packages."""
        return self.files_under(self.tmp)

    @staticmethod
    def files_under(root):
        if os.path.isfile(root):
            yield pathlib.Path(root)
            return
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("node_modules", ".git", ".npm")]
            for name in files:
                path = pathlib.Path(top) / name
                if not path.is_symlink() and path.is_file():
                    yield path


def harness(tmp_path, binary):
    """Yield a Namespaces for `binary`; afterwards, fail if any key value of
    any of its volumes appeared in any output it recorded."""
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run scripts/build (scripts/test builds the asan one)")
    namespaces = Namespaces(tmp_path, binary)
    yield namespaces
    leaks = namespaces.leaks()
    assert not leaks, f"a key value appeared where it must not: {sorted(set(leaks))}"


@pytest.fixture(params=list(BINARIES))
def ns(request, tmp_path):
    """The harness, once with the static release binary and once with the
    ASan+UBSan build of the same sources, and the arm64 build under qemu."""
    if request.param == "arm64" and not ARM64_BIN.exists():
        pytest.fail(f"{ARM64_BIN} is missing: run scripts/build --arch arm64")
    yield from harness(tmp_path, BINARIES[request.param])


@pytest.fixture
def ns_static(tmp_path):
    """The harness with the release binary only (for slow scenarios where
    running both builds adds nothing)."""
    yield from harness(tmp_path, STATIC_BIN)
