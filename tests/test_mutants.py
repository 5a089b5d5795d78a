"""The mutation catalogue cannot rot: every tests/mutants/*.patch names the
README promise it breaks and a fast first pass of tests, still applies
cleanly to shim/, and between them they cover every README section under
"How keys are kept", "Users" and "PID 1". scripts/mutate runs them (slow,
not in the suite)."""

import re
import shlex
import subprocess

import pytest

from conftest import ROOT

MUTANTS = sorted((ROOT / "tests" / "mutants").glob("*.patch"))


def header(patch):
    head = patch.read_text().split("\ndiff --git ", 1)[0]
    return dict(re.findall(r"^(Promise|Tests): (.+)$", head, re.M))


def test_catalogue_is_not_empty():
    assert len(MUTANTS) >= 25


@pytest.mark.parametrize("patch", MUTANTS, ids=[p.stem for p in MUTANTS])
def test_mutant_applies_and_names_its_promise(patch):
    fields = header(patch)
    assert "Promise" in fields and "Tests" in fields, f"{patch.name}: Promise:/Tests: header"
    for arg in shlex.split(fields["Tests"]):
        if arg.startswith("tests/"):
            assert (ROOT / arg.split("::")[0]).exists(), f"{patch.name}: Tests: names {arg}"
    files = re.findall(r"^diff --git a/(\S+) b/", patch.read_text(), re.M)
    assert files and all(f.startswith("shim/") for f in files), files
    result = subprocess.run(["patch", "-p1", "--dry-run", "-s", "-d", str(ROOT), "-i", str(patch)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"{patch.name} no longer applies: {result.stdout}{result.stderr}"


def readme_sections():
    """The bold bullet titles under "How keys are kept", and the two
    sections "Users" and "PID 1"."""
    text = (ROOT / "README.md").read_text()
    kept = text.split("## How keys are kept", 1)[1].split("\n## ", 1)[0]
    titles = re.findall(r"^- \*\*(.+?)\.?\*\*", kept, re.M)
    assert len(titles) >= 5, titles
    return [f"How keys are kept: {t.rstrip('.')}" for t in titles] + ["Users", "PID 1"]


@pytest.mark.parametrize("section", readme_sections())
def test_every_readme_section_has_a_mutant(section):
    promises = [header(p).get("Promise", "") for p in MUTANTS]
    assert any(p.startswith(section) for p in promises), f"no mutant breaks '{section}'"
