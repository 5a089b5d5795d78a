"""Presets are data: `keyshim presets`, --help, the manual page and the
README's table all say the same, so they cannot drift apart."""

import re
import subprocess

from conftest import ROOT, STATIC_BIN


def presets_output():
    result = subprocess.run([str(STATIC_BIN), "presets"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line.split(" ") for line in result.stdout.splitlines()]


def readme_table():
    text = (ROOT / "README.md").read_text()
    section = text.split("### Presets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_presets_lists_every_key_with_its_columns():
    lines = presets_output()
    assert all(len(line) == 7 for line in lines), lines
    keys = {(line[0], line[1]): line[2:] for line in lines}
    assert keys[("airflow", "AIRFLOW__CORE__FERNET_KEY")][:4] == ["base64url", "32", "data", "fernet"]
    assert keys[("airflow", "AIRFLOW__API__SECRET_KEY")][:3] == ["base64", "64", "session"]
    assert keys[("semaphore", "SEMAPHORE_ACCESS_KEY_ENCRYPTION")][2] == "data"
    assert {"semaphore", "airflow", "airflow2"} <= {line[0] for line in lines}


def test_readme_table_is_the_presets_output():
    assert readme_table() == presets_output()


def test_help_and_manual_page_name_every_preset():
    names = sorted({line[0] for line in presets_output()})
    help_text = subprocess.run([str(STATIC_BIN), "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    manual = (ROOT / "keyshim.1").read_text()
    for name in names:
        assert re.search(rf"\b{name}\b", help_text), name
        assert re.search(rf"\b{name}\b", manual), name
    assert "keyshim presets" in help_text
    assert ".B presets" in manual
