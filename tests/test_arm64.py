"""The arm64 build, dist/keyshim-arm64 (scripts/build --arch arm64).

Under qemu-aarch64-static it runs the unit tests (test_unit.py) and, as
the `arm64` parameter of the `ns` fixture (conftest.py), every test that
takes `ns` (core, hostile user, existing deployments, consumers, services,
several hosts, privileges), but strace's fault injection
(skip_under_emulation). Here: that the file is what an arm64 image needs,
which suites cannot run under emulation and why, and an arm64 image FROM
scratch run by podman through binfmt_misc.
"""

import os
import subprocess
import uuid

import pytest

from conftest import ARM64_BIN, ROOT, SEMAPHORE, fingerprint

CONTAINERS_CONF = ROOT / "tests" / "containers" / "containers.conf"
BINFMT = "/proc/sys/fs/binfmt_misc"
EM_AARCH64 = 183


def elf_facts(path):
    """(machine, static, stripped) from the ELF headers, read by hand so
    that nothing on the host needs to understand aarch64."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LSB ELF"

    def u(off, size):
        return int.from_bytes(data[off:off + size], "little")

    machine = u(18, 2)
    phoff, shoff = u(32, 8), u(40, 8)
    phentsize, phnum, shentsize, shnum = u(54, 2), u(56, 2), u(58, 2), u(60, 2)
    PT_DYNAMIC, PT_INTERP, SHT_SYMTAB = 2, 3, 2
    ptypes = {u(phoff + i * phentsize, 4) for i in range(phnum)}
    stypes = {u(shoff + i * shentsize + 4, 4) for i in range(shnum)}
    return machine, not ptypes & {PT_DYNAMIC, PT_INTERP}, SHT_SYMTAB not in stypes


def test_arm64_binary_is_static_stripped_aarch64():
    if not ARM64_BIN.exists():
        pytest.fail(f"{ARM64_BIN} is missing: run scripts/build --arch arm64")
    assert elf_facts(ARM64_BIN) == (EM_AARCH64, True, True)
    # and the checker can tell: the unstripped build keeps its symbols
    unstripped = ROOT / "build" / "release-arm64" / "keyshim"
    assert elf_facts(unstripped) == (EM_AARCH64, True, False)


# Suites that do not take the arm64 build, and why (measured: run under
# qemu-aarch64-static, these fail for reasons that are qemu's, not keyshim's).
NOT_UNDER_EMULATION = {
    "test_faults.py": "strace injects faults into the system calls it sees, which "
                      "are qemu's own (mmap, futex, its translation of each call), "
                      "not keyshim's",
    "test_crash.py": "it kills keyshim before each of its system calls as strace "
                     "counts them, and qemu makes different ones",
    "test_valgrind.py": "valgrind cannot run an aarch64 binary on this host, nor "
                        "qemu's translated code",
    "test_supervise.py": "under qemu-user orphans are not reparented to the -g "
                         "supervisor, and /proc/PID/mem shows qemu's own copies of "
                         "the environment it passes to execve",
    "test_fuzz.py": "libFuzzer harnesses are built with clang for the host",
}


@pytest.mark.parametrize("suite", sorted(NOT_UNDER_EMULATION))
def test_suite_not_under_emulation(suite):
    assert (ROOT / "tests" / suite).exists(), f"{suite} is gone: update NOT_UNDER_EMULATION"
    pytest.skip(f"{suite} on arm64: {NOT_UNDER_EMULATION[suite]}")


# --- an arm64 image FROM scratch, run by podman ------------------------------

def sh(args, timeout=120, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF)))
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def enable_binfmt():
    """Mount binfmt_misc and enable qemu-aarch64 (Debian's qemu-user-static
    registers it with the F flag: the kernel opens the interpreter once, so
    it works inside a container's root), or skip saying why not."""
    if not os.path.exists(f"{BINFMT}/status"):
        mount = sh(["mount", "-t", "binfmt_misc", "binfmt_misc", BINFMT], check=False)
        if mount.returncode != 0:
            pytest.skip(f"binfmt_misc cannot be mounted here: {mount.stderr.strip()}")
    entry = f"{BINFMT}/qemu-aarch64"
    if not os.path.exists(entry) or "enabled" not in open(entry).read().split("\n")[0]:
        enable = sh(["update-binfmts", "--enable", "qemu-aarch64"], check=False)
        if enable.returncode != 0 or not os.path.exists(entry):
            pytest.skip(f"qemu-aarch64 cannot be enabled in binfmt_misc: "
                        f"{enable.stderr.strip() or 'no entry after update-binfmts'}")
    text = open(entry).read()
    if "flags: " not in text or "F" not in text.split("flags: ")[1].split("\n")[0]:
        pytest.skip("qemu-aarch64 is registered without the F (fix binary) flag: "
                    "a container's root has no interpreter to load")


def test_arm64_image_from_scratch_keeps_keys(tmp_path):
    """podman builds a linux/arm64 image holding only dist/keyshim-arm64,
    runs it (the kernel hands it to qemu through binfmt_misc), and the keys
    it made on the volume are loaded, unchanged, by the next container."""
    if not ARM64_BIN.exists():
        pytest.fail(f"{ARM64_BIN} is missing: run scripts/build --arch arm64")
    if sh(["podman", "info"], check=False, timeout=60).returncode != 0:
        pytest.skip("podman does not work here (`podman info` failed)")
    enable_binfmt()

    context = tmp_path / "context"
    context.mkdir()
    (context / "keyshim").write_bytes(ARM64_BIN.read_bytes())
    os.chmod(context / "keyshim", 0o755)
    (context / "Containerfile").write_text(
        "FROM scratch\nCOPY keyshim /keyshim\nENTRYPOINT [\"/keyshim\"]\n")
    image = f"localhost/keyshim-test/keyshim-arm64:{uuid.uuid4().hex[:12]}"
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    sh(["podman", "build", "--platform", "linux/arm64", "-t", image, str(context)], timeout=300)
    try:
        arch = sh(["podman", "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", image])
        assert arch.stdout.strip() == "linux/arm64"
        run = ["podman", "run", "--rm", "--pull=never", "--network", "none",
               "--platform", "linux/arm64", "-v", f"{keys}:/var/lib/keyshim", image,
               "-p", "semaphore", "-d", "/var/lib/keyshim"]
        first = sh(run + ["init"])
        rows = {r.split()[0]: r.split()[1:] for r in first.stdout.splitlines()}
        assert sorted(rows) == sorted(SEMAPHORE), first.stdout
        assert {state for _, state in rows.values()} == {"created"}, first.stdout
        assert {p.name: fingerprint(p.read_text().rstrip("\n")) for p in keys.iterdir()} == \
            {name: fp for name, (fp, _) in rows.items()}
        # exec mode: the service is the arm64 binary itself, reached by execve
        second = sh(run + ["--", "/keyshim", "--version"])
        assert second.stdout.startswith("keyshim "), second.stdout
        again = sh(run + ["init"])
        assert {r.split()[0]: r.split()[1:] for r in again.stdout.splitlines()} == \
            {name: [fp, "loaded"] for name, (fp, _) in rows.items()}, again.stdout
        for out in (first, second, again):
            for p in keys.iterdir():
                assert p.read_text().strip() not in out.stdout + out.stderr
    finally:
        sh(["podman", "rmi", "-f", image], check=False)
