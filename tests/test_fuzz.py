"""Short libFuzzer runs of every harness in tests/fuzz/ (ASan+UBSan build,
build/asan/fuzz-NAME), each from its seed corpus in tests/fuzz/corpus/NAME
copied to a temporary directory so the repository stays as it is.
scripts/fuzz runs them for longer.

Each harness compares keyshim's parser with a second, naive reading
(tests/fuzz/naive.h and the harness itself, no code shared with shim/) and
prints at exit what it compared: `oracle NAME: compared N OUTCOME=COUNT...`.
A run counts only if the oracle saw every outcome (accepted and refused,
found and not found...): a harness that stopped comparing fails here."""

import re
import shutil
import subprocess

import pytest

from conftest import ROOT

HARNESSES = sorted(p.stem[len("fuzz_"):] for p in (ROOT / "tests" / "fuzz").glob("fuzz_*.c"))
SECONDS = 6  # each; seven harnesses make about 45 s


def test_every_harness_has_seeds():
    corpora = sorted(p.name for p in (ROOT / "tests" / "fuzz" / "corpus").iterdir())
    assert corpora == HARNESSES
    for name in corpora:
        assert len(list((ROOT / "tests" / "fuzz" / "corpus" / name).iterdir())) >= 3, name


@pytest.mark.parametrize("harness", HARNESSES)
def test_fuzz(harness, tmp_path):
    binary = ROOT / "build" / "asan" / f"fuzz-{harness}"
    assert binary.exists(), f"{binary} is missing: add '{harness}' to the fuzz harnesses " \
                            "in meson.build and rebuild build/asan"
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "tests" / "fuzz" / "corpus" / harness, corpus)
    seeds = len(list(corpus.iterdir()))
    result = subprocess.run(
        [str(binary), f"-max_total_time={SECONDS}", "-rss_limit_mb=1024", "-timeout=10",
         "-print_final_stats=1", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 120, cwd=tmp_path)
    tail = result.stderr[-3000:]
    assert result.returncode == 0, tail
    artifacts = [p.name for p in tmp_path.iterdir()
                 if p.name.split("-")[0] in ("crash", "leak", "timeout", "oom", "slow")]
    assert artifacts == [], tail
    assert "Done " in result.stderr, tail
    # it ran the seeds and then mutated them: more inputs than seeds
    runs = int(result.stderr.rsplit("Done ", 1)[1].split()[0])
    assert runs > seeds, tail
    # and the oracle compared inputs of every outcome
    found = re.findall(rf"^oracle {harness}: compared (\d+)((?: \w+=\d+)+)$", result.stderr, re.M)
    assert found, f"fuzz-{harness} printed no oracle line: {tail}"
    compared, outcomes = int(found[-1][0]), dict(
        (k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", found[-1][1]))
    print(f"fuzz-{harness}: {runs} runs; oracle compared {compared}: {outcomes}")
    assert compared > 0 and len(outcomes) >= 2, outcomes
    assert all(count > 0 for count in outcomes.values()), \
        f"the oracle never saw some outcome: {outcomes}"
