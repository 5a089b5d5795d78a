"""Issue 13's presets, proven on the libraries their services decode the key
with (Debian's python3-django and -itsdangerous, ruby-activesupport,
php-cli's openssl, Node's crypto as Node-RED, n8n, Outline and Langfuse use
it): the key keyshim creates works and round-trips across a restart, a key
adopted in each form the service accepts works too, and each preset's own
key source (the service's file, else the environment) is adopted.

keyshim runs as PID 1 in fresh namespaces (`ns`: static and ASan builds);
its service is the consumer, which writes its results to a JSON file
outside the volume and prints nothing: no key value is ever printed."""

import base64
import json
import secrets

import pytest

from conftest import fingerprint, states

PYTHON = "/usr/bin/python3"

# Each consumer: argv before MODE STATE RESULT. "make" encrypts or signs
# PLAIN under the exported key into STATE; "open" writes {"ok": true} to
# RESULT when STATE opens under the exported key, else the error's name.

NODE_RED = ["node", "-e", r'''
// credentials.js: key = sha256(credentialSecret), aes-256-ctr, IV hex + base64 body
const crypto = require("crypto"), fs = require("fs");
const [mode, statePath, resultPath] = process.argv.slice(1);
const key = crypto.createHash("sha256").update(process.env.NODE_RED_CREDENTIAL_SECRET).digest();
const plain = JSON.stringify({user: "u", password: "a credential"});
if (mode === "make") {
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv("aes-256-ctr", key, iv);
  fs.writeFileSync(statePath, iv.toString("hex") + c.update(plain, "utf8", "base64") + c.final("base64"));
} else {
  const s = fs.readFileSync(statePath, "utf8");
  const d = crypto.createDecipheriv("aes-256-ctr", key, Buffer.from(s.slice(0, 32), "hex"));
  const out = d.update(s.slice(32), "base64", "utf8") + d.final("utf8");
  fs.writeFileSync(resultPath, JSON.stringify({ok: out === plain}));
}
''']

N8N = ["node", "-e", r'''
// aes-256-cbc.ts: OpenSSL's EVP_BytesToKey(MD5) over Buffer.from(key, "binary") + salt
const crypto = require("crypto"), fs = require("fs");
const [mode, statePath, resultPath] = process.argv.slice(1);
const pass = Buffer.from(process.env.N8N_ENCRYPTION_KEY, "binary");
function keyIv(salt) {
  let d = Buffer.alloc(0), prev = Buffer.alloc(0);
  while (d.length < 48) {
    prev = crypto.createHash("md5").update(Buffer.concat([prev, pass, salt])).digest();
    d = Buffer.concat([d, prev]);
  }
  return [d.subarray(0, 32), d.subarray(32, 48)];
}
const plain = "a credential";
if (mode === "make") {
  const salt = crypto.randomBytes(8), [k, iv] = keyIv(salt);
  const c = crypto.createCipheriv("aes-256-cbc", k, iv);
  fs.writeFileSync(statePath, Buffer.concat([Buffer.from("Salted__"), salt, c.update(plain), c.final()]).toString("base64"));
} else {
  const raw = Buffer.from(fs.readFileSync(statePath, "utf8"), "base64"), [k, iv] = keyIv(raw.subarray(8, 16));
  let ok;
  try {
    const d = crypto.createDecipheriv("aes-256-cbc", k, iv);
    ok = Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString() === plain;
  } catch (e) { ok = e.code || "error"; }
  fs.writeFileSync(resultPath, JSON.stringify({ok}));
}
''']


def node_hex_aes(variable):
    """Outline (sequelize-encrypted) and Langfuse: Buffer.from(key, "hex")
    is the AES-256 key; GCM here, which fails loudly on a wrong key."""
    return ["node", "-e", r'''
const crypto = require("crypto"), fs = require("fs");
const [mode, statePath, resultPath] = process.argv.slice(1);
const key = Buffer.from(process.env["%s"], "hex");
let ok;
try {
  if (mode === "make") {
    const iv = crypto.randomBytes(12), c = crypto.createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([c.update("a credential"), c.final()]);
    fs.writeFileSync(statePath, Buffer.concat([iv, c.getAuthTag(), body]).toString("base64"));
    process.exit(0);
  }
  const raw = Buffer.from(fs.readFileSync(statePath, "utf8"), "base64");
  const d = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  ok = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString() === "a credential";
} catch (e) { ok = e.code || e.message.split(":")[0]; if (mode === "make") throw e; }
fs.writeFileSync(resultPath, JSON.stringify({ok}));
''' % variable]


def django_signing(variable):
    return [PYTHON, "-c", r'''
import json, sys, os
from django.conf import settings
settings.configure(SECRET_KEY=os.environ["%s"])
from django.core import signing
mode, state, result = sys.argv[1:4]
if mode == "make":
    open(state, "w").write(signing.dumps({"session": "admin"}))
else:
    try:
        ok = signing.loads(open(state).read()) == {"session": "admin"}
    except signing.BadSignature as e:
        ok = type(e).__name__
    json.dump({"ok": ok}, open(result, "w"))
''' % variable]


SUPERSET = [PYTHON, "-c", r'''
# Flask's session cookie: itsdangerous with the app's SECRET_KEY
import json, sys, os
from itsdangerous import URLSafeTimedSerializer, BadSignature
s = URLSafeTimedSerializer(os.environ["SUPERSET_SECRET_KEY"], salt="cookie-session")
mode, state, result = sys.argv[1:4]
if mode == "make":
    open(state, "w").write(s.dumps({"user_id": 1}))
else:
    try:
        ok = s.loads(open(state).read()) == {"user_id": 1}
    except BadSignature as e:
        ok = type(e).__name__
    json.dump({"ok": ok}, open(result, "w"))
''']


def rails_encryptor(variable):
    """ActiveSupport::KeyGenerator + MessageEncryptor, as Rails derives its
    encrypted-cookie key from secret_key_base (and AR encryption its keys)."""
    return ["ruby", "-e", r'''
require "json"; require "active_support"; require "active_support/key_generator"
require "active_support/message_encryptor"
mode, state, result = ARGV
key = ActiveSupport::KeyGenerator.new(ENV.fetch("%s"), iterations: 1000)
        .generate_key("authenticated encrypted cookie", 32)
crypt = ActiveSupport::MessageEncryptor.new(key, cipher: "aes-256-gcm")
if mode == "make"
  File.write(state, crypt.encrypt_and_sign("a credential"))
else
  ok = begin
    crypt.decrypt_and_verify(File.read(state)) == "a credential"
  rescue ActiveSupport::MessageEncryptor::InvalidMessage => e
    e.class.name.split("::").last
  end
  File.write(result, JSON.dump({ok: ok}))
end
''' % variable]


LARAVEL = ["php", "-r", r'''
// EncryptionServiceProvider::parseKey and Encrypter::supported, aes-256-cbc
[$_, $mode, $state, $result] = $argv;
$key = getenv("APP_KEY");
if (str_starts_with($key, "base64:")) $key = base64_decode(substr($key, 7));
if (mb_strlen($key, "8bit") !== 32) { file_put_contents($result, json_encode(["ok" => "unsupported key"])); exit(0); }
if ($mode === "make") {
  $iv = random_bytes(16);
  $value = openssl_encrypt("a credential", "aes-256-cbc", $key, 0, $iv);
  $mac = hash_hmac("sha256", base64_encode($iv).$value, $key);
  file_put_contents($state, json_encode([base64_encode($iv), $value, $mac]));
} else {
  [$iv, $value, $mac] = json_decode(file_get_contents($state));
  $ok = hash_equals(hash_hmac("sha256", $iv.$value, $key), $mac)
      ? openssl_decrypt($value, "aes-256-cbc", $key, 0, base64_decode($iv)) === "a credential"
      : "DecryptException";
  file_put_contents($result, json_encode(["ok" => $ok]));
}
''', "--"]


def hex_text(n):
    return secrets.token_hex(n)


# preset: (variable, consumer, [accepted forms other than the created one])
CASES = {
    "node-red": ("NODE_RED_CREDENTIAL_SECRET", NODE_RED,
                 [lambda: "a passphrase " + hex_text(4), lambda: hex_text(32)]),
    "n8n": ("N8N_ENCRYPTION_KEY", N8N,
            [lambda: base64.b64encode(secrets.token_bytes(24)).decode(), lambda: "n8n key " + hex_text(4)]),
    "superset": ("SUPERSET_SECRET_KEY", SUPERSET, [lambda: "superset-" + hex_text(8) + "%$!"]),
    "authentik": ("AUTHENTIK_SECRET_KEY", django_signing("AUTHENTIK_SECRET_KEY"),
                  [lambda: base64.b64encode(secrets.token_bytes(60)).decode()]),
    "paperless": ("PAPERLESS_SECRET_KEY", django_signing("PAPERLESS_SECRET_KEY"),
                  [lambda: "django-insecure-" + hex_text(12) + "*(&)"]),
    "django": ("DJANGO_SECRET_KEY", django_signing("DJANGO_SECRET_KEY"),
               [lambda: "x" + hex_text(25)]),
    "outline": ("SECRET_KEY", node_hex_aes("SECRET_KEY"), [lambda: hex_text(32).upper()]),
    "langfuse": ("ENCRYPTION_KEY", node_hex_aes("ENCRYPTION_KEY"), [lambda: hex_text(32).upper()]),
    "rails": ("SECRET_KEY_BASE", rails_encryptor("SECRET_KEY_BASE"), [lambda: "short but any " + hex_text(4)]),
    "mastodon": ("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
                 rails_encryptor("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"),
                 [lambda: secrets.token_urlsafe(24)]),
    "laravel": ("APP_KEY", LARAVEL,
                [lambda: "base64:" + base64.b64encode(secrets.token_bytes(32)).decode(),
                 lambda: hex_text(16)]),  # 32 raw characters
}


def lifetime(ns, vol, preset, mode, out, env=None, extra=()):
    variable, consumer, _ = CASES[preset]
    result = out / f"{mode}-{secrets.token_hex(4)}.json"
    run = ns.run(["-p", preset, *extra, "--", *consumer, mode, str(out / "state"), str(result)],
                 volume=vol, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    return run, (json.loads(result.read_text()) if mode == "open" else None)


@pytest.mark.parametrize("preset", sorted(CASES))
def test_created_key_round_trips_in_the_services_library(ns, tmp_path, preset):
    out = tmp_path / "out"
    out.mkdir()
    vol = ns.volume()
    made, _ = lifetime(ns, vol, preset, "make", out)
    assert states(made.stderr)[CASES[preset][0]][0] == "created"
    opened, result = lifetime(ns, vol, preset, "open", out)
    assert result == {"ok": True}
    assert states(opened.stderr)[CASES[preset][0]][0] == "loaded"
    # a fresh volume, a new key: what was made does not open (the check can fail)
    _, lost = lifetime(ns, ns.volume("fresh"), preset, "open", out)
    assert lost["ok"] is not True


@pytest.mark.parametrize("preset,form", [(p, i) for p in sorted(CASES) for i in range(len(CASES[p][2]))])
def test_adopted_key_of_each_accepted_form_works(ns, tmp_path, preset, form):
    """Brownfield for the presets whose service keeps its key in the
    environment: the value it already uses is adopted, kept and works."""
    variable, _, forms = CASES[preset]
    value = forms[form]()
    out = tmp_path / "out"
    out.mkdir()
    vol = ns.volume()
    made, _ = lifetime(ns, vol, preset, "make", out, env={variable: value})
    assert states(made.stderr)[variable] == ("adopted", fingerprint(value))
    assert vol.key(variable) == value
    _, result = lifetime(ns, vol, preset, "open", out)  # from the key file alone
    assert result == {"ok": True}


# ------------------------------------------------ the services' own files

def node_red_user_dir(tmp_path, content):
    user_dir = tmp_path / "userdir"
    user_dir.mkdir()
    (user_dir / ".config.runtime.json").write_bytes(content)
    return user_dir


def test_node_red_own_key_is_adopted_bom_and_all(ns, tmp_path):
    own = hex_text(32)  # what Node-RED makes: randomBytes(32) in hex
    user_dir = node_red_user_dir(
        tmp_path, b"\xef\xbb\xbf" + json.dumps({"telemetryEnabled": False, "_credentialSecret": own}).encode())
    out = tmp_path / "out"
    out.mkdir()
    env = {"KEYSHIM_NODE_RED_USER_DIR": str(user_dir)}
    vol = ns.volume()
    made, _ = lifetime(ns, vol, "node-red", "make", out, env=env)
    assert states(made.stderr)["NODE_RED_CREDENTIAL_SECRET"] == ("adopted", fingerprint(own))
    _, result = lifetime(ns, vol, "node-red", "open", out)
    assert result == {"ok": True}


def test_node_red_empty_runtime_file_means_its_backup(ns, tmp_path):
    own = hex_text(32)
    user_dir = node_red_user_dir(tmp_path, b"")
    (user_dir / ".config.runtime.json.backup").write_text(json.dumps({"_credentialSecret": own}))
    vol = ns.volume()
    run = ns.run(["-p", "node-red", "--", "true"], volume=vol,
                 env={"KEYSHIM_NODE_RED_USER_DIR": str(user_dir)})
    assert run.returncode == 0, run.stderr
    assert states(run.stderr)["NODE_RED_CREDENTIAL_SECRET"] == ("adopted", fingerprint(own))


def test_node_red_broken_runtime_file_fails_closed(ns, tmp_path):
    """Node-RED would read it as {} and make a new key over it: refuse."""
    user_dir = node_red_user_dir(tmp_path, b'{"_credentialSecret": "' + hex_text(32).encode() + b'",}')
    vol = ns.volume()
    run = ns.run(["-p", "node-red", "--", "true"], volume=vol,
                 env={"KEYSHIM_NODE_RED_USER_DIR": str(user_dir)})
    assert run.returncode == 65, run.stderr
    assert ".config.runtime.json" in run.stderr and "_credentialSecret" in run.stderr
    assert vol.files() == []


def test_n8n_own_key_is_adopted_from_its_config(ns, tmp_path):
    own = base64.b64encode(secrets.token_bytes(24)).decode()  # what n8n makes
    folder = tmp_path / "n8n-home"
    (folder / ".n8n").mkdir(parents=True)
    (folder / ".n8n" / "config").write_text(json.dumps({"encryptionKey": own}, indent="\t"))
    out = tmp_path / "out"
    out.mkdir()
    env = {"N8N_USER_FOLDER": str(folder)}
    vol = ns.volume()
    made, _ = lifetime(ns, vol, "n8n", "make", out, env=env)
    assert states(made.stderr)["N8N_ENCRYPTION_KEY"] == ("adopted", fingerprint(own))
    _, result = lifetime(ns, vol, "n8n", "open", out, env=env)
    assert result == {"ok": True}


@pytest.mark.parametrize("preset,variable,value", [
    ("n8n", "N8N_ENCRYPTION_KEY", "cl\u00e9 n8n non-ascii"),
    ("outline", "SECRET_KEY", "not hex but 32 characters long!!"),
    ("langfuse", "ENCRYPTION_KEY", "0" * 63 + "g"),
    ("metabase", "MB_ENCRYPTION_SECRET_KEY", "fifteen chars.."),
    ("plausible", "SECRET_KEY_BASE", "x" * 31),
    ("laravel", "APP_KEY", "base64:" + base64.b64encode(b"k" * 16).decode()),
])
def test_value_the_service_would_refuse_is_refused(ns, preset, variable, value):
    vol = ns.volume()
    run = ns.run(["-p", preset, "--", "true"], volume=vol, env={variable: value})
    assert run.returncode == 65, run.stderr
    assert variable in run.stderr
    assert vol.files() == []


@pytest.mark.parametrize("preset,variable,value,code", [
    ("langfuse", "ENCRYPTION_KEY", "0" * 64, 78),      # its docker-compose.yml: data, refused
    ("superset", "SUPERSET_SECRET_KEY", "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET", 78),
    ("paperless", "PAPERLESS_SECRET_KEY", "e11fl1oa-*ytql8p)(06fbj4ukrlo+n7k&q5+$1md7i+mge=ee", 0),
])
def test_published_values_of_new_presets(ns, preset, variable, value, code):
    vol = ns.volume()
    run = ns.run(["-p", preset, "--", "true"], volume=vol, env={variable: value})
    assert run.returncode == code, run.stderr
    assert "published" in run.stderr
    if code == 0:  # a session key: ignored, a new one made
        assert states(run.stderr)[variable][0] == "created"


# A value each rule accepts that keyshim would not create (not its format).
ACCEPTED = {
    "any": lambda: "an old secret " + hex_text(8),
    "any-not-uri": lambda: "an old secret " + hex_text(8),
    "ascii": lambda: "an old ascii secret " + hex_text(8),
    "16-chars": lambda: "sixteen+ " + hex_text(8),
    "32-bytes": lambda: "thirty-two bytes or more " + hex_text(8),
    "hex-32": lambda: hex_text(32).upper(),
    "laravel": lambda: hex_text(16),
}
ISSUE_13 = ["node-red", "n8n", "superset", "authentik", "paperless", "outline", "metabase",
            "langfuse", "plausible", "mastodon", "django", "rails", "laravel"]


def preset_rows():
    from test_presets import presets_output
    return [line for line in presets_output() if line[0] in ISSUE_13]


@pytest.mark.parametrize("preset", ISSUE_13)
def test_every_key_already_in_the_environment_is_adopted(ns, preset):
    """Brownfield for every key of every new preset: whatever the service
    already runs with (in the form its rule accepts) becomes the key file."""
    rows = [row for row in preset_rows() if row[0] == preset]
    assert rows
    values = {row[1]: ACCEPTED[row[5]]() for row in rows}
    vol = ns.volume()
    run = ns.run(["-p", preset, "--", "true"], volume=vol, env=values)
    assert run.returncode == 0, run.stderr
    for name, value in values.items():
        assert states(run.stderr)[name] == ("adopted", fingerprint(value))
        assert vol.key(name) == value
