"""Real services under keyshim (issue 13): Node-RED 4.1.15 and n8n 1.x from
npm, installed by scripts/lib/services.sh into .deps/services (scripts/test
runs it). Each lifetime is keyshim as PID 1 of fresh PID and mount
namespaces on a volume, exec'ing (or with -g supervising) the real service;
the service's data lives in a directory outside the volume, as it would on
the service's own volume. A credential stored in the first lifetime must be
served decrypted in later ones, and must not be with the same data and a
fresh key directory: that last step proves the check can fail.

Everything listens on 127.0.0.1 only, every wait is bounded, and all that
the services print is recorded for the harness's leak check (no key value
may appear in it). A test whose service is not installed skips, naming why.
"""

import base64
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, fingerprint, states

NODE = "/usr/bin/node"
SERVICES = ROOT / ".deps" / "services"
NODE_RED = SERVICES / "node-red" / "node_modules" / "node-red" / "red.js"
N8N = SERVICES / "n8n" / "node_modules" / "n8n" / "bin" / "n8n"

# How keyshim is told about each service's key: the presets.
NODE_RED_KEYS = ["-p", "node-red"]
N8N_KEYS = ["-p", "n8n"]
NODE_RED_KEY = "NODE_RED_CREDENTIAL_SECRET"
# What keyshim does with Node-RED's own key on a brownfield userDir: the
# preset reads `_credentialSecret` (KEYSHIM_NODE_RED_USER_DIR) and adopts it.
NODE_RED_BROWNFIELD_STATE = "adopted"
N8N_KEY = "N8N_ENCRYPTION_KEY"
# What keyshim does with n8n's own key (.n8n/config) on a brownfield folder:
# the preset reads `encryptionKey` ($N8N_USER_FOLDER) and adopts it.
N8N_BROWNFIELD_STATE = "adopted"

# The one line Node-RED's settings.js needs (the README shows it).
NODE_RED_SETTINGS = "module.exports = {\n    credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET\n}\n"


def need(path, what):
    if not path.exists():
        pytest.skip(f"{what} is not installed ({path.relative_to(ROOT)} is missing): "
                    "scripts/test installs it with scripts/lib/services.sh")
    if not os.access(NODE, os.X_OK):
        pytest.skip(f"{NODE} is missing: {what} needs Node.js")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redact(ns, text):
    """`text` with every key value of the test's volumes blanked out, for
    assertion messages (which the leak check does not see)."""
    for value in ns.secrets():
        text = text.replace(value, "<key>")
    return text


def namespace_pid1(proc, timeout=10):
    """Host pid of the namespace's PID 1: the one child of `unshare --fork`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            children = pathlib.Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except FileNotFoundError:
            children = []
        if children:
            pid = int(children[0])
            status = pathlib.Path(f"/proc/{pid}/status").read_text()
            nspid = [line for line in status.splitlines() if line.startswith("NSpid:")][0].split()
            assert nspid[-1] == "1", nspid
            return pid
        if proc.poll() is not None or time.monotonic() > deadline:
            return None
        time.sleep(0.05)


class Service:
    """`keyshim ARGS` started in fresh namespaces (or, with volume=None and
    keyshim=False, the bare command: a lifetime from before keyshim), its
    output collected by two threads; `stop()` (also on leaving the `with`)
    ends it and hands the output to the harness."""

    def __init__(self, ns, args, volume, env, keyshim=True):
        self.ns = ns
        if keyshim:
            self.proc = ns.popen(args, volume=volume, env=env)
        else:
            self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._pump, args=pair, daemon=True)
                        for pair in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for thread in self.threads:
            thread.start()
        self.result = None

    @staticmethod
    def _pump(stream, lines):
        for line in stream:
            lines.append(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def text(self):
        return "".join(self.out) + "".join(self.err)

    def wait_for(self, *needles, timeout=90):
        """The first of `needles` to appear in the output."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            for needle in needles:
                if needle in text:
                    return needle
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited {self.proc.poll()}" if self.proc.poll() is not None else "timed out"
                raise AssertionError(f"{why} waiting for {needles}; output:\n"
                                     + redact(self.ns, text[-3000:]))
            time.sleep(0.1)

    def pid1_exe(self):
        """(the program PID 1 runs, its host pid); Node-RED renames its
        process, so the executable is what tells node from keyshim."""
        pid = namespace_pid1(self.proc)
        return os.readlink(f"/proc/{pid}/exe"), pid

    def stop(self, timeout=30):
        if self.result is not None:
            return self.result
        if self.proc.poll() is None:
            pid = namespace_pid1(self.proc) if self.proc.args[0] == "unshare" else self.proc.pid
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for thread in self.threads:
            thread.join(timeout=10)
        self.result = self.ns.record(self.proc.returncode, "".join(self.out), "".join(self.err))
        return self.result


def listening_addresses(port):
    """Local addresses with a TCP socket listening on `port` (IPv4 and v6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(address)
    return found


def http(method, url, body=None, headers=None, timeout=10):
    """(status, body text); 127.0.0.1 only."""
    assert url.startswith("http://127.0.0.1:"), url
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def poll(fn, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# ---------------------------------------------------------------- Node-RED

def credential_flow(port, user, password):
    """GET /keyshim-cred runs an `http request` node with basic auth, whose
    credentials Node-RED keeps encrypted in flows_cred.json, against
    /keyshim-echo in the same Node-RED, which answers with the Authorization
    header it got. So /keyshim-cred serves `Basic base64(user:password)` only
    when Node-RED decrypted both credentials, the password included (the
    admin API never shows a password)."""
    return [
        {"id": "t1", "type": "tab", "label": "keyshim"},
        {"id": "in1", "type": "http in", "z": "t1", "url": "/keyshim-cred", "method": "get",
         "wires": [["req1"]]},
        {"id": "req1", "type": "http request", "z": "t1", "method": "GET", "ret": "txt",
         "url": f"http://127.0.0.1:{port}/keyshim-echo", "authType": "basic",
         "credentials": {"user": user, "password": password}, "wires": [["out1"]]},
        {"id": "out1", "type": "http response", "z": "t1", "wires": []},
        {"id": "in2", "type": "http in", "z": "t1", "url": "/keyshim-echo", "method": "get",
         "wires": [["fn2"]]},
        {"id": "fn2", "type": "function", "z": "t1",
         "func": "msg.payload = msg.req.headers.authorization || 'none';\nreturn msg;",
         "outputs": 1, "wires": [["out2"]]},
        {"id": "out2", "type": "http response", "z": "t1", "wires": []},
    ]


def runtime_settings(user_dir):
    path = user_dir / ".config.runtime.json"
    return json.loads(path.read_text()) if path.exists() else {}


class NodeRed:
    def __init__(self, ns, tmp_path):
        self.ns = ns
        self.user_dir = tmp_path / "node-red-data"   # the service's own volume
        self.user_dir.mkdir()
        self.settings = tmp_path / "settings.js"
        self.settings.write_text(NODE_RED_SETTINGS)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, volume, supervise=False, keyshim=True):
        """Node-RED under keyshim on `volume`; keyshim=False: Node-RED alone,
        as before keyshim (it then makes its own key, `_credentialSecret`)."""
        command = [NODE, str(NODE_RED), "--settings", str(self.settings),
                   "--userDir", str(self.user_dir), "--port", str(self.port),
                   "-D", "uiHost=127.0.0.1", "flows.json"]
        args = NODE_RED_KEYS + (["-g"] if supervise else []) + ["--"] + command
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.user_dir),
               "NODE_RED_DISABLE_TELEMETRY": "1",
               "KEYSHIM_NODE_RED_USER_DIR": str(self.user_dir)}
        service = Service(self.ns, args if keyshim else command, volume, env, keyshim)
        # Deploying before the runtime has started its flows races with it.
        service.wait_for("Started flows", "Failed to decrypt credentials")
        service.wait_for("Server now running at")
        assert listening_addresses(self.port) == {"0100007F"}  # 127.0.0.1 only
        return service

    def deploy(self, flow):
        status, body = http("POST", self.base + "/flows", flow,
                            {"Content-Type": "application/json",
                             "Node-RED-Deployment-Type": "full", "Node-RED-API-Version": "v1"})
        assert status in (200, 204), (status, body)

    def served(self):
        return http("GET", self.base + "/keyshim-cred")

    def admin_credentials(self):
        status, body = http("GET", self.base + "/credentials/http-request/req1")
        assert status == 200, (status, body)
        return json.loads(body)


def test_node_red_credentials_survive_restarts_and_need_the_same_key(ns_static, tmp_path):
    need(NODE_RED, "Node-RED 4.1.15")
    red = NodeRed(ns_static, tmp_path)
    user, password = "keyshim-user-" + secrets.token_hex(4), "keyshim-pw-" + secrets.token_hex(8)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    vol = ns_static.volume()
    cred_file = red.user_dir / "flows_cred.json"   # beside flows.json

    # Lifetime 1: keyshim creates the key and execs Node-RED as PID 1;
    # a flow with credentials is deployed through the admin API.
    with red.start(vol) as service:
        assert service.pid1_exe()[0] == NODE
        red.deploy(credential_flow(red.port, user, password))
        poll(lambda: red.served() == (200, expected), "the deployed flow to serve the credential")
    first = service.result
    assert states(first.stderr)[NODE_RED_KEY][0] == "created"
    stored = json.loads(cred_file.read_text())
    assert list(stored) == ["$"], "Node-RED did not encrypt flows_cred.json"
    assert user not in cred_file.read_text() and password not in cred_file.read_text()
    # Node-RED used the exported key: it kept no system key of its own.
    # (Only names are compared, so a failure never prints a key.)
    assert "_credentialSecret" not in sorted(runtime_settings(red.user_dir))
    ciphertext = cred_file.read_bytes()

    # Lifetimes 2 and 3: restarted on the same volume, plain and under -g,
    # Node-RED decrypts the stored credentials and serves them.
    for supervise in (False, True):
        with red.start(vol, supervise=supervise) as service:
            exe, pid = service.pid1_exe()
            if supervise:
                assert exe == str(ns_static.binary)
                child = int(pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
                assert os.readlink(f"/proc/{child}/exe") == NODE
            else:
                assert exe == NODE
            assert poll(lambda: red.served(), "Node-RED to answer") == (200, expected)
            assert red.admin_credentials() == {"user": user, "has_password": True}
        assert states(service.result.stderr)[NODE_RED_KEY] == ("loaded", states(first.stderr)[NODE_RED_KEY][1])
        assert "Failed to decrypt credentials" not in service.result.stdout + service.result.stderr

    # The same data with a fresh key directory: a new key, and Node-RED
    # cannot decrypt what it stored; it says so and runs the flow with
    # empty credentials.
    fresh = ns_static.volume("fresh")
    with red.start(fresh) as service:
        service.wait_for("Failed to decrypt credentials")
        served = red.served()
        assert served != (200, expected) and user not in served[1], served
        assert red.admin_credentials() == {}
    assert states(service.result.stderr)[NODE_RED_KEY][0] == "created"
    assert "Error loading flows: Error: Failed to decrypt credentials" in service.result.stdout

    # Nothing was lost: the stored credentials are untouched, and the
    # original volume's key still opens them.
    assert cred_file.read_bytes() == ciphertext
    with red.start(vol) as service:
        assert poll(lambda: red.served(), "Node-RED to answer") == (200, expected)


def test_node_red_deployment_from_before_keyshim_keeps_its_credentials(ns_static, tmp_path):
    """Brownfield: Node-RED ran without keyshim, made its own key
    (`_credentialSecret` in .config.runtime.json) and stored credentials
    with it. Under keyshim they still decrypt, now and after a restart."""
    need(NODE_RED, "Node-RED 4.1.15")
    red = NodeRed(ns_static, tmp_path)
    user, password = "keyshim-user-" + secrets.token_hex(4), "keyshim-pw-" + secrets.token_hex(8)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    with red.start(None, keyshim=False) as service:
        red.deploy(credential_flow(red.port, user, password))
        poll(lambda: red.served() == (200, expected), "the deployed flow to serve the credential")
    own_key = runtime_settings(red.user_dir)["_credentialSecret"]
    assert len(own_key) == 64  # Node-RED's own: hex of 32 random bytes

    # Lifetime 1 under keyshim: a key keyshim made (-k) or adopted (preset).
    # Node-RED decrypts with its own key while that is still there, and on
    # the next deploy moves the credentials to credentialSecret and deletes
    # its own: from then on keyshim's key file is the only copy.
    vol = ns_static.volume()
    with red.start(vol) as service:
        assert poll(lambda: red.served(), "Node-RED to answer") == (200, expected)
        red.deploy(credential_flow(red.port, user, password))
        poll(lambda: "_credentialSecret" not in runtime_settings(red.user_dir),
             "Node-RED to drop its own key")
    state, fp = states(service.result.stderr)[NODE_RED_KEY]
    assert state == NODE_RED_BROWNFIELD_STATE
    if state == "adopted":
        assert fp == fingerprint(own_key)

    # Lifetime 2: only keyshim's key can open them now, and does.
    with red.start(vol) as service:
        assert poll(lambda: red.served(), "Node-RED to answer") == (200, expected)
    assert states(service.result.stderr)[NODE_RED_KEY] == ("loaded", fp)
    assert "_credentialSecret" not in sorted(runtime_settings(red.user_dir))
    with red.start(ns_static.volume("fresh")) as service:
        service.wait_for("Failed to decrypt credentials")
        assert red.admin_credentials() == {}


# --------------------------------------------------------------------- n8n

def n8n_env(home):
    return {"HOME": str(home), "N8N_USER_FOLDER": str(home),
            "N8N_DIAGNOSTICS_ENABLED": "false", "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "true"}


def n8n(ns, vol, home, *cli, supervise=False, keys=None):
    """One n8n CLI command under keyshim as PID 1 (bounded: 180 s)."""
    args = (keys or N8N_KEYS) + (["-g"] if supervise else []) + ["--", NODE, str(N8N), *cli]
    return ns.run(args, volume=vol, env=n8n_env(home), timeout=180)


def test_n8n_credentials_survive_restarts_and_need_the_same_key(ns_static, tmp_path):
    need(N8N, "n8n 1.x")
    home = tmp_path / "n8n-data"                 # the service's own volume
    home.mkdir()
    user, password = "keyshim-user-" + secrets.token_hex(4), "keyshim-pw-" + secrets.token_hex(8)
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps([{"id": "ks1", "name": "keyshim test", "type": "httpBasicAuth",
                                  "data": {"user": user, "password": password}}]))
    vol = ns_static.volume()

    imported = n8n(ns_static, vol, home, "import:credentials", f"--input={creds}")
    assert imported.returncode == 0, redact(ns_static, imported.stdout + imported.stderr)[-3000:]
    assert states(imported.stderr)[N8N_KEY][0] == "created"
    database = home / ".n8n" / "database.sqlite"
    assert database.exists() and password.encode() not in database.read_bytes()
    # n8n keeps a copy of the key it was given in .n8n/config; it is keyshim's.
    config = json.loads((home / ".n8n" / "config").read_text())
    assert fingerprint(config["encryptionKey"]) == fingerprint(vol.key(N8N_KEY))

    def export(volume, name, supervise=False, keys=None):
        out = tmp_path / name
        result = n8n(ns_static, volume, home, "export:credentials", "--all", "--decrypted",
                     f"--output={out}", supervise=supervise, keys=keys)
        data = json.loads(out.read_text()) if out.exists() else None
        return result, data

    for supervise in (False, True):
        result, data = export(vol, f"out-{supervise}.json", supervise)
        assert result.returncode == 0, redact(ns_static, result.stdout + result.stderr)[-3000:]
        assert states(result.stderr)[N8N_KEY] == ("loaded", states(imported.stderr)[N8N_KEY][1])
        assert [c["data"] for c in data] == [{"user": user, "password": password}]

    # The key volume lost: the preset finds n8n's own copy in .n8n/config
    # and adopts it instead of making a new key, so the data still opens.
    result, data = export(ns_static.volume("lost"), "out-lost.json")
    assert result.returncode == 0, redact(ns_static, result.stdout + result.stderr)[-3000:]
    assert states(result.stderr)[N8N_KEY] == ("adopted", states(imported.stderr)[N8N_KEY][1])
    assert [c["data"] for c in data] == [{"user": user, "password": password}]

    # A fresh key directory and a key keyshim does not know n8n keeps (-k):
    # a new key, which n8n refuses, so the check above could fail.
    result, data = export(ns_static.volume("fresh"), "out-fresh.json",
                          keys=["-k", "N8N_ENCRYPTION_KEY:base64:32"])
    assert states(result.stderr)[N8N_KEY][0] == "created"
    assert result.returncode != 0 and data is None
    assert "Mismatching encryption keys" in result.stdout + result.stderr


def test_n8n_deployment_from_before_keyshim(ns_static, tmp_path):
    """Brownfield: n8n ran without keyshim and keeps its own key in
    .n8n/config. Adopted, its credentials decrypt under keyshim; a new key
    instead makes n8n refuse to start, and nothing of n8n's is changed."""
    need(N8N, "n8n 1.x")
    home = tmp_path / "n8n-data"
    home.mkdir()
    user, password = "keyshim-user-" + secrets.token_hex(4), "keyshim-pw-" + secrets.token_hex(8)
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps([{"id": "ks1", "name": "keyshim test", "type": "httpBasicAuth",
                                  "data": {"user": user, "password": password}}]))
    env = dict(n8n_env(home), PATH="/usr/bin:/bin")
    before = subprocess.run([NODE, str(N8N), "import:credentials", f"--input={creds}"],
                            env=env, capture_output=True, text=True, timeout=180)
    ns_static.record(before.returncode, before.stdout, before.stderr)
    assert before.returncode == 0, "n8n alone could not import"
    config = home / ".n8n" / "config"
    own_key = json.loads(config.read_text())["encryptionKey"]
    config_bytes = config.read_bytes()

    vol = ns_static.volume()
    out = tmp_path / "out.json"
    result = n8n(ns_static, vol, home, "export:credentials", "--all", "--decrypted", f"--output={out}")
    state, fp = states(result.stderr)[N8N_KEY]
    assert state == N8N_BROWNFIELD_STATE
    assert config.read_bytes() == config_bytes  # n8n's own copy is never rewritten
    if state == "adopted":
        assert fp == fingerprint(own_key)
        assert result.returncode == 0
        assert [c["data"] for c in json.loads(out.read_text())] == [{"user": user, "password": password}]
    else:
        assert fp != fingerprint(own_key)
        assert result.returncode != 0 and not out.exists()
        assert "Mismatching encryption keys" in result.stdout + result.stderr
