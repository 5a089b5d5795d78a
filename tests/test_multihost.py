"""Several hosts, one shared volume, on a real network filesystem protocol.

One directory is served by a throwaway sshd over SFTP (127.0.0.1 only, a
host key and a user key made for the test) and mounted twice with sshfs:
the two FUSE mounts stand for two hosts. Like NFS mounted with nolock or
local_lock, and most FUSE network filesystems, each mount keeps its own
flock(2) locks, so a lock taken on one "host" means nothing on the other.
Both "hosts" are one machine here (one boot id, one clock): keyshim's rule
for temporary files must still tell them apart.

Every start is the real static binary as PID 1 of fresh PID and mount
namespaces, with the mount (or a directory in it) bind-mounted as its
volume, exactly as the other tests do with a local directory."""

import base64
import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import SEMAPHORE, Volume, fingerprint
from test_crash import keyshim_pid
from test_faults import STRACE, TEMP_PREFIX, one_line

SSHD = "/usr/sbin/sshd"
SSHFS = "/usr/bin/sshfs"
ARGS = ["-p", "semaphore", "init"]
RACE_ROUNDS, RACE_STARTS = 5, 24
KILL_ROUNDS = 12
MAX_AGE = 15 * 60  # keystore.h KEYSTORE_TEMP_MAX_AGE


class Hosts:
    def __init__(self, base):
        self.shared = base / "shared"  # what the SFTP server serves
        # a and b race; c is a host that starts later, its caches cold
        self.mounts = {h: base / f"host-{h}" for h in "abc"}
        self.count = 0

    def key_dir(self, ns):
        """A fresh directory on the shared volume, and a Volume for it as
        each host sees it: {"a": Volume, "b": Volume, "c": Volume}."""
        self.count += 1
        name = f"d{self.count}"
        (self.shared / name).mkdir(mode=0o700)
        vols = {}
        for host, mount in self.mounts.items():
            vol = Volume.__new__(Volume)
            vol.data = mount / name
            # the truth, as the server has it: sshfs caches listings
            vol.server = self.shared / name
            vol.mnt = ns.tmp / f"{name}-{host}-mnt"
            vol.mnt.mkdir()
            vols[host] = vol
        # The leak check reads its volumes before and after every run: it
        # is given the server's directory, never a host's mount. Listing a
        # mount fills that sshfs's directory cache (20 s), so host C, which
        # must start with cold caches, would see the listing from before A
        # wrote anything and never find A's leftover temporary file.
        truth = Volume.__new__(Volume)
        truth.data = truth.server = self.shared / name
        truth.mnt = vols["a"].mnt
        ns.volumes.append(truth)
        return vols


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """sshd on 127.0.0.1 serving one directory, mounted with sshfs's
    default options once for each host."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is missing: no FUSE here, so sshfs cannot mount "
                    "(a container needs --device /dev/fuse)")
    for tool in (SSHD, SSHFS, "/usr/bin/ssh-keygen"):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: scripts/test installs openssh-server and sshfs")
    base = tmp_path_factory.mktemp("multihost")
    hosts = Hosts(base)
    hosts.shared.mkdir()
    for key in ("host_key", "user_key"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / key)],
            check=True)
    shutil.copy(base / "user_key.pub", base / "authorized_keys")
    port = free_port()
    host_pub = (base / "host_key.pub").read_text().split()[:2]
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {' '.join(host_pub)}\n")
    (base / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {base}/host_key
AuthorizedKeysFile {base}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
""")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation dir
    log = open(base / "sshd.log", "w")
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(base / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=log)
    mounted = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert sshd.poll() is None, (base / "sshd.log").read_text()
                assert time.monotonic() < deadline, "sshd did not listen"
                time.sleep(0.05)
        ssh = (f"ssh -i {base}/user_key -p {port} -o BatchMode=yes "
               f"-o UserKnownHostsFile={base}/known_hosts -o StrictHostKeyChecking=yes")
        for mount in hosts.mounts.values():
            mount.mkdir()
            done = run([SSHFS, "-o", f"ssh_command={ssh}",
                        f"root@127.0.0.1:{hosts.shared}", str(mount)])
            if done.returncode != 0 and "fuse" in done.stderr.lower():
                pytest.skip(f"sshfs cannot mount here (FUSE): {done.stderr.strip()}")
            assert done.returncode == 0, done.stderr
            mounted.append(mount)
        yield hosts
    finally:
        for mount in mounted:
            if run(["fusermount3", "-u", str(mount)]).returncode != 0:
                run(["umount", "-l", str(mount)])
        sshd.terminate()
        sshd.wait(timeout=20)
        log.close()


def traced(ns, vol, inject, popen=False):
    """keyshim on vol under strace with inject specs (never traced to a
    file: a trace would show key values)."""
    opts = ["-f", "-qq", "-o", "/dev/null"]
    for spec in inject:
        opts += ["-e", "inject=" + spec]
    argv = opts + [str(ns.binary), "-d", str(vol.mnt)] + ARGS
    return (ns.popen if popen else ns.run)(argv, volume=vol, binary=STRACE,
                                           dir_option=False)


def server_side(vol):
    """Where to look at vol's files: the server's directory for a mount
    (sshfs caches listings and attributes), else the volume itself."""
    return getattr(vol, "server", vol.data)


def temps(vol):
    return sorted(n for n in os.listdir(server_side(vol)) if n.startswith(TEMP_PREFIX))


def keys_on(vol):
    """The complete, valid keys present: {NAME: text}."""
    found = {}
    root = server_side(vol)
    for name in os.listdir(root):
        if name.startswith(TEMP_PREFIX):
            continue
        assert name in SEMAPHORE, f"unexpected file {name}"
        data = (root / name).read_bytes()
        assert data.endswith(b"\n") and len(base64.b64decode(data[:-1], validate=True)) == 32, \
            f"{name} is not a complete key"
        assert (root / name).stat().st_mode & 0o777 == 0o600
        found[name] = data[:-1].decode()
    return found


def fingerprints_of(vol):
    return {name: fingerprint(text) for name, text in keys_on(vol).items()}


def init_states(result):
    """{NAME: (STATE, FINGERPRINT)} from init's output lines."""
    found = {}
    for line in result.stdout.splitlines():
        name, fp, state = line.split()
        found[name] = (state, fp)
    return found


def assert_agrees(vol, result):
    """A successful init kept exactly the keys on the volume."""
    assert result.returncode == 0, result.stderr
    got = {name: fp for name, (_, fp) in init_states(result).items()}
    assert sorted(got) == sorted(SEMAPHORE), result.stdout + result.stderr
    assert got == fingerprints_of(vol)


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_races_across_two_mounts(ns_static, hosts):
    """24 simultaneous starts, half on each host, 5 rounds: each key made
    once, every start exports it, nothing left over."""
    ns = ns_static
    for _ in range(RACE_ROUNDS):
        vols = hosts.key_dir(ns)
        procs = [ns.popen(ARGS, volume=vols["ab"[i % 2]]) for i in range(RACE_STARTS)]
        created = {}
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            result = ns.record(proc.returncode, out, err)
            assert_agrees(vols["a"], result)
            for name, (state, _) in init_states(result).items():
                created[name] = created.get(name, 0) + (state == "created")
        assert created == {name: 1 for name in SEMAPHORE}, created
        assert temps(vols["a"]) == []


@pytest.mark.parametrize("slowed", ["linkat:delay_enter=4000000:when=1",
                                    "fsync:delay_exit=4000000:when=1"],
                         ids=["before-link", "after-fsync"])
def test_slowed_creator_and_a_start_on_the_other_host(ns_static, hosts, slowed):
    """Host A has written its temporary file and is slowed down before
    publishing it; host B starts meanwhile. B must leave A's live file
    alone, and both must start with the same keys."""
    ns = ns_static
    vols = hosts.key_dir(ns)
    a = traced(ns, vols["a"], [slowed], popen=True)
    wait_for(lambda: temps(vols["a"]), "host A's temporary file")
    a_temp = temps(vols["a"])
    b = ns.run(ARGS, volume=vols["b"])
    assert a.poll() is None, "host A was not slowed for as long as host B ran"
    assert temps(vols["a"]) == a_temp, "host B removed host A's live temporary file"
    assert "removed a temporary file" not in b.stderr
    assert_agrees(vols["b"], b)
    out, err = a.communicate(timeout=60)
    assert_agrees(vols["a"], ns.record(a.returncode, out, err))
    assert temps(vols["a"]) == []


@pytest.mark.parametrize("meanwhile", ["nothing", "host B starts"])
def test_temporary_file_removed_under_a_live_start(ns_static, hosts, meanwhile):
    """Whatever happens to a temporary file, the start ends with the
    published key: host A is paused before link(2) and its file removed
    (as a start on a third host does when A was paused for longer than the
    age bound); A makes a new one, or takes the key B published."""
    ns = ns_static
    vols = hosts.key_dir(ns)
    a = traced(ns, vols["a"], ["linkat:delay_enter=3000000:when=1"], popen=True)
    wait_for(lambda: temps(vols["a"]), "host A's temporary file")
    for name in temps(vols["a"]):
        (vols["b"].data / name).unlink()  # through host B's mount
    if meanwhile == "host B starts":
        assert_agrees(vols["b"], ns.run(ARGS, volume=vols["b"]))
    out, err = a.communicate(timeout=60)
    result = ns.record(a.returncode, out, err)
    assert_agrees(vols["a"], result)
    first = init_states(result)[SEMAPHORE[0]][0]
    if meanwhile == "nothing":
        assert "trying again" in err and first == "created", err
    else:
        assert first == "loaded", err
    assert temps(vols["a"]) == []


def test_kills_on_one_host_while_the_other_starts(ns_static, hosts):
    """Host A is killed at a random moment of a slowed start while host B
    starts. B starts with whole keys; A's leftovers are never taken for
    keys, are kept while they are fresh (B cannot know A is dead) and are
    removed once they are older than the bound."""
    ns = ns_static
    # KEYSHIM_TEST_SEED=N replays a run; the seed is printed either way
    seed = os.environ.get("KEYSHIM_TEST_SEED") or os.environ.get("KEYSHIM_CRASH_SEED") \
        or str(time.time_ns())
    print(f"kills across hosts: KEYSHIM_TEST_SEED={seed}")
    rng = random.Random(seed)
    leftovers = rounds = 0
    # KILL_ROUNDS rounds, and more (at most 3x) until a kill has left a
    # temporary file: some seeds land every kill outside that window
    for rounds in range(1, 3 * KILL_ROUNDS + 1):
        if rounds > KILL_ROUNDS and leftovers:
            rounds -= 1
            break
        vols = hosts.key_dir(ns)
        delay = rng.randint(5000, 40000)
        a = traced(ns, vols["a"], [f"openat,fchmod,write,fsync,close,linkat,unlinkat:"
                                   f"delay_enter={delay}"], popen=True)
        pid = None
        deadline = time.monotonic() + 30
        while pid is None and a.poll() is None and time.monotonic() < deadline:
            pid = keyshim_pid(a.pid)
        # B starts once A is creating keys, and A dies at a random moment
        # of its ~20 remaining slowed calls
        wait_for(lambda: temps(vols["a"]) or a.poll() is not None, "host A creating keys")
        b = ns.popen(ARGS, volume=vols["b"])
        time.sleep(rng.uniform(0, 20 * delay / 1e6))
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it had finished
        out, err = a.communicate(timeout=60)
        ns.record(a.returncode, out, err)
        assert a.returncode in (0, 128 + signal.SIGKILL), err
        out, err = b.communicate(timeout=60)
        assert_agrees(vols["b"], ns.record(b.returncode, out, err))

        left = temps(vols["a"])  # only A's: B removes its own
        leftovers += bool(left)
        # the next start on either host: same keys, A's fresh files kept
        for host in "ab":
            again = ns.run(ARGS, volume=vols[host])
            assert_agrees(vols[host], again)
            assert all(s == "loaded" for s, _ in init_states(again).values())
        assert temps(vols["a"]) == left, "a fresh temporary file of another host was removed"
        if left:
            # later: once older than the bound by the filesystem's clock
            old = time.time() - MAX_AGE - 60
            for name in left:
                os.utime(vols["a"].server / name, (old, old))
            # (sshfs, like NFS, caches attributes for a while: the next
            # host to start, with cold caches, sees the new times)
            later = ns.run(["-v"] + ARGS, volume=vols["c"])  # -v: why a file is kept
            assert_agrees(vols["c"], later)
            assert later.stderr.count("removed a temporary file") == len(left), \
                (f"KEYSHIM_TEST_SEED={seed}", left, later.stderr)
            assert temps(vols["a"]) == []
    print("kill rounds leaving temporary files:", leftovers, "of", rounds)
    assert leftovers > 0, (f"KEYSHIM_TEST_SEED={seed}",
                           "no kill landed while a temporary file existed")


def test_check_and_init_from_both_hosts(ns_static, hosts):
    ns = ns_static
    vols = hosts.key_dir(ns)
    for host in "ab":
        assert ns.run(["-p", "semaphore", "check"], volume=vols[host]).returncode == 1
    made = ns.run(ARGS, volume=vols["b"])
    assert_agrees(vols["b"], made)
    for host in "ab":
        check = ns.run(["-p", "semaphore", "check"], volume=vols[host])
        assert check.returncode == 0, check.stderr
        init = ns.run(ARGS, volume=vols[host])
        assert_agrees(vols[host], init)
        assert init_states(init) == {n: ("loaded", fp) for n, (_, fp) in
                                     init_states(made).items()}


# ENOTSUP is EOPNOTSUPP on Linux (strace knows only that name)
ERRORS = ["EPERM", "EOPNOTSUPP", "EINVAL"]


@pytest.mark.parametrize("link_err", ERRORS)
@pytest.mark.parametrize("rename_err", ERRORS)
def test_refuses_where_neither_link_nor_noreplace_rename_works(ns, link_err, rename_err):
    """No hard links and no rename(RENAME_NOREPLACE): keyshim refuses to
    create keys (73) rather than publish them in any weaker way."""
    vol = ns.volume()
    result = traced(ns, vol, [f"linkat:error={link_err}", f"renameat2:error={rename_err}"])
    assert result.returncode == 73, result.stderr
    assert "neither link(2)" in one_line(result.stderr)
    assert vol.files() == []
    assert_agrees(vol, ns.run(ARGS, volume=vol))


def test_refuses_on_sshfs_without_hard_links(ns_static, hosts):
    """sshfs answers rename(RENAME_NOREPLACE) with EINVAL for real: were the
    server's hard-link extension missing (link fails), keyshim refuses."""
    ns = ns_static
    vols = hosts.key_dir(ns)
    result = traced(ns, vols["a"], ["linkat:error=EPERM"])
    assert result.returncode == 73, result.stderr
    assert "neither link(2) (Operation not permitted) nor rename without replacing " \
        "(Invalid argument)" in one_line(result.stderr)
    assert os.listdir(vols["a"].server) == []


def test_error_from_link_once_another_host_published(ns_static, hosts):
    """Host A's link(2) fails (EIO: say the reply was lost) after host B
    published the key: A takes B's key rather than failing."""
    ns = ns_static
    vols = hosts.key_dir(ns)
    a = traced(ns, vols["a"], ["linkat:error=EIO:delay_enter=3000000:when=1"], popen=True)
    wait_for(lambda: temps(vols["a"]), "host A's temporary file")
    b = ns.run(ARGS, volume=vols["b"])
    assert a.poll() is None, "host A was not slowed for as long as host B ran"
    assert_agrees(vols["b"], b)
    out, err = a.communicate(timeout=60)
    result = ns.record(a.returncode, out, err)
    assert_agrees(vols["a"], result)
    assert all(s == "loaded" for s, _ in init_states(result).values())
    assert temps(vols["a"]) == []


def foreign_temp(vol, name, age):
    """A temporary file as another host's start leaves it: another boot id
    in its name, last written `age` seconds ago."""
    path = vol.data / f"{TEMP_PREFIX}{SEMAPHORE[0]}-0123456789abcdef-{name}"
    path.write_text("not a key\n")
    path.chmod(0o600)
    when = time.time() - age
    os.utime(path, (when, when))
    return path.name


def test_another_boots_temporary_file_on_a_local_volume(ns):
    """On a local filesystem, under the lock, a temporary file of this boot
    is removed at once (test_crash.py), but one named for another boot (a
    host that shares the disk through an NFS or SMB export, or this host
    before a reboot) only once it is older than the bound."""
    vol = ns.volume()
    young = foreign_temp(vol, "0000000000000001", 60)
    old = foreign_temp(vol, "0000000000000002", MAX_AGE + 60)
    first = ns.run(ARGS, volume=vol)
    assert_agrees(vol, first)
    assert temps(vol) == [young], first.stderr
    assert first.stderr.count("removed a temporary file") == 1
    # and in a start that writes nothing (key_dir_tidy)
    old = foreign_temp(vol, "0000000000000003", MAX_AGE + 60)
    second = ns.run(ARGS, volume=vol)
    assert_agrees(vol, second)
    assert temps(vol) == [young], second.stderr
    assert old in second.stderr and "removed a temporary file" in second.stderr
