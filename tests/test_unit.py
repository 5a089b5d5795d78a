"""The C unit tests (tests/unit/unit_tests.c), in every build (arm64 under qemu)."""

import subprocess

import pytest

from conftest import ROOT


@pytest.mark.parametrize("build", ["release", "asan", "release-arm64"])
def test_unit_tests_pass(build):
    binary = ROOT / "build" / build / "unit-tests"
    # The arm64 build (scripts/build --arch arm64) runs under emulation.
    runner = ["qemu-aarch64-static"] if build.endswith("-arm64") else []
    result = subprocess.run(runner + [str(binary)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout
