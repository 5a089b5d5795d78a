"""The Kubernetes manifests under examples/kubernetes/, played with podman.

Two checks for each file:

- its structure is what a cluster accepts (apiVersion, kind, the required
  fields, selectors that match, mounts that name a volume) and what the
  README promises (an init container makes the keys, every component runs
  keyshim with --no-create on the claim mounted read-only, non-root pods
  with fsGroup, the claim never changed behind keyshim's back);
- `podman kube play` runs it on the stand-in images (tests/containers,
  scripts/lib/podman.sh): every container exports the same keys, the ones
  on the claim (or in the Secret); after `podman kube down` and a second
  `play` the keys are the same.

podman 4.3 is no cluster, so the test plays an adapted copy; the files
themselves stay valid for a cluster. The differences, each needed:
  - a `kind: PersistentVolumeClaim` document breaks the second `play`: it
    is left out, and the claim becomes a podman named volume;
  - a Deployment with restartPolicy Always re-runs its init container until
    a timeout, and init containers are removed after they ran: each
    Deployment is played as the Pod of its template, restartPolicy
    OnFailure, annotated `io.podman.annotations.init.container.type:
    always` (so the init container runs on every start and its report can
    be read);
  - Secret volumes hold the values of `data` still base64-encoded (and
    podman checks that they are standard base64): the test's Secret
    carries values that are keys and base64 at once;
  - a secret volume without `optional` crashes podman 4.3 (nil pointer):
    the examples say `optional: false`, which a cluster takes too;
  - `ports` are dropped: podman would publish them on every host address;
  - images become the stand-ins, and names get a unique prefix.
podman also ignores subPath, fsGroup and capabilities' fine print; those
are checked in the structure only.
"""

import copy
import hashlib
import os
import re
import subprocess
import tempfile

import pytest
import yaml

from conftest import AIRFLOW, ROOT, SEMAPHORE, STATIC_BIN, fingerprint
from test_containers import (ENV, Outputs, images, outputs, podman,  # noqa: F401 (fixtures)
                             volume_keys)

KUBE = ROOT / "examples" / "kubernetes"
FILES = sorted(p.name for p in KUBE.glob("*.yaml"))
STANDINS = {  # image in the examples -> variable of the stand-in (podman.sh)
    "keyshim:local": "KEYSHIM_IMAGE",
    "airflow-keyshim:local": "AIRFLOW_KEYSHIM_IMAGE",
    "semaphore-keyshim:local": "SEMAPHORE_KEYSHIM_IMAGE",
}
KEYSHIM_DIR = "/var/lib/keyshim"
INIT_ALWAYS = "io.podman.annotations.init.container.type"
_serial = iter(range(1 << 30))


def documents(name):
    return [d for d in yaml.safe_load_all(open(KUBE / name)) if d is not None]


def pod_specs(docs):
    """(name, pod spec) for every Deployment and Pod."""
    for doc in docs:
        if doc["kind"] == "Deployment":
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            yield doc["metadata"]["name"], doc["spec"]


# ---- structure: what a cluster accepts and what the README promises -------

def check_container(c, volumes):
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", c["name"]), c["name"]
    assert isinstance(c["image"], str) and c["image"]
    for field in ("command", "args"):
        assert all(isinstance(a, str) for a in c.get(field, [])), (c["name"], field)
    for env in c.get("env", []):
        assert set(env) <= {"name", "value", "valueFrom"} and isinstance(env.get("value", ""), str)
    for mount in c.get("volumeMounts", []):
        assert mount["name"] in volumes, f"{c['name']} mounts unknown volume {mount['name']}"
        assert mount["mountPath"].startswith("/")


@pytest.mark.parametrize("name", FILES)
def test_manifest_structure(name):
    docs = documents(name)
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    assert docs
    for doc in docs:
        assert (doc["apiVersion"], doc["kind"]) in {
            ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("v1", "Secret")}
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        if doc["kind"] == "PersistentVolumeClaim":
            assert doc["spec"]["accessModes"]
            assert doc["spec"]["resources"]["requests"]["storage"]
        if doc["kind"] == "Deployment":
            spec = doc["spec"]
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items()
            assert spec["template"]["spec"].get("restartPolicy", "Always") == "Always"

    for pod_name, spec in pod_specs(docs):
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec.get("initContainers", []) + spec["containers"]:
            check_container(c, volumes)
        pod_security = spec["securityContext"]
        # non-root service: its uid, group 0 as the official images, fsGroup
        assert pod_security["runAsUser"] != 0 and pod_security["runAsNonRoot"] is True
        assert pod_security["fsGroup"] == 0
        uid = pod_security["runAsUser"]
        key_claims = [n for n, v in volumes.items()
                      if v.get("persistentVolumeClaim", {}).get("claimName") in claims
                      and v["persistentVolumeClaim"]["claimName"].endswith("-keyshim")]
        for init in spec.get("initContainers", []):
            # the init container: root, -u the service's uid, `init`, the
            # claim read-write in the subdirectory keyshim hands over
            assert init["args"][-1] == "init" and f"{uid}:0" in init["args"], init["args"]
            sc = init["securityContext"]
            assert sc["runAsUser"] == 0 and sc["allowPrivilegeEscalation"] is False
            assert set(sc["capabilities"]["add"]) == {"CHOWN", "DAC_OVERRIDE", "FOWNER"}
            mounts = [m for m in init["volumeMounts"] if m["name"] in key_claims]
            assert mounts and not any(m.get("readOnly") for m in mounts)
        for c in spec["containers"]:
            argv = c.get("command", []) + c.get("args", [])
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            # every component: keyshim with --no-create, never a key of its own
            assert "--no-create" in argv or env.get("KEYSHIM_NO_CREATE") == "1", c["name"]
            for m in c["volumeMounts"]:
                if m["name"] in key_claims or "secret" in volumes[m["name"]]:
                    assert m.get("readOnly") is True, (c["name"], m)
        for m in [m for c in spec.get("initContainers", []) + spec["containers"]
                  for m in c["volumeMounts"] if m["name"] in key_claims]:
            # fsGroup would make key files 0660 on every mount (keyshim
            # refuses them, 77): keys below the claim's root, and the
            # kubelet told to leave a root that is set up alone
            assert m["mountPath"] == KEYSHIM_DIR and m["subPath"] == "keys", m
            assert pod_security["fsGroupChangePolicy"] == "OnRootMismatch"
        if not key_claims:  # the Secret variant: every key through NAME_FILE
            secret = [v for v in volumes.values() if "secret" in v]
            assert secret and secret[0]["secret"]["optional"] is False
            for c in spec["containers"]:
                files = {e["name"] for e in c["env"] if e["name"].endswith("_FILE")}
                assert files == {f"{k}_FILE" for k in AIRFLOW}, c["name"]


def test_every_manifest_is_played():
    assert set(FILES) == {"airflow.yaml", "airflow-secret.yaml", "semaphore.yaml"}


# ---- podman kube play -------------------------------------------------------

@pytest.fixture(scope="module")
def kube(images):  # noqa: F811 (the fixture from test_containers)
    if podman("version", check=False).returncode != 0:
        pytest.skip("podman does not work here")
    if subprocess.run(["sh", "-c", "command -v catatonit || test -x /usr/libexec/podman/catatonit"],
                      capture_output=True).returncode != 0:
        pytest.skip("podman kube play needs catatonit (scripts/test installs it)")
    return images


class Play:
    """An adapted copy of one example, played with podman kube play."""

    def __init__(self, name, images, outputs, secret=None):
        self.prefix = f"ksk{os.getpid()}x{next(_serial)}-"
        self.outputs = outputs
        self.docs = []
        self.claims = set()
        self.pods = {}  # pod name -> (init container names, container names)
        if secret:
            self.docs.append({"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": self.prefix + secret[0]},
                              "type": "Opaque", "data": secret[1]})
        for doc in documents(name):
            if doc["kind"] == "PersistentVolumeClaim":
                continue  # a named volume instead (podman 4.3)
            assert doc["kind"] == "Deployment"
            template = copy.deepcopy(doc["spec"]["template"])
            meta = template["metadata"]
            meta["name"] = self.prefix + doc["metadata"]["name"]
            meta.setdefault("annotations", {})[INIT_ALWAYS] = "always"
            spec = template["spec"]
            spec["restartPolicy"] = "OnFailure"
            for c in spec.get("initContainers", []) + spec["containers"]:
                c["image"] = images[STANDINS[c["image"]]]
                c.pop("ports", None)  # podman would publish them on every host address
            for v in spec["volumes"]:
                if "persistentVolumeClaim" in v:
                    v["persistentVolumeClaim"]["claimName"] = \
                        self.prefix + v["persistentVolumeClaim"]["claimName"]
                    self.claims.add(v["persistentVolumeClaim"]["claimName"])
                if "secret" in v:
                    v["secret"]["secretName"] = self.prefix + v["secret"]["secretName"]
            self.pods[meta["name"]] = ([c["name"] for c in spec.get("initContainers", [])],
                                       [c["name"] for c in spec["containers"]])
            self.docs.append({"apiVersion": "v1", "kind": "Pod", **template})
        fd, self.file = tempfile.mkstemp(prefix="keyshim-kube-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump_all(self.docs, f)

    def play(self):
        result = podman("kube", "play", self.file, timeout=180, check=False)
        if result.returncode != 0:
            state = podman("ps", "-a", "--filter", f"name={self.prefix}").stdout
            logs = [podman("logs", c, check=False) for c in podman(
                "ps", "-aq", "--filter", f"name={self.prefix}").stdout.split()]
            raise AssertionError(f"podman kube play: {result.stderr}\n{state}\n" +
                                 "\n".join(r.stdout + r.stderr for r in logs))

    def down(self):
        podman("kube", "down", self.file, timeout=180)
        for pod in self.pods:
            assert podman("pod", "exists", pod, check=False).returncode == 1, pod

    def cleanup(self):
        podman("kube", "down", self.file, check=False, timeout=180)
        # the claims, and the volumes podman made for Secrets
        for volume in podman("volume", "ls", "-q").stdout.split():
            if volume.startswith(self.prefix):
                podman("volume", "rm", "-f", volume, check=False)
        for doc in self.docs:
            if doc["kind"] == "Secret":
                podman("secret", "rm", doc["metadata"]["name"], check=False)
        os.unlink(self.file)

    def logs(self, pod, container, timeout=60):
        """The container's output once it has finished (init) or serves."""
        name = f"{pod}-{container}"
        init = container in self.pods[pod][0]
        for _ in range(int(timeout / 0.3)):
            got = podman("logs", name, check=False)
            logs = got.stdout + got.stderr
            state = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                           name, check=False).stdout.split()
            if init and state[:1] == ["exited"]:
                assert state[1] == "0", f"{name} exited {state[1]}:\n{logs}"
                return self.outputs.add(logs)
            if not init and "standin: serving" in logs:
                return self.outputs.add(logs)
            if state[:1] == ["exited"]:
                raise AssertionError(f"{name} exited {state[1]}:\n{logs}")
            subprocess.run(["sleep", "0.3"])
        raise AssertionError(f"{name} not done after {timeout}s:\n{logs}")

    def reports(self):
        """{pod-container: logs} for every init container and container."""
        return {f"{pod}-{c}": self.logs(pod, c)
                for pod, (inits, containers) in self.pods.items() for c in inits + containers}


@pytest.fixture
def play(kube, outputs):  # noqa: F811
    made = []

    def make(name, secret=None):
        p = Play(name, kube, outputs, secret)
        made.append(p)
        return p
    yield make
    for p in made:
        p.cleanup()


def init_table(logs):
    """{NAME: (FINGERPRINT, STATE)} from `keyshim init`'s stdout."""
    return {m[1]: (m[2], m[3]) for m in re.finditer(
        r"^(\w+) ([0-9a-f]{16}) (created|loaded)$", logs, re.M)}


def service_keys(logs, names):
    """{NAME: (keyshim's state, fingerprint)} of a component, checked
    against what the stand-in service got (sha256 of the value)."""
    shim = {m[1]: (m[2], m[3]) for m in re.finditer(
        r"^keyshim: (\w+) (loaded|created|file) ([0-9a-f]{16}) ", logs, re.M)}
    got = dict(re.findall(r"^standin: (\w+) sha256 ([0-9a-f]{64})$", logs, re.M))
    assert sorted(shim) == sorted(names) and sorted(got) == sorted(names), logs
    return shim, got


def check_claim_play(p, names, uid, first):
    """Every init container reported the claim's keys, every component
    exported them; returns {NAME: fingerprint}."""
    logs = p.reports()
    (claim,) = [c for c in p.claims if c.endswith("-keyshim")]
    keys = volume_keys(claim, p.outputs)
    assert sorted(keys) == sorted(names)
    assert {(owner, mode) for _, owner, mode in keys.values()} == {(uid, 0o600)}
    fps = {name: fingerprint(keys[name][0]) for name in names}
    created = []
    for container, text in logs.items():
        if container.endswith("-keys"):
            table = init_table(text)
            assert {n: fp for n, (fp, _) in table.items()} == fps, container
            created += [n for n, (_, state) in table.items() if state == "created"]
        else:
            shim, got = service_keys(text, names)
            assert {n: fp for n, (_, fp) in shim.items()} == fps, container
            assert {state for state, _ in shim.values()} == {"loaded"}, container
            assert got == {n: hashlib.sha256(keys[n][0].encode()).hexdigest() for n in names}
            assert f"standin: uid {uid} gid 0" in text
    # each key made exactly once, on the first start only
    assert sorted(created) == (sorted(names) if first else []), created
    return fps


def test_airflow_init_containers_make_the_keys_once_and_components_agree(play):
    """Two pods (api-server; scheduler, dag-processor, triggerer), each with
    the init container, on one claim: each key created once, all four
    components export the claim's keys; kube down, play: the same keys."""
    p = play("airflow.yaml")
    assert len(p.pods) == 2
    p.play()
    first = check_claim_play(p, AIRFLOW, 50000, first=True)
    p.down()
    p.play()
    assert check_claim_play(p, AIRFLOW, 50000, first=False) == first


def test_semaphore_init_container_then_keyshim_as_entrypoint(play):
    """The init container makes the keys; the image's ENTRYPOINT (keyshim,
    KEYSHIM_NO_CREATE=1) exports them; kube down, play: the same keys."""
    p = play("semaphore.yaml")
    p.play()
    first = check_claim_play(p, SEMAPHORE, 1001, first=True)
    p.down()
    p.play()
    assert check_claim_play(p, SEMAPHORE, 1001, first=False) == first


@pytest.mark.parametrize("name", ["airflow.yaml", "semaphore.yaml"])
def test_a_component_without_the_init_container_refuses(play, name):
    """Fail closed: a component that finds the claim empty (no init
    container ran) exits 78 and makes no key (--no-create, or
    KEYSHIM_NO_CREATE=1 with keyshim as the image's ENTRYPOINT)."""
    p = play(name)
    for doc in p.docs:
        doc["spec"].pop("initContainers", None)
        doc["spec"]["restartPolicy"] = "Never"
    with open(p.file, "w") as f:
        yaml.safe_dump_all(p.docs, f)
    p.play()
    for pod, (_, containers) in p.pods.items():
        for c in containers:
            name = f"{pod}-{c}"
            for _ in range(100):
                state = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                               name).stdout.split()
                if state[0] == "exited":
                    break
                subprocess.run(["sleep", "0.3"])
            logs = p.outputs.add(podman("logs", name).stderr)
            assert state == ["exited", "78"], (name, state, logs)
            assert "--no-create forbids a new key" in logs
    for claim in p.claims:
        if claim.endswith("-keyshim"):
            assert volume_keys(claim, p.outputs) == {}


def test_airflow_keys_from_a_secret_through_name_file(play, tmp_path):
    """The Secret variant: keys made with `keyshim init` on a workstation,
    put in a Secret, read by every component through NAME_FILE (state
    `file`); nothing written; kube down, play: the same keys."""
    # podman 4.3 decodes a Secret's `data` as standard base64 (to check it)
    # but writes it to the volume undecoded: the test's values must be keys
    # and standard base64 at once, so it makes keys until the Fernet key
    # (URL-safe base64) happens to have no - or _ (1 in 4 does).
    for attempt in range(64):
        keys = tmp_path / f"keys{attempt}"
        made = subprocess.run([str(STATIC_BIN), "-q", "-p", "airflow", "-d", str(keys),
                               "--allow-ephemeral", "init"], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        values = {n: (keys / n).read_text() for n in AIRFLOW}
        if not re.search(r"[-_]", "".join(values.values())):
            break
    else:
        raise AssertionError("no Fernet key without - or _ in 64 tries")
    fps = {n: fingerprint(v.rstrip("\n")) for n, v in values.items()}
    outputs = Outputs()
    outputs.values.update(v.rstrip("\n") for v in values.values())
    # podman 4.3 writes `data` values as they are, not base64-decoded
    p = play("airflow-secret.yaml", secret=("airflow-keys", values))
    assert not p.claims
    for _ in range(2):
        p.play()
        for container, text in p.reports().items():
            outputs.add(text)
            shim, got = service_keys(text, AIRFLOW)
            assert shim == {n: ("file", fps[n]) for n in AIRFLOW}, container
            assert got == {n: hashlib.sha256(values[n].rstrip("\n").encode()).hexdigest()
                           for n in AIRFLOW}
            if container.endswith("-scheduler"):
                left = podman("exec", container, "ls", "-A", KEYSHIM_DIR).stdout
                assert left == "", "the Secret variant wrote to the key directory"
        p.down()
    outputs.assert_no_values()
