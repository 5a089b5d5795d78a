"""Crash safety: keyshim killed with SIGKILL in the middle of creating
keys leaves no key or a complete one, and the next start finishes the job
and removes the temporary files the dead run left.

Two ways to crash it: deterministically, with strace delivering SIGKILL on
entry to each syscall of a key-creating run in turn; and 50 times at a
random moment, with strace delaying the writing syscalls so the kills land
inside the critical section."""

import base64
import os
import random
import signal
import time

from conftest import SEMAPHORE, STATIC_BIN
from test_faults import LINE, STRACE, TEMP_PREFIX

ARGS = ["-p", "semaphore", "init"]
RANDOM_KILLS = 50
# Memory management and read(2) leave nothing on the volume, so a kill
# before one is a kill before the next syscall; and their number varies from
# run to run (musl's allocator may fall back from brk to mmap; the mount
# table read in chunks is as long as the host's mounts at that moment), so
# "the 4th mmap" or "the 5th read" of the probe need not exist in the next
# run.
NOT_KILLED_AT = {"execve", "exit_group", "mmap", "munmap", "mremap", "brk",
                 "madvise", "mprotect", "read"}


def traced(ns, vol, inject=(), trace="/dev/null", popen=False):
    opts = ["-f", "-qq", "-s", "40", "-o", str(trace)]
    for spec in inject:
        opts += ["-e", "inject=" + spec]
    argv = opts + [str(STATIC_BIN), "-d", str(vol.mnt)] + ARGS
    run = ns.popen if popen else ns.run
    return run(argv, volume=vol, binary=STRACE, dir_option=False)


def survivors(vol):
    """After a kill: every key present is complete and valid. Returns the
    keys present and the temporary files left."""
    keys, temps = {}, []
    for name in vol.files():
        if name.startswith(TEMP_PREFIX):
            temps.append(name)
            continue
        assert name in SEMAPHORE, f"unexpected file {name}"
        data = (vol.data / name).read_bytes()
        assert data.endswith(b"\n") and len(base64.b64decode(data[:-1], validate=True)) == 32, \
            f"{name} is not a complete key after the kill"
        assert (vol.data / name).stat().st_mode & 0o777 == 0o600
        keys[name] = data
    return keys, temps


def restart(ns, vol, before, temps):
    """The next clean start: all keys valid, survivors unchanged, the dead
    run's temporary files gone."""
    result = ns.run(ARGS, volume=vol)
    assert result.returncode == 0, result.stderr
    for name in SEMAPHORE:
        data = (vol.data / name).read_bytes()
        assert len(base64.b64decode(data.rstrip(b"\n"), validate=True)) == 32
        if name in before:
            assert data == before[name], f"{name} changed on restart"
    assert not [n for n in vol.files() if n.startswith(TEMP_PREFIX)]
    if temps:
        assert result.stderr.count("removed a temporary file") == len(temps), result.stderr


def test_kill_before_every_syscall(ns_static, tmp_path):
    """SIGKILL on entry to syscall i of a clean run, for every i."""
    ns = ns_static
    probe = ns.volume("probe")
    trace = tmp_path / "probe.trace"
    assert traced(ns, probe, trace=trace).returncode == 0
    calls, seen = [], {}
    for line in trace.read_text().splitlines():
        match = LINE.match(line)
        if match and match.group(1) not in NOT_KILLED_AT:
            seen[match.group(1)] = seen.get(match.group(1), 0) + 1
            calls.append((match.group(1), seen[match.group(1)]))
    trace.unlink()  # it shows the probe's key values
    assert ("linkat", 3) in calls, calls

    left_temp = 0
    for i, (name, nth) in enumerate(calls):
        vol = ns.volume(f"v{i}")
        result = traced(ns, vol, inject=[f"{name}:signal=SIGKILL:when={nth}"])
        assert result.returncode == 128 + signal.SIGKILL, (name, nth, result.stderr)
        keys, temps = survivors(vol)
        left_temp += bool(temps)
        restart(ns, vol, keys, temps)
    # every key's window between open and unlink was hit
    assert left_temp >= 3 * 5, left_temp


def keyshim_pid(parent):
    """The keyshim process among parent's descendants, or None."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    todo = list(children.get(parent, []))
    while todo:
        pid = todo.pop()
        try:
            if os.readlink(f"/proc/{pid}/exe") == str(STATIC_BIN):
                return pid
        except OSError:
            pass
        todo += children.get(pid, [])
    return None


def test_random_kills(ns_static):
    """50 kills at random moments of a slowed-down run."""
    ns = ns_static
    # KEYSHIM_TEST_SEED=N replays a run; the seed is printed either way
    seed = os.environ.get("KEYSHIM_TEST_SEED") or os.environ.get("KEYSHIM_CRASH_SEED") \
        or str(time.time_ns())
    print(f"random kills: KEYSHIM_TEST_SEED={seed}")
    rng = random.Random(seed)
    outcomes = {"temp files left": 0, "some keys only": 0, "no key": 0, "all keys": 0}
    for i in range(RANDOM_KILLS):
        vol = ns.volume(f"v{i}")
        # every syscall of the critical section slowed by 2-20 ms
        delay = rng.randint(2000, 20000)
        proc = traced(ns, vol, popen=True, inject=[
            f"openat,fchmod,write,fsync,close,linkat,unlinkat:delay_enter={delay}"])
        pid = None
        deadline = time.monotonic() + 30
        while pid is None and proc.poll() is None and time.monotonic() < deadline:
            pid = keyshim_pid(proc.pid)
        # about 30 slowed calls in a whole run; aim across all of them
        time.sleep(rng.uniform(0, 30 * delay / 1e6))
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had finished
        out, err = proc.communicate(timeout=60)
        ns.record(proc.returncode, out, err)
        assert proc.returncode in (0, 128 + signal.SIGKILL), (f"KEYSHIM_TEST_SEED={seed}", err)

        keys, temps = survivors(vol)
        outcomes["temp files left"] += bool(temps)
        outcomes["some keys only"] += 0 < len(keys) < len(SEMAPHORE)
        outcomes["no key"] += not keys
        outcomes["all keys"] += len(keys) == len(SEMAPHORE)
        restart(ns, vol, keys, temps)
    print("random kills:", outcomes)
    # the kills did land inside key creation, not only before or after it
    assert outcomes["temp files left"] > 0 and outcomes["some keys only"] > 0, (seed, outcomes)
