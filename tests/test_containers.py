"""keyshim in real OCI containers (rootful podman, podman-compose 1.0.3).

The compose files under examples/ run as they are, with their image
variables pointing at stand-ins built FROM scratch (busybox + dist/keyshim,
the real images' entrypoint paths, users and CMDs; see
tests/containers/Containerfile.standin) and at Dockerfile.example's own
wrapper stages built on those stand-ins (scripts/lib/podman.sh).

A stand-in service prints `standin: NAME sha256 HEX` for each key it got,
then serves until SIGTERM; keyshim prints `keyshim: NAME STATE FINGERPRINT`.
Both are checked against the key files on the volume, and no output may
contain a key value.

podman-compose 1.0.3 ignores depends_on conditions, so every test creates
the containers with `up --no-start`, runs the init service attached
(`podman start -a`, its exit code is the container's) and then starts the
others itself: the order Docker Compose would enforce.
"""

import hashlib
import json
import os
import re
import socket
import subprocess
import itertools
import time

import pytest
import yaml

from conftest import AIRFLOW, ROOT, SEMAPHORE, fingerprint, require

CONTAINERS_CONF = ROOT / "tests" / "containers" / "containers.conf"
EXAMPLES = ROOT / "examples"
AIRFLOW_COMPONENTS = ["airflow-apiserver", "airflow-scheduler",
                      "airflow-dag-processor", "airflow-triggerer",
                      "airflow-init"]
ENV = dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))
_serial = itertools.count()


def sh(args, check=True, timeout=120, **kw):
    result = subprocess.run(args, env=kw.pop("env", ENV), capture_output=True,
                            text=True, timeout=timeout, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def podman(*args, **kw):
    return sh(["podman", *args], **kw)


def lib(script):
    """Run bash with scripts/lib/{common,podman}.sh loaded."""
    return sh(["bash", "-c", "source scripts/lib/common.sh; source scripts/lib/podman.sh; "
               "podman_env; " + script], cwd=ROOT, timeout=300)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture(scope="module")
def images():
    """NAME -> stand-in image, for the compose files' variables."""
    info = podman("info", check=False, timeout=60)
    require("podman", info.returncode == 0,
            f"`podman info` failed: {info.stderr.strip()[-300:]}")
    lib("build_standin_images")
    return dict(line.split("=", 1) for line in lib("standin_env").stdout.split())


def unique(prefix):
    return f"ks{prefix}{os.getpid()}x{next(_serial)}"


def parse_reports(text):
    """{NAME: sha256} from a stand-in, {NAME: (state, fingerprint)} from keyshim."""
    standin = dict(re.findall(r"^standin: (\S+) sha256 ([0-9a-f]{64})$", text, re.M))
    shim = {name: (state, fp) for name, state, fp in re.findall(
        r"^keyshim: (\S+) (created|loaded|adopted) ([0-9a-f]{16}) ", text, re.M)}
    return standin, shim


class Outputs:
    """Everything the containers printed, to check no key value leaked."""

    def __init__(self):
        self.texts = []
        self.values = set()

    def add(self, text):
        self.texts.append(text)
        return text

    def assert_no_values(self):
        for value in self.values:
            for text in self.texts:
                assert value not in text, "a key value appeared in container output"


class Project:
    """One podman-compose project from a file under examples/."""

    def __init__(self, images, outputs, example, prefix):
        self.name = unique(prefix)
        self.file = str(EXAMPLES / example)
        self.outputs = outputs
        self.env = dict(ENV, **images, SEMAPHORE_PORT=free_port(), AIRFLOW_PORT=free_port())

    def compose(self, *args):
        # podman-compose's exit code says nothing (see module doc): check
        # the containers with podman itself.
        return sh(["podman-compose", "-p", self.name, "-f", self.file, *args],
                  check=False, env=self.env, timeout=180)

    def create(self):
        self.compose("up", "--no-start", "--no-build")
        services = yaml.safe_load(open(self.file))["services"]
        for service in services:
            assert self.container(service), f"podman-compose created no {service} container"

    def container(self, service):
        return podman("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}",
                      "--filter", f"label=com.docker.compose.service={service}").stdout.strip()

    def run_init(self, service):
        """`podman start -a`: waits, and returns the container's exit code."""
        result = podman("start", "-a", self.container(service), check=False)
        self.outputs.add(result.stdout + result.stderr)
        return result

    def start(self, *services):
        podman("start", *[self.container(s) for s in services])

    def serving(self, service, timeout=60):
        """Logs of SERVICE once its stand-in is serving (after its report)."""
        return wait_serving(self.container(service), self.outputs, timeout)

    def down(self, volumes=False):
        self.compose("down", *(["-v"] if volumes else []))
        left = podman("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}")
        assert not left.stdout.strip(), "podman-compose down left containers"

    def cleanup(self):
        self.compose("down", "-v")
        podman("network", "rm", "-f", f"{self.name}_default", check=False)

    def volume(self, name="keys"):
        return volume_keys(f"{self.name}_{name}", self.outputs)


def wait_serving(container, outputs, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        got = podman("logs", container)
        logs = got.stdout + got.stderr
        if "standin: serving" in logs:
            return outputs.add(logs)
        state = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container).stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"{container} not serving after {timeout}s ({state}):\n{logs}")
        time.sleep(0.3)


def volume_keys(volume, outputs):
    """{NAME: (value, uid, mode)} of the key files in a podman volume."""
    path = podman("volume", "inspect", "-f", "{{.Mountpoint}}", volume).stdout.strip()
    keys = {}
    for name in os.listdir(path):
        st = os.lstat(os.path.join(path, name))
        value = open(os.path.join(path, name)).read().rstrip("\n")
        outputs.values.add(value)
        keys[name] = (value, st.st_uid, st.st_mode & 0o7777)
    return keys


def assert_service_got(logs, keys, names, state=None):
    """The stand-in got exactly the volume's keys; keyshim said so."""
    standin, shim = parse_reports(logs)
    assert sorted(keys) == sorted(names)
    for name in names:
        value = keys[name][0]
        assert standin.get(name) == hashlib.sha256(value.encode()).hexdigest(), logs
        assert shim[name][1] == fingerprint(value), logs
        if state:
            assert shim[name][0] == state, logs
    return {name: shim[name][1] for name in names}


@pytest.fixture
def outputs():
    out = Outputs()
    yield out
    out.assert_no_values()


@pytest.fixture
def project(images, outputs):
    made = []

    def make(example, prefix):
        p = Project(images, outputs, example, prefix)
        made.append(p)
        return p
    yield make
    for p in made:
        p.cleanup()


def test_entrypoint_keys_survive_recreate_and_a_new_volume_makes_new_ones(project):
    """Way 1 (Semaphore): keys made on the first up, the same after down and
    up (new containers), new ones after `down -v`."""
    p = project("semaphore/compose.entrypoint.yaml", "ep")

    p.create()
    p.start("semaphore")
    first = assert_service_got(p.serving("semaphore"), p.volume(), SEMAPHORE, "created")
    assert {uid for _, uid, _ in p.volume().values()} == {1001}
    assert {mode for _, _, mode in p.volume().values()} == {0o600}

    p.down()
    p.create()
    p.start("semaphore")
    again = assert_service_got(p.serving("semaphore"), p.volume(), SEMAPHORE, "loaded")
    assert again == first

    p.down(volumes=True)
    p.create()
    p.start("semaphore")
    fresh = assert_service_got(p.serving("semaphore"), p.volume(), SEMAPHORE, "created")
    assert not set(fresh.values()) & set(first.values())


def test_entrypoint_five_airflow_components_started_together_agree(project):
    """Way 1 (Airflow): five components start at once on a fresh volume;
    one makes the keys, all five export the same ones."""
    p = project("airflow/compose.entrypoint.yaml", "epa")
    p.create()
    p.start(*AIRFLOW_COMPONENTS)
    keys = p.volume()
    states = []
    for component in AIRFLOW_COMPONENTS:
        logs = p.serving(component)
        assert_service_got(logs, keys, AIRFLOW)
        assert "standin: uid 50000 gid 0" in logs
        states += [state for state, _ in parse_reports(logs)[1].values()]
    # each key made exactly once, however the starts interleaved
    assert states.count("created") == len(AIRFLOW)
    assert {uid for _, uid, _ in keys.values()} == {50000}


def test_init_service_then_five_components_read_only(project, images, outputs):
    """Way 2 (Airflow): before `keys` ran, a component refuses (78) and
    makes nothing; after it, five components started together all load
    the init service's keys from the read-only volume."""
    p = project("airflow/compose.init.yaml", "init")
    p.create()

    # The components' own entrypoint, from the compose file, on the still
    # empty volume: --no-create means exit 78, no key of its own.
    common = yaml.safe_load(open(p.file))["x-airflow"]
    early = podman("run", "--rm", "--pull=never", "--network", "none",
                   "-v", f"{p.name}_keys:/var/lib/keyshim:ro",
                   "--entrypoint", json.dumps(common["entrypoint"]),
                   images["AIRFLOW_KEYSHIM_IMAGE"], "scheduler", check=False)
    outputs.add(early.stdout + early.stderr)
    assert early.returncode == 78, early.stderr
    assert "standin:" not in early.stdout
    assert p.volume() == {}

    init = p.run_init("keys")
    assert init.returncode == 0, init.stderr
    keys = p.volume()
    table = {name: (fp, state) for name, fp, state in
             (line.split() for line in init.stdout.splitlines())}
    assert table == {name: (fingerprint(keys[name][0]), "created") for name in AIRFLOW}
    assert {uid for _, uid, _ in keys.values()} == {50000}

    p.start(*AIRFLOW_COMPONENTS)
    for component in AIRFLOW_COMPONENTS:
        assert_service_got(p.serving(component), keys, AIRFLOW, "loaded")
    assert p.volume() == keys


def test_dropin_semaphore_on_an_image_without_keyshim(project, images):
    """Way 3 (Semaphore): the unmodified image; keyshim comes from the
    `shim` volume, the service runs as 1001:0 as the image would."""
    image = images["SEMAPHORE_IMAGE"]
    probe = podman("run", "--rm", "--pull=never", "--network", "none",
                   "--entrypoint", "/bin/sh", image, "-c", "test -e /keyshim", check=False)
    assert probe.returncode == 1, "the stand-in image must not contain keyshim"

    p = project("semaphore/compose.dropin.yaml", "drop")
    p.create()
    install = p.run_init("keyshim-install")
    assert install.returncode == 0, install.stderr
    assert "installed /shim/keyshim" in install.stderr
    p.start("semaphore")
    logs = p.serving("semaphore")
    keys = p.volume()
    assert_service_got(logs, keys, SEMAPHORE, "created")
    assert "standin: uid 1001 gid 0" in logs
    assert {(uid, mode) for _, uid, mode in keys.values()} == {(1001, 0o600)}


def test_dropin_five_airflow_components_started_together_agree(project):
    """Way 3 (Airflow): five unmodified components, each with keyshim from
    the volume in front of dumb-init, start at once and agree."""
    p = project("airflow/compose.dropin.yaml", "dropa")
    p.create()
    assert p.run_init("keyshim-install").returncode == 0
    p.start(*AIRFLOW_COMPONENTS)
    keys = p.volume()
    for component in AIRFLOW_COMPONENTS:
        logs = p.serving(component)
        assert_service_got(logs, keys, AIRFLOW)
        assert "standin: uid 50000 gid 0" in logs


@pytest.mark.parametrize("variable", ["SEMAPHORE_KEYSHIM_IMAGE", "AIRFLOW_KEYSHIM_IMAGE",
                                      "SEMAPHORE_SUPERVISED_IMAGE"])
def test_without_a_volume_the_container_exits_78_and_says_mount_one(images, outputs, variable):
    """The Dockerfile.example images with no volume at /var/lib/keyshim:
    keys would die with the container, so keyshim refuses before the
    service starts."""
    result = podman("run", "--rm", "--pull=never", "--network", "none", images[variable],
                    check=False)
    outputs.add(result.stdout + result.stderr)
    assert result.returncode == 78, result.stderr
    assert "mount a volume at /var/lib/keyshim" in result.stderr
    assert "standin:" not in result.stdout


def test_supervised_stop_reaches_the_service_trap(images, outputs):
    """-g (target semaphore-supervised): keyshim stays PID 1; `podman stop`
    (SIGTERM) reaches the service's trap and the container exits with the
    service's status, long before podman would SIGKILL it (137)."""
    name, volume = unique("sup"), unique("supvol")
    try:
        podman("run", "-d", "--pull=never", "--network", "none", "--name", name,
               "-v", f"{volume}:/var/lib/keyshim", images["SEMAPHORE_SUPERVISED_IMAGE"])
        logs = wait_serving(name, outputs)
        assert_service_got(logs, volume_keys(volume, outputs), SEMAPHORE, "created")
        assert "pid 1\n" not in logs  # keyshim is PID 1, the service its child
        top = podman("top", name, "pid", "args").stdout
        assert re.search(r"^1\s+/keyshim -g ", top, re.M), top

        started = time.monotonic()
        podman("stop", "-t", "60", name)
        took = time.monotonic() - started
        status = podman("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        logs = outputs.add(podman("logs", name).stdout)
        assert status == "0", f"exit {status} after {took:.1f}s"
        assert "standin: SIGTERM, shutting down cleanly" in logs
        print(f"podman stop took {took:.2f}s")
    finally:
        podman("rm", "-f", name, check=False)
        podman("volume", "rm", "-f", volume, check=False)
