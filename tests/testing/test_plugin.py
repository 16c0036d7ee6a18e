"""The pytest plugin: the fixture, the verdicts, the failure message, pytest-trio, and the
example a kernel developer copies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zonesim.testing import ZonesimAssertion, ZonesimFixture, check

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "scenarios" / "seed"
CMA_B = SEED / "cma-b-partial-isolation.toml"
EXAMPLE = ROOT / "docs" / "examples" / "test_my_design.py"
ALLOC_FREE = (ROOT / "tests" / "matrix" / "data" / "pass" / "alloc-free.toml").read_text()


def test_the_fixture_comes_from_the_entry_point(zonesim: ZonesimFixture) -> None:
    # no conftest defines it: pytest loaded it through the pytest11 entry point
    assert isinstance(zonesim, ZonesimFixture)
    out = zonesim.check(CMA_B, policy="rfc-v1", expect="violation:I5a")
    assert out.verdict == "violation" and out.invariant == "I5a_isolated_not_allocatable"


def test_a_wrong_verdict_fails_with_the_report(zonesim: ZonesimFixture) -> None:
    with pytest.raises(ZonesimAssertion) as info:
        zonesim.check(CMA_B, policy="rfc-v1", expect="pass")
    msg = str(info.value)
    assert "expected pass, got violation I5a_isolated_not_allocatable" in msg
    assert "Interleaving:" in msg and "CPU0" in msg and "CPU1" in msg  # the diagram
    replay = next(line for line in msg.splitlines() if "replay   zonesim replay" in line)
    artifact = Path(replay.split("zonesim replay ", 1)[1])
    assert artifact.is_file() and artifact.parent == zonesim.artifacts


def test_inline_toml_and_a_pass_that_was_expected_to_fail(tmp_path: Path) -> None:
    out = check(ALLOC_FREE, policy="v5.15", expect="pass", executions=20, artifacts=tmp_path)
    assert out.verdict == "pass" and out.report is not None
    with pytest.raises(ZonesimAssertion, match=r"(?s)expected violation, got pass .*No violation"):
        check(ALLOC_FREE, policy="v5.15", expect="violation", executions=20,
              artifacts=tmp_path)


def test_bad_expectation_is_bad_input(tmp_path: Path) -> None:
    from zonesim import BadInput

    with pytest.raises(BadInput, match="expected pass, violation"):
        check(ALLOC_FREE, expect="passes", executions=5, artifacts=tmp_path)


async def test_under_pytest_trio(zonesim: ZonesimFixture) -> None:
    """trio_mode: an async test awaits acheck (each execution is a trio.run of its own, in
    a worker thread); the sync check says so instead of failing obscurely."""
    out = await zonesim.acheck(CMA_B, policy="rfc-v1", expect="violation:I5a")
    assert out.invariant == "I5a_isolated_not_allocatable"
    with pytest.raises(RuntimeError, match=r"await zonesim\.acheck"):
        zonesim.check(CMA_B, policy="rfc-v1", expect="violation")


def _copy_example(tmp_path: Path, design: str) -> Path:
    """The example as a user would copy it: beside a scenarios/ directory."""
    d = tmp_path / "proj"
    (d / "docs" / "examples").mkdir(parents=True)
    shutil.copytree(ROOT / "scenarios", d / "scenarios")
    text = EXAMPLE.read_text()
    assert 'MY_DESIGN = "v5.15"' in text
    (d / "docs" / "examples" / EXAMPLE.name).write_text(
        text.replace('MY_DESIGN = "v5.15"', f'MY_DESIGN = "{design}"'))
    return d


def _pytest(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-q", str(d / "docs" / "examples" / EXAMPLE.name), *args],
        cwd=d, capture_output=True, text=True, timeout=600, check=False)


def test_the_example_fails_with_the_diagram_when_the_design_is_wrong(tmp_path: Path) -> None:
    r = _pytest(_copy_example(tmp_path, "rfc-v1"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "expected pass, got violation I5a_isolated_not_allocatable" in r.stdout
    assert "Interleaving:" in r.stdout and "CPU0" in r.stdout
    assert "zonesim replay " in r.stdout
    assert "2 failed" in r.stdout


@pytest.mark.slow
def test_the_example_passes_as_shipped() -> None:
    """The README's promise: `pytest docs/examples/test_my_design.py` passes (about 45 s:
    the scenarios' own budgets)."""
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "-o", "addopts=", "-q",
                        str(EXAMPLE)], cwd=ROOT, capture_output=True, text=True, timeout=900,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
