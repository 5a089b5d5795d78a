"""-u USER[:GROUP] (issue 4): as root in fresh namespaces, keyshim makes
or hands over the keys for the target user, then drops to it for good;
lookups, refusals and the owner rules of key files."""

import os
import re

import pytest

from conftest import SEMAPHORE, fingerprint, states

# What the service reports: its ids, then each key's fingerprint.
REPORT = ("grep -E '^(Uid|Gid|Groups):' /proc/self/status; "
          + "; ".join(f'printf "%s " {n}; printf %s "${n}" | b2sum -l 64 | cut -d" " -f1'
                      for n in SEMAPHORE))


def ids(out):
    """{'Uid': [...], 'Gid': [...], 'Groups': [...]} from /proc/.../status lines."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"(Uid|Gid|Groups):(.*)", line)
        if m:
            found[m.group(1)] = m.group(2).split()
    return found


def service_fingerprints(out):
    return {n: fp for n, fp in (line.split() for line in out.splitlines()
                                if line.split() and line.split()[0] in SEMAPHORE)}


def logged(err, state):
    """NAME -> FINGERPRINT of keyshim's log lines in that state."""
    return {name: fp for name, (got, fp) in states(err).items() if got == state}


def run_service(ns, vol, user, script=REPORT, args=(), **kwargs):
    return ns.run(["-p", "semaphore", "-u", user, *args, "--", "sh", "-c", script],
                  volume=vol, **kwargs)


def test_numeric_ids_and_a_new_subdirectory(ns):
    vol = ns.volume()
    keydir = vol.mnt / "keys"
    args = ["-d", str(keydir), "-p", "semaphore", "-u", "1001:1001", "--", "sh", "-c", REPORT]
    first = ns.run(args, volume=vol, dir_option=False)
    assert first.returncode == 0, first.stderr
    seen = ids(first.stdout)
    assert seen["Uid"] == ["1001"] * 4 and seen["Gid"] == ["1001"] * 4, seen
    assert seen["Groups"] == [], seen  # an explicit group: no supplementary ones

    made = vol.data / "keys"
    st = made.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1001, 1001, 0o700)
    for name in SEMAPHORE:
        st = (made / name).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1001, 1001, 0o600)
    created = logged(first.stderr, "created")
    assert sorted(created) == sorted(SEMAPHORE)
    assert service_fingerprints(first.stdout) == created
    assert created == {n: fingerprint((made / n).read_text().strip()) for n in SEMAPHORE}

    again = ns.run(args, volume=vol, dir_option=False)
    assert again.returncode == 0, again.stderr
    assert logged(again.stderr, "loaded") == created
    assert service_fingerprints(again.stdout) == created


def test_root_cannot_be_regained(ns):
    script = ("setpriv --reuid 0 --regid 0 true 2>/dev/null; echo setpriv=$?; "
              "/usr/bin/python3 -c 'import os\ntry:\n os.setuid(0); print(\"setuid=ok\")\n"
              "except PermissionError: print(\"setuid=refused\")'; "
              "grep '^Uid:' /proc/self/status")
    result = run_service(ns, ns.volume(), "1001:1001", script)
    assert result.returncode == 0, result.stderr
    assert "setpriv=0" not in result.stdout and "setpriv=" in result.stdout
    assert "setuid=refused" in result.stdout
    assert ids(result.stdout)["Uid"] == ["1001"] * 4


def test_user_name_gets_its_groups(ns, tmp_path):
    passwd, group = tmp_path / "passwd", tmp_path / "group"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\n"
                      "svc:x:2001:2001:service:/nonexistent:/bin/sh\n")
    group.write_text("root:x:0:\nsvc:x:2001:\nextra:x:2002:svc\nother:x:2003:root\n")
    setup = f"mount --bind {passwd} /etc/passwd; mount --bind {group} /etc/group"
    vol = ns.volume()
    result = run_service(ns, vol, "svc", setup=setup)
    assert result.returncode == 0, result.stderr
    seen = ids(result.stdout)
    assert seen["Uid"] == ["2001"] * 4 and seen["Gid"] == ["2001"] * 4, seen
    assert sorted(seen["Groups"]) == ["2001", "2002"], seen  # getgrouplist()
    assert {(vol.data / n).stat().st_uid for n in SEMAPHORE} == {2001}


@pytest.mark.parametrize("user,code", [
    ("nosuchuser", 67),
    ("1001:nosuchgroup", 67),
    ("4242", 67),  # a uid without a passwd entry, and no group to use
    (":", 64),
    ("a:", 64),
    (":1001", 64),
])
def test_bad_user_is_refused_before_anything_is_written(ns, user, code):
    vol = ns.volume()
    result = run_service(ns, vol, user, "echo RAN")
    assert result.returncode == code, result.stderr
    assert "RAN" not in result.stdout
    assert "-u" in result.stderr
    assert vol.files() == []


def as_uid_1234(tmp_path, binary):
    """A wrapper that starts keyshim as uid/gid 1234, without groups."""
    wrapper = tmp_path / "as-1234"
    wrapper.write_text("#!/bin/sh\nexec setpriv --reuid 1234 --regid 1234 --clear-groups "
                       f'{binary} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def test_non_root_cannot_switch_user(ns, tmp_path):
    vol = ns.volume()
    result = run_service(ns, vol, "1001:1001", "echo RAN",
                         binary=as_uid_1234(tmp_path, ns.binary))
    assert result.returncode == 77, result.stderr
    assert "needs root" in result.stderr and "1234" in result.stderr
    assert "RAN" not in result.stdout and vol.files() == []


def test_non_root_naming_itself_is_a_no_op(ns, tmp_path):
    vol = ns.volume()
    vol.data.chmod(0o700)
    os.chown(vol.data, 1234, 1234)
    # uid 1234 cannot walk into pytest's root-only tmp: show it the volume
    # at /mnt (private mount namespace: nothing outside changes).
    result = ns.run(["-d", "/mnt", "-p", "semaphore", "-u", "1234:1234", "--", "sh", "-c", REPORT],
                    volume=vol, dir_option=False, setup=f"mount --bind {vol.mnt} /mnt",
                    binary=as_uid_1234(tmp_path, ns.binary))
    assert result.returncode == 0, result.stderr
    assert ids(result.stdout)["Uid"] == ["1234"] * 4
    assert {(vol.data / n).stat().st_uid for n in SEMAPHORE} == {1234}
    assert service_fingerprints(result.stdout) == logged(result.stderr, "created")


def keys_for(ns, vol, user=None):
    """Make the keys as root, for user (None: root's own)."""
    args = ["-p", "semaphore"] + (["-u", user] if user else []) + ["init"]
    result = ns.run(args, volume=vol)
    assert result.returncode == 0, result.stderr
    table = dict(re.findall(r"^(\S+) ([0-9a-f]{16}) created$", result.stdout, re.M))
    assert sorted(table) == sorted(SEMAPHORE), result.stdout
    return table


def test_keys_of_another_user_are_refused(ns):
    vol = ns.volume()
    keys_for(ns, vol, "1002:1002")
    before = vol.snapshot()
    result = run_service(ns, vol, "1001:1001", "echo RAN")
    assert result.returncode == 77, result.stderr
    assert "owned by uid 1002" in result.stderr and "RAN" not in result.stdout
    assert vol.snapshot() == before


def test_root_owned_keys_are_handed_over(ns):
    """Root running -u 1001 on root's keys: fixing ownership on purpose."""
    vol = ns.volume()
    made = keys_for(ns, vol)
    assert {(vol.data / n).stat().st_uid for n in SEMAPHORE} == {0}
    result = run_service(ns, vol, "1001:1001")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("handed from root to uid 1001") == 3
    assert logged(result.stderr, "loaded") == made
    assert service_fingerprints(result.stdout) == made
    for name in SEMAPHORE:
        st = (vol.data / name).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1001, 1001, 0o600)


def test_root_without_u_refuses_a_users_keys(ns):
    vol = ns.volume()
    keys_for(ns, vol, "1001:1001")
    before = vol.snapshot()
    result = ns.run(["-p", "semaphore", "--", "sh", "-c", "echo RAN"], volume=vol)
    assert result.returncode == 77, result.stderr
    assert "owned by uid 1001" in result.stderr and "-u 1001" in result.stderr
    assert "RAN" not in result.stdout and vol.snapshot() == before


def test_supervisor_drops_too(ns):
    script = "grep '^Uid:' /proc/1/status; " + REPORT
    result = run_service(ns, ns.volume(), "1001:1001", script, args=["-g"])
    assert result.returncode == 0, result.stderr
    lines = [line.split()[1:] for line in result.stdout.splitlines() if line.startswith("Uid:")]
    assert lines == [["1001"] * 4, ["1001"] * 4], lines  # PID 1 (keyshim), then the service
