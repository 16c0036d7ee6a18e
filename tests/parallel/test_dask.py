"""Dask distributed (DESIGN.md §11): the same work units on a LocalCluster with two worker
processes give the same findings and trace_hash as --workers 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from zonesim import Engine, StrategyConfig, explore, load_scenario, parse_policy
from zonesim.cli import main
from zonesim.matrix import Budget, columns_for, run_matrix

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a LocalCluster takes seconds to start and stop

ROOT = Path(__file__).resolve().parents[2]
DRAIN = ROOT / "scenarios" / "stress" / "drain-races-alloc.toml"
FOREIGN = ROOT / "scenarios" / "findings" / "foreign-undo.toml"
CMA_C = ROOT / "scenarios" / "seed" / "cma-c-concurrent.toml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.mark.parametrize("path,policy,strategy,n", [
    (DRAIN, "v5.15", "pct", 40),
    (CMA_C, "rfc-v1", "pct", 100),
    (FOREIGN, "v5.19", "dfs", 50),
], ids=["pct-pass", "pct-violation", "dfs-violation"])
def test_local_cluster_reports_what_one_worker_reports(cluster: str, path: Path, policy: str,
                                                       strategy: str, n: int) -> None:
    docs = []
    for kw in ({"workers": 1}, {"cluster": cluster}):
        e = Engine(load_scenario(path), parse_policy(policy))
        r = explore(e, StrategyConfig(strategy, 2), executions=n, artifacts=None,
                    **kw)  # type: ignore[arg-type]
        docs.append(r.to_json())
    assert docs[0] == docs[1]
    assert docs[0]["executions"] > 0


def test_dpor_on_the_cluster_reports_what_one_worker_reports(cluster: str) -> None:
    """A DPOR search is one unit: on a cluster it runs on one Dask worker, with the JSON
    of a local run (inflight-free-isolated exhausts at bound 2)."""
    path = ROOT / "scenarios" / "findings" / "inflight-free-isolated.toml"
    docs = []
    for kw in ({"workers": 1}, {"cluster": cluster}):
        e = Engine(load_scenario(path), parse_policy("v5.15"))
        cfg = StrategyConfig("dfs", 0, preemption_bound=2, reduction="dpor")
        r = explore(e, cfg, executions=1000, artifacts=None, **kw)  # type: ignore[arg-type]
        docs.append(r.to_json())
    assert docs[0] == docs[1]
    assert docs[0]["exhausted"] is True and docs[0]["reduction"] == "dpor"


def test_matrix_cells_on_the_cluster(cluster: str, tmp_path: Path) -> None:
    s = load_scenario(FOREIGN)
    cols = columns_for([s], [parse_policy("v5.15"), parse_policy("v5.19")])
    tables = []
    for kw in ({"workers": 1}, {"cluster": cluster}):
        m = run_matrix([(str(FOREIGN), s)], cols, Budget(60), artifacts=tmp_path,
                       **kw)  # type: ignore[arg-type]
        doc = m.to_json()
        for row in doc["rows"]:
            for cell in row["cells"].values():
                cell.pop("seconds")
        tables.append(doc)
    assert tables[0] == tables[1]
    assert tables[0]["rows"][0]["cells"]["v5.19"]["verdict"] == "violation"


def test_cli_reads_the_scheduler_from_the_environment(
        cluster: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["explore", str(DRAIN), "--strategy", "random", "--executions", "20", "--json"]
    assert main([*args, "--workers", "1"]) == 0
    local = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("ZONESIM_DASK_SCHEDULER", cluster)
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == local
