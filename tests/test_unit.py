"""The C unit tests (tests/unit/unit_tests.c), in both builds."""

import subprocess

import pytest

from conftest import ROOT


@pytest.mark.parametrize("build", ["release", "asan"])
def test_unit_tests_pass(build):
    binary = ROOT / "build" / build / "unit-tests"
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout
