"""shim/ini.c's go-ini dialect against the real go-ini: Debian's
golang-gopkg-ini.v1-dev, the library Grafana reads grafana.ini with
(ini.Load, its defaults) and Gitea reads app.ini with (IgnoreContinuation),
driven by tests/unit/go_ini_oracle.go. Thousands of generated and mutated
documents go through build/*/conffile-driver and through the oracle; every
answer must be go-ini's (the same value, by fingerprint, or absent), or a
refusal where go-ini refuses. keyshim may refuse more only for the reasons
shim/conffile.h documents, each checked here."""

import base64
import hashlib
import json
import os
import random
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, require
from test_conffile import BIG, BUILDS, NON_ASCII_SPACE, mutate, run_driver

DOCS = 3000
GOPATH = "/usr/share/gocode"
ASKS = [("security", "secret_key"), ("security", "SECRET_KEY"), ("oauth2", "JWT_SECRET"),
        ("security", "INTERNAL_TOKEN")]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    require("go-ini", shutil.which("go") and os.path.isdir(f"{GOPATH}/src/gopkg.in/ini.v1"),
            "golang-go and golang-gopkg-ini.v1-dev are not installed")
    work = tmp_path_factory.mktemp("go-ini-oracle")
    shutil.copy(ROOT / "tests" / "unit" / "go_ini_oracle.go", work / "main.go")
    env = dict(os.environ, GOPATH=GOPATH, GO111MODULE="off", GOFLAGS="",
               GOCACHE=str(work / "cache"), HOME=str(work))
    subprocess.run(["go", "build", "-o", str(work / "oracle"), "main.go"], cwd=work, env=env,
                   check=True, capture_output=True, timeout=300)
    return work / "oracle"


def ask_oracle(oracle, cases):
    lines = "".join(json.dumps([k, base64.b64encode(d).decode(), s, o]) + "\n"
                    for k, d, s, o, _ in cases)
    result = subprocess.run([str(oracle)], input=lines.encode(), capture_output=True,
                            timeout=300, check=True)
    answers = []
    for line in result.stdout.decode().splitlines():
        kind, _, rest = line.partition(" ")
        answers.append((kind, bytes.fromhex(rest)) if kind == "F" else (kind, rest))
    assert len(answers) == len(cases)
    return answers


def random_value(rng):
    alphabet = "abcXYZ019+/=-_ \t#;:[]'\"`\\%()s$" + "\u00e9\x00\x0b\x1c"
    n = rng.choice([0, 1, 3, 10, 44])
    v = "".join(rng.choice(alphabet[:14]) if rng.random() < 0.8 else rng.choice(alphabet)
                for _ in range(n))
    r = rng.random()
    if r < 0.1:
        v = '"' + v + '"'
    elif r < 0.2:
        v = "'" + v + "'"
    elif r < 0.27:
        v = '"""' + v + rng.choice(['"""', '"""x', ""])
    elif r < 0.33:
        v = "`" + v + rng.choice(["`", "` y", ""])
    elif r < 0.38:
        v = v + "\\"
    elif r < 0.41:
        v = v + "%(k)s"
    return v


def random_doc(rng, section, option):
    sections = [section, section, "Security", "oauth2", "DEFAULT", "server", " security", "",
                "a]b"]
    options = [option, option, option.upper(), option.lower(), "k", "a b", '"q"', "`q`", "o"]
    lines = []
    if rng.random() < 0.9:
        lines.append(f"[{section if rng.random() < 0.6 else rng.choice(sections)}]")
    for _ in range(rng.randint(0, 10)):
        r = rng.random()
        indent = rng.choice(["", "", "", " ", "\t"])
        if r < 0.1:
            lines.append(indent + f"[{rng.choice(sections)}]" + rng.choice(["", "", " ;x", "]"]))
        elif r < 0.65:
            name = rng.choice(options) if rng.random() < 0.6 else f"x{rng.randrange(1000)}"
            lines.append(indent + name + rng.choice([" = ", "=", ": ", " :", "\t=\t"]) +
                         random_value(rng) + rng.choice(["", "", " ", "\t", "\r", " # c", ";c"]))
        elif r < 0.75:
            lines.append(rng.choice(["    ", "\t"]) + random_value(rng))
        elif r < 0.85:
            lines.append(indent + rng.choice(["# ", ";"]) + random_value(rng))
        elif r < 0.97:
            lines.append(rng.choice(["", "  ", "\t"]))
        else:
            lines.append(indent + rng.choice(["no delimiter", "=nameless", "[]", "[", "]"]))
    end = rng.choice(["\n", "\n", "\r\n"])
    text = end.join(lines) + rng.choice([end, ""])
    if rng.random() < 0.03:
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


def cases(rng):
    fixed = [b"[security]\nsecret_key = abc # c\n", b"[security]\nsecret_key = 'a b'\n",
             b"[security]\nsecret_key = \"\"\"a#b\"\"\"\n", b"[security]\nsecret_key = `a;b`\n",
             b"[security]\nsecret_key = a\\\n  b\n", b"[security]\nsecret_key = a\\\n",
             b"secret_key = d\n[security]\n", b"[security]\nsecret_key = a\nsecret_key = b\n",
             b"[security]\nsecret_key = a\n[server]\n[security]\nsecret_key = c\n",
             b"[security]\n  secret_key = a\n", b"\xef\xbb\xbf[security]\nsecret_key = a\n",
             b"[security]\nsecret_key = %(x)s\nx = 1\n", b"[security]\nsecret_key = a%b\n",
             b"[security]\r\nsecret_key = a\r\n", b"[security] ; x\nsecret_key: a\n",
             b"[Security]\nsecret_key = a\n", b"[security]\nSecret_Key = a\n",
             b"[security\nsecret_key = a\n", b"[]\n", b"[security]\n\"secret_key\" = a\n",
             b"[security]\nsecret_key = \"\"\"a\nb\"\"\"\n", b"[security]\nsecret_key = \"\"\"\n"]
    out = []
    for doc in fixed:
        for kind in "Gg":
            for section, option in ASKS:
                out.append((kind, doc, section, option, BIG))
    for i in range(DOCS):
        section, option = rng.choice(ASKS)
        doc = random_doc(rng, section, option)
        if i % 3 == 2:
            doc = mutate(rng, doc)
        out.append((rng.choice("Gg"), doc, section, option, rng.choice([BIG, BIG, 2, 8, 45])))
    return out


def may_refuse(kind, doc, section, option, value, size):
    """What keyshim may refuse beyond go-ini, by its message (conffile.h)."""
    text = doc.decode("utf-8", "replace").lstrip("\ufeff")
    may = []
    try:
        doc.decode("utf-8")
    except UnicodeDecodeError:
        may.append("invalid UTF-8")
    if any(c in text for c in NON_ASCII_SPACE):
        may.append("non-ASCII whitespace")
    if re.search(r"^\s*[\"`]", text, re.M):
        may.append("is quoted")
    low = text.lower()
    for name in (section, option):
        if name.lower() in low and low.count(name.lower()) != text.count(name):
            may.append("only in letter case")
    if "%(" in text:
        may.append("%\\(name\\)s")
    if "\\" in text or '"""' in text or "`" in text:
        may.append("several lines")
    if value is not None:
        if len(value) > size - 1:
            may.append("too long")
        if b"\x00" in value:
            may.append("NUL")
    return may


@pytest.mark.parametrize("build", BUILDS)
def test_go_ini_dialect_agrees_with_go_ini(build, oracle):
    all_cases = cases(random.Random(1313))
    got_all = run_driver(build, all_cases)
    want_all = ask_oracle(oracle, all_cases)
    outcomes = {"F": 0, "A": 0, "M": 0, "refused more": 0}
    bad = []
    for (kind, doc, section, option, size), got, want in zip(all_cases, got_all, want_all):
        where = f"{kind} [{section}] {option} size={size} doc={doc!r}"
        if want[0] == "M":
            if got[0] != "M":
                bad.append(f"accepted what go-ini refuses ({want[1]}): {got} {where}")
            outcomes["M"] += 1
            continue
        value = want[1] if want[0] == "F" else None
        if got[0] == "M":
            may = may_refuse(kind, doc, section, option, value, size)
            if not any(re.search(reason, got[1]) for reason in may):
                bad.append(f"refused ({got[1]}) what go-ini reads ({want[0]}; may: {may}): {where}")
            outcomes["refused more"] += 1
        elif want[0] == "A":
            if got[0] != "A":
                bad.append(f"found a value go-ini does not: {where}")
            outcomes["A"] += 1
        else:
            fp = hashlib.blake2b(value, digest_size=8).hexdigest()
            if got != ("F", len(value), fp):
                bad.append(f"not go-ini's value {value!r}: {got} {where}")
            outcomes["F"] += 1
    assert not bad, f"{len(bad)} disagreements, first ones:\n" + "\n".join(bad[:12])
    assert all(n >= 50 for n in outcomes.values()), outcomes
    print(outcomes)
