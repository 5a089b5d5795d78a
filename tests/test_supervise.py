"""keyshim -g as PID 1 (issue 4): the same scenarios against Debian's tini
(`tini -s -g`, the reference) and keyshim -g, both as PID 1 of fresh PID
and mount namespaces; each scenario expects one observable result from
all of them. Plus: -g as a subreaper when not PID 1, and no key material
in the supervisor's memory while it waits."""

import base64
import os
import pathlib
import signal
import time

import pytest

from conftest import ASAN_BIN, STATIC_BIN

TINI = "/usr/bin/tini"
# keyshim-asan: the same sources under ASan+UBSan, for the C code's sake.
IMPLS = ["tini", "keyshim", "keyshim-asan"]
ORPHANS = 40  # `sleep` orphans; plus as many `/bin/true` ones


def start(ns, impl, vol, script, setup=""):
    """`IMPL -- sh -c SCRIPT` as PID 1 (unless setup runs it as a child)."""
    command = ["--", "sh", "-c", script]
    if impl == "tini":
        return ns.popen(["-s", "-g"] + command, volume=vol, binary=TINI,
                        dir_option=False, setup=setup)
    binary = ASAN_BIN if impl == "keyshim-asan" else STATIC_BIN
    return ns.popen(["-p", "semaphore", "-g"] + command, volume=vol,
                    binary=binary, setup=setup)


def finish(ns, proc, timeout=30):
    try:
        out, err = proc.communicate(timeout=timeout)
    except Exception:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"did not stop; stderr: {err}")
    return ns.record(proc.returncode, out, err)


def wait_for(predicate, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def host_pid1(proc, ready):
    """The host pid of the namespace's PID 1: the child `unshare --fork`
    made (its sh execs keyshim or tini), once the service says ready."""
    wait_for(ready.exists, "the service to start")
    children = pathlib.Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 1, children
    pid = int(children[0])
    nspid = [line for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines()
             if line.startswith("NSpid:")][0].split()
    assert nspid[-1] == "1", nspid  # PID 1 in its namespace
    return pid


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_code_passes_through(ns_static, impl, code):
    result = finish(ns_static, start(ns_static, impl, ns_static.volume(), f"exit {code}"))
    assert result.returncode == code, result.stderr


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("sig,code", [("KILL", 137), ("TERM", 143)])
def test_death_by_signal_is_128_plus_n(ns_static, impl, sig, code):
    # Under -g the service is not PID 1: its default dispositions apply.
    result = finish(ns_static, start(ns_static, impl, ns_static.volume(), f"kill -{sig} $$"))
    assert result.returncode == code, result.stderr


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("sig", ["TERM", "INT", "HUP", "USR1"])
def test_signal_to_pid1_reaches_the_service(ns_static, tmp_path, impl, sig):
    """`kill -SIG` from the host to the namespace's PID 1 reaches the
    service, which records it and exits 0; then everything stops with 0."""
    marker, ready = tmp_path / "marker", tmp_path / "ready"
    script = (f"trap 'echo {sig} > {marker}; exit 0' {sig}; echo > {ready}; "
              "while :; do sleep 0.1; done")
    proc = start(ns_static, impl, ns_static.volume(), script)
    pid = host_pid1(proc, ready)
    os.kill(pid, getattr(signal, "SIG" + sig))
    result = finish(ns_static, proc)
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == sig + "\n"


# Run by the service (or as PID 1): waits for the `sleep` orphans, kills
# them (they die as children of whoever adopted them), waits until none is
# alive, then up to GRACE seconds for the zombies to be reaped; prints what
# it saw. Uses no child processes of its own.
COUNTER = r'''
import os, signal, sys, time
grace = float(sys.argv[1])
def procs():
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            found.append((int(d), stat[stat.index("(") + 1:stat.rindex(")")], rest[0], int(rest[1])))
    return found
def until(done, seconds):
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        time.sleep(0.02)
sleeps = lambda: [p for p in procs() if p[1] == "sleep" and p[2] != "Z"]
until(lambda: len(sleeps()) >= %d, 30)
orphans = sleeps()
for p in orphans:
    os.kill(p[0], signal.SIGKILL)
live = lambda: [p for p in procs() if p[1] in ("sleep", "true") and p[2] != "Z"]
zombies = lambda: [p for p in procs() if p[2] == "Z"]
until(lambda: not live(), 30)
until(lambda: not zombies(), grace)
print(f"orphans={len(orphans)} parents={sorted({p[3] for p in orphans})} "
      f"live={len(live())} zombies={len(zombies())} ppid={os.getppid()}")
''' % ORPHANS


def orphans_script(tmp_path, grace):
    counter = tmp_path / "counter.py"
    counter.write_text(COUNTER)
    # The subshell exits at once: its children are orphans, adopted by
    # PID 1 (or the nearest subreaper).
    return (f"( i=0; while [ $i -lt {ORPHANS} ]; do sleep 1000 >/dev/null 2>&1 & "
            "/bin/true & i=$((i + 1)); done ); "
            f"exec /usr/bin/python3 {counter} {grace}")


def parse(out):
    return dict(field.split("=", 1) for field in out.split())


@pytest.mark.parametrize("impl", IMPLS)
def test_orphans_are_reaped_by_pid1(ns_static, tmp_path, impl):
    result = finish(ns_static, start(ns_static, impl, ns_static.volume(),
                                     orphans_script(tmp_path, grace=20)), timeout=90)
    assert result.returncode == 0, result.stderr
    seen = parse(result.stdout)
    assert seen["orphans"] == str(ORPHANS) and seen["parents"] == "[1]", seen
    assert seen["live"] == "0" and seen["zombies"] == "0", seen


def test_orphans_stay_zombies_without_a_reaper(ns_static, tmp_path):
    """The check above can fail: plain exec mode makes the service PID 1,
    and python never calls wait(), so every orphan stays a zombie."""
    vol = ns_static.volume()
    result = ns_static.run(["-p", "semaphore", "--", "sh", "-c",
                            orphans_script(tmp_path, grace=0)], volume=vol, timeout=90)
    assert result.returncode == 0, result.stderr
    seen = parse(result.stdout)
    assert seen["parents"] == "[1]" and seen["ppid"] == "0", seen  # python is PID 1
    assert seen["live"] == "0" and int(seen["zombies"]) >= ORPHANS, seen


@pytest.mark.parametrize("impl", IMPLS)
def test_subreaper_when_not_pid1(ns_static, tmp_path, impl):
    """Not PID 1 (a shell is, and runs it as a child): -g (tini -s) makes
    it a child subreaper, so it adopts the orphans and reaps them."""
    result = finish(ns_static, start(ns_static, impl, ns_static.volume(),
                                     orphans_script(tmp_path, grace=20),
                                     setup='"$@"; exit $?'), timeout=90)
    assert result.returncode == 0, result.stderr
    seen = parse(result.stdout)
    supervisor = seen["ppid"]
    assert supervisor != "1" and seen["parents"] == f"[{supervisor}]", seen
    assert seen["live"] == "0" and seen["zombies"] == "0", seen


def readable_memory(pid):
    """Every readable and writable mapping of pid (heap, stack, data, anon)."""
    regions = []
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines():
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if not fields[1].startswith("rw"):
                continue
            try:
                mem.seek(low)
                regions.append((line, mem.read(high - low)))
            except OSError:
                pass  # [vvar] and friends
    return regions


def fragments(value, width):
    return {value[i:i + width] for i in range(0, len(value) - width + 1)}


@pytest.mark.parametrize("how", ["created", "loaded", "adopted"])
def test_no_key_in_supervisor_memory(ns_static, tmp_path, how):
    """While keyshim -g waits, neither its environ nor any writable page of
    it holds a key, as text or decoded, even in pieces (8 bytes of one);
    the service does have them in its environ."""
    vol = ns_static.volume()
    env = {}
    if how == "loaded":
        assert ns_static.run(["-p", "semaphore", "init"], volume=vol, binary=STATIC_BIN).returncode == 0
    if how == "adopted":
        env["SEMAPHORE_COOKIE_HASH"] = base64.b64encode(os.urandom(32)).decode()
    ready = tmp_path / "ready"
    proc = ns_static.popen(["-p", "semaphore", "-g", "--", "sh", "-c",
                            f"echo > {ready}; exec sleep 1000"], volume=vol, env=env,
                           binary=STATIC_BIN)
    pid = host_pid1(proc, ready)
    service = int(pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
    try:
        values = [vol.key(name) for name in vol.files()]
        assert len(values) == 3
        texts = [v.encode() for v in values]
        raws = [base64.b64decode(v) for v in values]
        service_env = pathlib.Path(f"/proc/{service}/environ").read_bytes()
        assert all(b"=" + t + b"\0" in service_env for t in texts)
        assert not any(t in pathlib.Path(f"/proc/{pid}/environ").read_bytes() for t in texts)
        pieces = set().union(*(fragments(t, 8) for t in texts), *(fragments(r, 8) for r in raws))
        regions = readable_memory(pid)
        assert regions and sum(len(data) for _, data in regions) > 4096
        found = [(line, piece) for line, data in regions for piece in pieces if piece in data]
        assert not found, f"key material in keyshim's memory: {found[:3]}"
    finally:
        os.kill(pid, signal.SIGTERM)
        result = finish(ns_static, proc)
    assert result.returncode == 143  # sleep died of the forwarded SIGTERM
    assert f"SEMAPHORE_COOKIE_HASH {how} " in result.stderr
