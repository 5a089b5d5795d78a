"""The first run on a bare machine (issue 10): scripts/build, then
scripts/build --arch arm64, in a throwaway Debian root made by debootstrap,
where apt knows no source package and no foreign architecture, none of the
build tools is installed and no deb-src entry exists.

The root's mirror is this machine's own (apt-get indextargets): nothing here
names one. debootstrap's packages are kept in .deps/ (a tarball, written
whole or not at all, keyed by mirror, release and architecture) so that a
second run skips the download; without it (a fresh clone) the test fetches
them, and a tarball that no longer works is dropped and fetched again.
"""

import hashlib
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT

# What scripts/build needs from a clone (meson.build names tests/unit).
CLONE = ["scripts", "shim", "tests/unit", "meson.build", "meson_options.txt"]


def os_release(root="/"):
    fields = {}
    for line in pathlib.Path(root, "etc/os-release").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key] = value.strip('"')
    return fields


def host_mirror(codename):
    """The URI of this machine's own `deb` source for `codename`."""
    out = subprocess.run(
        ["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE) $(TARGET_OF)",
         "Created-By: Packages"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        uri, release, kind = line.split()
        if release == codename and kind == "deb":
            return uri
    return None


def debootstrap(root, codename, mirror):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True, check=True).stdout.strip()
    key = hashlib.sha256(f"{mirror} {codename} {arch}".encode()).hexdigest()[:12]
    tarball = ROOT / ".deps" / f"debootstrap-{codename}-{arch}-{key}.tgz"
    base = ["debootstrap", "--variant=minbase", f"--arch={arch}"]
    if not tarball.exists():
        tarball.parent.mkdir(exist_ok=True)
        partial = tarball.with_suffix(f".partial{os.getpid()}")
        made = subprocess.run(base + [f"--make-tarball={partial}", codename,
                                      str(root / "make"), mirror],
                              capture_output=True, text=True, timeout=600)
        shutil.rmtree(root / "make", ignore_errors=True)
        if made.returncode != 0:
            partial.unlink(missing_ok=True)
            raise AssertionError(f"debootstrap --make-tarball failed:\n{made.stdout[-2000:]}"
                                 f"{made.stderr[-2000:]}")
        os.replace(partial, tarball)
    target = root / "root"
    done = subprocess.run(base + [f"--unpack-tarball={tarball}", codename, str(target), mirror],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        # A tarball from an older point release, or a damaged one: once
        # more, straight from the mirror, and forget the tarball.
        tarball.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        done = subprocess.run(base + [codename, str(target), mirror],
                              capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return target


def installed(root, package):
    status = (root / "var/lib/dpkg/status").read_text()
    return any(stanza.startswith(f"Package: {package}\n") and
               "Status: install ok installed" in stanza
               for stanza in status.split("\n\n"))


def test_scripts_build_works_first_time_in_a_bare_debian_root(tmp_path):
    release = os_release()
    codename = release.get("VERSION_CODENAME")
    if release.get("ID") != "debian" or not codename:
        pytest.skip("debootstrap makes a Debian root; this host is not Debian")
    mirror = host_mirror(codename)
    if not mirror:
        pytest.skip(f"this machine has no deb source for {codename} to build a root from")
    root = debootstrap(tmp_path, codename, mirror)

    # The state the issue describes: no source index, no deb-src entry,
    # none of the build tools.
    lists = root / "var/lib/apt/lists"
    assert not [p.name for p in lists.iterdir() if "Sources" in p.name]
    assert "deb-src" not in (root / "etc/apt/sources.list").read_text()
    for tool in ["gcc", "musl-tools", "meson", "autoconf", "dpkg-dev", "file",
                 "qemu-user-static"]:
        assert not installed(root, tool), tool
    assert not (root / "var/lib/dpkg/arch").exists() or \
        "arm64" not in (root / "var/lib/dpkg/arch").read_text()

    src = root / "src"
    src.mkdir()
    for path in CLONE:
        copy = shutil.copytree if (ROOT / path).is_dir() else shutil.copy2
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        copy(ROOT / path, src / path)
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")

    # In a private mount namespace, so /proc goes away with it.
    result = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c",
         'mount -t proc proc "$1/proc" && mount -t devpts devpts "$1/dev/pts" && exec chroot "$1" /bin/sh -c "cd /src && scripts/build && scripts/build --arch arm64"',
         "sh", str(root)],
        capture_output=True, text=True, timeout=1200,
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME": "/root"})
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    binary = src / "dist" / "keyshim"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("keyshim "), version
    arm64 = src / "dist" / "keyshim-arm64"
    assert arm64.read_bytes()[18] == 183, "dist/keyshim-arm64 is not aarch64 (EM_AARCH64)"
    version = subprocess.run(["qemu-aarch64-static", str(arm64), "--version"],
                             capture_output=True, text=True)
    assert version.stdout.startswith("keyshim "), version
    # The deb-src entry it wrote follows the root's own deb line.
    entry = (root / "etc/apt/sources.list.d/keyshim-src.sources").read_text()
    deb_uri = (root / "etc/apt/sources.list").read_text().split()[1]
    assert f"URIs: {deb_uri}\n" in entry and "Types: deb-src\n" in entry, entry
