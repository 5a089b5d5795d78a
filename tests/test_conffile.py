"""The configuration-file readers (shim/json.c, shim/ini.c) against an
independent oracle: Python's own json and configparser, set up the way the
services read their files. Thousands of generated and mutated documents go
through build/*/conffile-driver (tests/unit/conffile_driver.c) in one run
each; every answer must be Python's (the same value, by fingerprint, or
absent), or a refusal where Python refuses. keyshim may refuse more than
Python only for the reasons shim/conffile.h documents, and each such case
is checked for that reason here."""

import configparser
import hashlib
import io
import json
import random
import re
import struct
import subprocess

import pytest

from conftest import ROOT

BUILDS = ["release", "asan"]
JSON_DEPTH = 64          # JSON_MAX_DEPTH
DOCS = 2500              # of each kind, a third of them mutated
BIG = 65536
# What keyshim says when it refuses more than Python, for each documented reason.
MAY_REFUSE = {
    "NaN/Infinity": "unexpected character|bad number",
    "too deep": "nested too deeply",
    "case variant": "only in letter case",
    "non-ASCII whitespace": "non-ASCII whitespace",
    "section case variant": "section name differs .* only in letter case",
    "option case variant": "option name differs .* only in letter case",
    "%(name)s": "%\\(name\\)s interpolation",
    "raw value too long": "the value is too long",
}
NON_ASCII_SPACE = "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
                  "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def fingerprint(value):
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()


def record(kind, doc, section, name, size):
    sec, nam = section.encode(), name.encode()
    return (kind.encode() + struct.pack("<II", size, len(doc)) + doc +
            struct.pack("<H", len(sec)) + sec + struct.pack("<H", len(nam)) + nam)


def run_driver(build, cases):
    """cases: (kind, doc bytes, section, name, out_size) -> driver answers."""
    binary = ROOT / "build" / build / "conffile-driver"
    data = b"".join(record(*c) for c in cases)
    result = subprocess.run([str(binary)], input=data, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(cases)
    answers = []
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "F":
            n, fp = rest.split()
            answers.append(("F", int(n), fp))
        else:
            answers.append((kind, rest))
    return answers


def mutate(rng, doc):
    doc = bytearray(doc)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randint(0, len(doc))
        if op == 0 and doc:
            del doc[min(pos, len(doc) - 1)]
        elif op == 1:
            doc[pos:pos] = bytes([rng.randrange(256)])
        elif op == 2:
            doc[pos:pos] = rng.choice([b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"=",
                                       b"\n", b"\r", b"\t", b" ", b"#", b";", b"%", b"\xc3",
                                       b"\\u", b"\xef\xbb\xbf", b"\x00", "\u00a0".encode()])
        elif op == 3:
            del doc[pos:]
        elif doc:
            a, b = sorted(rng.randrange(len(doc)) for _ in range(2))
            doc[pos:pos] = doc[a:b]
    return bytes(doc)


# ---- JSON ---------------------------------------------------------------

JSON_FIELDS = ["access_key_encryption", "k", "encryptionKey"]


def go_fold(s):
    return "".join("s" if c == "\u017f" else "k" if c == "\u212a" else
                   c.lower() if "A" <= c <= "Z" else c for c in s)


def json_text(rng, value, depth=0):
    ws = lambda: rng.choice(["", "", " ", "\n", "\t", "\r\n  "])
    if isinstance(value, dict) or isinstance(value, list) and value and value[0] == "PAIRS":
        pairs = value[1:] if isinstance(value, list) else list(value.items())
        inner = ",".join(f"{ws()}{json_string(rng, k)}{ws()}:{ws()}{json_text(rng, v, depth + 1)}"
                         for k, v in pairs)
        return "{" + inner + ws() + "}"
    if isinstance(value, list):
        return "[" + ",".join(ws() + json_text(rng, v, depth + 1) for v in value) + ws() + "]"
    if isinstance(value, str):
        return json_string(rng, value)
    if value is True:
        return "true"
    if value is None:
        return "null"
    if isinstance(value, float) and value != value:
        return "NaN"
    return rng.choice([str(value), json.dumps(value), "-0.5e+3", "0", "12E-1"])


def json_string(rng, s):
    out = []
    for c in s:
        r = rng.random()
        if c in '"\\' or c < " " or r < 0.15:
            out.append("\\u%04x" % ord(c) if ord(c) < 0x10000 else
                       json.dumps(c, ensure_ascii=True)[1:-1])
        elif r < 0.2 and c in "/\b\f\n\r\t":
            out.append(json.dumps(c)[1:-1])
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def random_string(rng):
    alphabet = ("abcXYZ019+/=-_ %$~#\"\\/\t\n\x01" + "\u00e9\u017f\u212a\U0001f600" +
                "\x00\ud800\udc00")
    n = rng.choice([0, 1, 5, 20, 44, 90])
    return "".join(rng.choice(alphabet[:30]) if rng.random() < 0.9 else rng.choice(alphabet)
                   for _ in range(n))


def random_json_value(rng, depth):
    r = rng.random()
    if depth > 3 or r < 0.35:
        return rng.choice([random_string(rng), 17, -3.25, True, False, None, 1e300, float("nan")])
    if r < 0.65:
        return [random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return ["PAIRS"] + [(rng.choice(["x", "k", "K", "a b", random_string(rng)]),
                         random_json_value(rng, depth + 1)) for _ in range(rng.randint(0, 3))]


def random_json(rng, field):
    pairs = [(rng.choice(["port", "dialect", "mysql", "x", "K", random_string(rng)]),
              random_json_value(rng, 1)) for _ in range(rng.randint(0, 4))]
    kind = rng.random()
    if kind < 0.5:
        pairs.insert(rng.randint(0, len(pairs)), (field, random_string(rng)))
    elif kind < 0.6:
        pairs += [(field, random_string(rng)), (field, random_string(rng))]
    elif kind < 0.7:
        pairs.append((field, random_json_value(rng, 1)))
    elif kind < 0.8:
        variant = field.upper() if rng.random() < 0.5 else \
            field.replace("s", "\u017f", 1).replace("k", "\u212a", 1)
        pairs.append((variant, random_string(rng)))
    text = json_text(rng, ["PAIRS"] + pairs)
    if rng.random() < 0.05:
        text = "[" * 70 + "]" * 70 if rng.random() < 0.5 else \
            '{"a":' + "[" * 64 + "]" * 64 + "}"
    return text.encode("utf-8", "surrogatepass")


def depth_of(value):
    if isinstance(value, tuple):
        return 1 + max([depth_of(v) for _, v in value[1]], default=0)
    if isinstance(value, list):
        return 1 + max([depth_of(v) for v in value], default=0)
    return 0


def json_oracle(doc, field, size):
    """Python's answer and what keyshim may refuse beyond it:
    ('M',) | ('A', may_refuse) | ('F', value, may_refuse)."""
    try:
        text = doc.decode("utf-8")
        constants = []
        top = json.loads(text, object_pairs_hook=lambda pairs: ("OBJ", pairs),
                         parse_constant=lambda c: constants.append(c) or 0.0)
    except (ValueError, RecursionError):
        return ("M", "python refuses")
    if not (isinstance(top, tuple) and top[0] == "OBJ"):
        return ("M", "not an object")
    pairs = top[1]
    may = []
    if constants:
        may.append("NaN/Infinity")
    if depth_of(top) > JSON_DEPTH:
        may.append("too deep")
    if any(k != field and len(k) == len(field) and go_fold(k) == go_fold(field) for k, _ in pairs):
        may.append("case variant")
    values = [v for k, v in pairs if k == field]
    if not values:
        return ("A", may)
    if len(values) > 1:
        return ("M", "duplicate")
    value = values[0]
    if not isinstance(value, str):
        return ("M", "not a string")
    if "\x00" in value or re.search("[\ud800-\udfff]", value):
        return ("M", "NUL or lone surrogate")
    if len(value.encode()) > size - 1:
        return ("M", "too long")
    return ("F", value, may)


def json_cases(rng):
    cases = []
    fixed = [b'{"access_key_encryption": "IlRqgrrO5Gp27MlWakDX1xVrPv4jhoUx+ARY+qGyDxQ="}',
             b'{}', b'[]', b'"x"', b'{"k": "v"} x', b'\xef\xbb\xbf{"k": "v"}', b'{"k": "v",}',
             b'{"k": NaN, "x": "y"}', b'{"k": "\\ud83d\\ude00"}', b'{"k": "\\ud83d"}',
             b'{"k": "a\\u0000b"}', b'{"K": "v"}', b'{"k": 01}', b'{"k": "\x7f\x1f"}']
    for doc in fixed:
        for field in JSON_FIELDS:
            cases.append(("J", doc, "", field, BIG))
    for i in range(DOCS):
        field = rng.choice(JSON_FIELDS)
        doc = random_json(rng, field)
        if i % 3 == 2:
            doc = mutate(rng, doc)
        cases.append(("J", doc, "", field, rng.choice([BIG, BIG, 2, 21, 45])))
    return cases


# ---- INI ----------------------------------------------------------------

INI_ASKS = [("core", "fernet_key"), ("api", "secret_key"), ("DEFAULT", "k"), ("core", "k"),
            ("a", "o")]


def random_value(rng):
    alphabet = ("abcXYZ019+/=-_ #;[]:" + "%%" * 3 + "$~\t\x0b\x0c\x1c\u00e9" +
                "\u00a0\x00%(k)s$HOME${X}")
    n = rng.choice([0, 1, 3, 10, 44])
    v = "".join(rng.choice(alphabet[:26]) if rng.random() < 0.85 else rng.choice(alphabet)
                for _ in range(n))
    return v.replace("%", "%%") if rng.random() < 0.7 else v


def random_ini(rng, section, option):
    sections = [section, section, "core", "api", "Core", "DEFAULT", "a", "a]b", " core ", "webserver"]
    options = [option, option, option, "k", "K", option.upper(), " " + option, "a b", "o", "o_cmd"]
    lines = []
    if rng.random() < 0.3:  # a plain file that holds the option once
        lines = [f"[{section}]"] + [f"x{i} = {random_value(rng)}" for i in range(rng.randint(0, 3))]
        lines.insert(rng.randint(1, len(lines)), f"{option} = {random_value(rng)}")
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if rng.random() < 0.95:
        lines.append(f"[{section if rng.random() < 0.6 else rng.choice(sections)}]")
    for _ in range(rng.randint(0, 10)):
        r = rng.random()
        indent = rng.choice(["", "", "", "", " ", "\t"])
        if r < 0.08:
            lines.append(indent + f"[{rng.choice(sections)}]" + rng.choice(["", "", " x", "]"]))
        elif r < 0.6:
            name = rng.choice(options) if rng.random() < 0.5 else f"x{rng.randrange(1000)}"
            lines.append(indent + name + rng.choice([" = ", "=", ": ", " :", "\t=\t"]) +
                         random_value(rng) + rng.choice(["", "", " ", "\t"]))
        elif r < 0.75:
            lines.append(rng.choice(["    ", "  ", "\t"]) + random_value(rng))
        elif r < 0.85:
            lines.append(indent + rng.choice(["# ", ";", "#fernet_key = x"]) + random_value(rng))
        elif r < 0.97:
            lines.append(rng.choice(["", "  ", "\t"]))
        else:
            lines.append(indent + rng.choice(["no delimiter", "=nameless", "[]", "[", "]"]))
    end = rng.choice(["\n", "\n", "\r\n", "\r"])
    text = end.join(lines) + rng.choice([end, ""])
    if rng.random() < 0.02:
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


def ascii_lower(s):
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in s)


def ini_oracle(doc, section, option, size):
    """Python's answer (configparser as Airflow sets it up) and what keyshim
    may refuse beyond it."""
    parser = configparser.ConfigParser(strict=True)
    parser.optionxform = str
    try:
        parser.read_file(io.TextIOWrapper(io.BytesIO(doc), encoding="utf-8", newline=None))
    except (configparser.Error, UnicodeDecodeError):
        return ("M", "python refuses")
    text = doc.decode("utf-8")
    may = []
    if any(c in text for c in NON_ASCII_SPACE):
        may.append("non-ASCII whitespace")
    if any(s != section and ascii_lower(s) == ascii_lower(section) for s in parser.sections()):
        may.append("section case variant")
    names = list(parser._defaults)
    if section in parser._sections:
        names += list(parser._sections[section])
    if any(o != option and ascii_lower(o) == ascii_lower(option) for o in names):
        may.append("option case variant")
    if not parser.has_option(section, option):
        return ("A", may)
    raw = parser.get(section, option, raw=True)
    if "%(" in raw:
        may.append("%(name)s")
    if len(raw.encode()) > size - 1:
        may.append("raw value too long")
    try:
        value = parser.get(section, option)
    except configparser.Error:
        return ("M", "interpolation")
    if "\x00" in value or value.startswith("~") or re.search(r"\$[A-Za-z0-9_{]", value):
        return ("M", "NUL or expand_env_var")
    if len(value.encode()) > size - 1:
        return ("M", "too long")
    return ("F", value, may)


def ini_cases(rng):
    cases = []
    fixed = [b"[core]\nfernet_key = abc\n", b"[core]\nFERNET_KEY = abc\n", b"[CORE]\nfernet_key = a\n",
             b"[DEFAULT]\nfernet_key = d\n[core]\n", b"[DEFAULT]\nfernet_key = d\n",
             b"[core]\nfernet_key = a\n  b\n\n  c\n# x\n", b"[core]\nfernet_key = a%%b\n",
             b"[core]\nfernet_key = a%b\n", b"[core]\nfernet_key = %(x)s\nx = 1\n",
             b"[core]\nfernet_key = $HOME\n", b"[core]\nfernet_key = ~x\n", b"fernet_key = a\n",
             b"[core]\nfernet_key = a\n[core]\n", b"[core]\nfernet_key = a\nfernet_key = b\n",
             b"[core]\r\nfernet_key = a\r\n", b"[core]\rfernet_key = a\r", b"[core] x\nfernet_key: a\n",
             b"[core]\n  fernet_key = a\n", b"\xef\xbb\xbf[core]\nfernet_key = a\n",
             b"[core]\nfernet_key = a \xc2\xa0\n", b"[core]\nfernet_key = \xff\n"]
    for doc in fixed:
        for section, option in INI_ASKS:
            cases.append(("I", doc, section, option, BIG))
    for i in range(DOCS):
        section, option = rng.choice(INI_ASKS)
        doc = random_ini(rng, section, option)
        if i % 3 == 2:
            doc = mutate(rng, doc)
        cases.append(("I", doc, section, option, rng.choice([BIG, BIG, 2, 8, 45])))
    return cases


# ---- the comparison -----------------------------------------------------

def compare(cases, build):
    answers = run_driver(build, cases)
    outcomes = {"F": 0, "A": 0, "M": 0, "refused more": 0}
    bad = []
    for (kind, doc, section, name, size), got in zip(cases, answers):
        want = ini_oracle(doc, section, name, size) if kind == "I" else json_oracle(doc, name, size)
        where = f"{kind} {section!r} {name!r} size={size} doc={doc!r}"
        if want[0] == "M":
            if got[0] != "M":
                bad.append(f"accepted what Python refuses ({want[1]}): {got[0]} {where}")
            outcomes["M"] += 1
            continue
        may = want[-1]
        if got[0] == "M":
            if not any(re.search(MAY_REFUSE[reason], got[1]) for reason in may):
                bad.append(f"refused ({got[1]}) what Python reads ({want[0]}, keyshim "
                           f"may refuse for: {may}): {where}")
            outcomes["refused more"] += 1
        elif want[0] == "A":
            if got[0] != "A":
                bad.append(f"found a value Python does not: {where}")
            outcomes["A"] += 1
        else:
            value = want[1]
            if got != ("F", len(value.encode()), fingerprint(value)):
                bad.append(f"a different value than Python's (len {len(value.encode())}): {where}")
            outcomes["F"] += 1
    assert not bad, f"{len(bad)} disagreements, first ones:\n" + "\n".join(bad[:10])
    return outcomes


@pytest.mark.parametrize("build", BUILDS)
def test_json_agrees_with_python(build):
    outcomes = compare(json_cases(random.Random(1205)), build)
    # the generator reaches every outcome, so the comparison means something
    assert all(n >= 50 for n in outcomes.values()), outcomes
    print(outcomes)


@pytest.mark.parametrize("build", BUILDS)
def test_ini_agrees_with_configparser(build):
    outcomes = compare(ini_cases(random.Random(1206)), build)
    assert all(n >= 50 for n in outcomes.values()), outcomes
    print(outcomes)
