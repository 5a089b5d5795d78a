"""The keys work in the libraries that consume them, across a restart.

Each container lifetime is a separate keyshim run (PID 1, fresh namespaces)
whose service is Python using the real library: lifetime 1 encrypts or
signs with the exported keys, lifetime 2 (same volume) must decrypt or
verify, and a lifetime on a fresh volume must not. Results go to a JSON
file outside the volume; no key value is ever printed."""

import json

from conftest import fingerprint

PYTHON = "/usr/bin/python3"  # Debian's, with cryptography and PyJWT

# argv: MODE (make|open) STATE_FILE RESULT_FILE
SERVICE = r'''
import base64, json, os, sys, warnings
import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

mode, state_path, result_path = sys.argv[1:4]
fernet_key = os.environ["AIRFLOW__CORE__FERNET_KEY"]
jwt_secret = os.environ["AIRFLOW__API_AUTH__JWT_SECRET"]
# Semaphore: the AES-256-GCM key is the base64-decoded setting
aes_key = base64.b64decode(os.environ["SEMAPHORE_ACCESS_KEY_ENCRYPTION"], validate=True)
PLAIN = b"the service's precious data"
CLAIMS = {"sub": "admin", "aud": "keyshim-test"}
result = {}

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if mode == "make":
        nonce = os.urandom(12)
        state = {
            "fernet": Fernet(fernet_key).encrypt(PLAIN).decode(),
            "HS512": jwt.encode(CLAIMS, jwt_secret, algorithm="HS512"),
            "HS256": jwt.encode(CLAIMS, jwt_secret, algorithm="HS256"),
            # Semaphore stores base64(nonce || ciphertext-with-tag)
            "aesgcm": base64.b64encode(nonce + AESGCM(aes_key).encrypt(nonce, PLAIN, None)).decode(),
        }
        with open(state_path, "w") as f:
            json.dump(state, f)
    else:
        with open(state_path) as f:
            state = json.load(f)
        try:
            result["fernet"] = Fernet(fernet_key).decrypt(state["fernet"].encode()) == PLAIN
        except InvalidToken:
            result["fernet"] = "InvalidToken"
        for alg in ("HS512", "HS256"):
            try:
                result[alg] = jwt.decode(state[alg], jwt_secret, algorithms=[alg],
                                         audience="keyshim-test") == CLAIMS
            except jwt.InvalidSignatureError:
                result[alg] = "InvalidSignatureError"
        raw = base64.b64decode(state["aesgcm"])
        try:
            result["aesgcm"] = AESGCM(aes_key).decrypt(raw[:12], raw[12:], None) == PLAIN
        except Exception as error:  # cryptography's InvalidTag
            result["aesgcm"] = type(error).__name__

# PyJWT >= 2.10 warns (InsecureKeyLengthWarning) when an HMAC key is
# shorter than the hash's digest; older versions do not, so the length
# rule itself is checked too: 64 bytes for HS512.
result["key_warnings"] = [str(w.message) for w in caught
                          if "key" in str(w.message).lower() or "Key" in w.category.__name__]
result["hs512_key_long_enough"] = len(jwt_secret.encode()) >= 64
result["aes_key_bytes"] = len(aes_key)
with open(result_path, "w") as f:
    json.dump(result, f)
'''

PRESETS = ["-p", "airflow", "-p", "semaphore"]
FERNET = "AIRFLOW__CORE__FERNET_KEY"


def lifetime(ns, vol, mode, state, result_path):
    result = ns.run(PRESETS + ["--", PYTHON, "-c", SERVICE, mode, str(state), str(result_path)],
                    volume=vol)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    return json.loads(result_path.read_text())


def test_keys_survive_a_restart_in_real_consumers(ns, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    state = out / "state.json"
    vol = ns.volume()

    made = lifetime(ns, vol, "make", state, out / "made.json")
    assert made["key_warnings"] == []
    assert made["hs512_key_long_enough"] is True
    assert made["aes_key_bytes"] == 32
    fernet_before = fingerprint(vol.key(FERNET))

    opened = lifetime(ns, vol, "open", state, out / "opened.json")
    assert opened == {"fernet": True, "HS512": True, "HS256": True, "aesgcm": True,
                      "key_warnings": [], "hs512_key_long_enough": True, "aes_key_bytes": 32}
    assert fingerprint(vol.key(FERNET)) == fernet_before

    # A fresh volume means new keys: what lifetime 1 made is now unreadable,
    # which also proves the checks above can fail.
    fresh = ns.volume("fresh")
    lost = lifetime(ns, fresh, "open", state, out / "lost.json")
    assert lost["fernet"] == "InvalidToken"
    assert lost["HS512"] == lost["HS256"] == "InvalidSignatureError"
    assert lost["aesgcm"] == "InvalidTag"
