"""The brownfield story in real containers (issue 12), with podman-compose.

First lifetime, WITHOUT keyshim: the stand-in Semaphore's server-wrapper
runs `setup` as the real image does and writes config.json, with three
random base64 keys, on its /etc/semaphore volume; a secret is stored
encrypted with AES-256-GCM under that access key, as Semaphore stores SSH
keys and passwords (the stand-in has no AES, so the test does the
encryption with Python's cryptography and keeps the result on the data
volume). Second lifetime: the compose file switched to the keyshim way
(same project, same volumes, plus `keys`): keyshim adopts the keys from
config.json, the service gets exactly those, the keys are on keyshim's
volume with the same fingerprints, and the secret decrypts with the key
read from keyshim's volume. A third start loads them.
"""

import base64
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import ROOT, SEMAPHORE, fingerprint
from test_containers import (Project, assert_service_got, images, outputs,  # noqa: F401
                             parse_reports, podman, volume_keys)

BROWNFIELD = ROOT / "tests" / "containers" / "brownfield"
FIELDS = {"SEMAPHORE_ACCESS_KEY_ENCRYPTION": "access_key_encryption",
          "SEMAPHORE_COOKIE_HASH": "cookie_hash",
          "SEMAPHORE_COOKIE_ENCRYPTION": "cookie_encryption"}
PLAIN = b"-----BEGIN OPENSSH PRIVATE KEY----- stored before keyshim"


def mountpoint(volume):
    return podman("volume", "inspect", "-f", "{{.Mountpoint}}", volume).stdout.strip()


@pytest.fixture
def brownfield(images, outputs):  # noqa: F811
    made = []

    def make(name, compose_file):
        p = Project(images, outputs, str(BROWNFIELD / compose_file), "brown")
        if made:
            p.name = made[0].name  # the same project: the same volumes
        made.append(p)
        return p
    yield make
    for p in made[::-1]:
        p.cleanup()


def test_semaphore_before_keyshim_then_with_it(brownfield, outputs):  # noqa: F811
    before = brownfield("before", "semaphore-before.yaml")
    before.create()
    before.start("semaphore")
    logs = before.serving("semaphore")
    assert "standin: semaphore setup wrote /etc/semaphore/config.json" in logs
    config = json.loads(open(os.path.join(mountpoint(f"{before.name}_config"),
                                          "config.json")).read())
    old = {name: config[field] for name, field in FIELDS.items()}
    outputs.values.update(old.values())
    standin, _ = parse_reports(logs)
    assert standin == {n: hashlib.sha256(v.encode()).hexdigest() for n, v in old.items()}
    # Semaphore stores the SSH key encrypted under the access key (AES-GCM,
    # nonce first), base64 in its database
    key = base64.b64decode(old["SEMAPHORE_ACCESS_KEY_ENCRYPTION"], validate=True)
    nonce = os.urandom(12)
    stored = base64.b64encode(nonce + AESGCM(key).encrypt(nonce, PLAIN, None))
    data = mountpoint(f"{before.name}_data")
    with open(os.path.join(data, "access_key.enc"), "wb") as f:
        f.write(stored)
    before.down()

    after = brownfield("after", "semaphore-after.yaml")
    after.create()
    after.start("semaphore")
    logs = after.serving("semaphore")
    keys = after.volume()
    assert "setup wrote" not in logs
    # the service got exactly the old keys, now from keyshim's volume
    fps = assert_service_got(logs, keys, SEMAPHORE, "adopted")
    assert fps == {name: fingerprint(value) for name, value in old.items()}
    assert {name: value for name, (value, _, _) in keys.items()} == old
    assert {(uid, mode) for _, uid, mode in keys.values()} == {(1001, 0o600)}
    for name in SEMAPHORE:
        line = next(l for l in logs.splitlines() if l.startswith(f"keyshim: {name} adopted"))
        assert "from /etc/semaphore/config.json" in line, line
    # and the secret stored in the first lifetime still decrypts with it
    raw = base64.b64decode(open(os.path.join(data, "access_key.enc"), "rb").read())
    key = base64.b64decode(keys["SEMAPHORE_ACCESS_KEY_ENCRYPTION"][0], validate=True)
    assert AESGCM(key).decrypt(raw[:12], raw[12:], None) == PLAIN

    # the next start needs nothing but keyshim's volume
    after.down()
    after.create()
    after.start("semaphore")
    again = assert_service_got(after.serving("semaphore"), after.volume(), SEMAPHORE, "loaded")
    assert again == fps
