"""Malformed documents: a valid Scenario or a one-line ScenarioError, never anything else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_docs import FULL
from toml_mutations import mutated_docs, to_toml

from zonesim.scenario import Scenario, ScenarioError, parse_scenario

FILE = "scenarios/x.toml"


def check(text: str) -> Scenario | None:
    try:
        return parse_scenario(text, FILE)
    except ScenarioError as err:
        line = str(err)
        assert "\n" not in line and "\r" not in line, line
        assert line.startswith(FILE), line
        return None


def test_seed_documents_round_trip_through_the_dumper() -> None:
    import tomllib

    assert check(to_toml(tomllib.loads(FULL))) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_docs())
def test_mutated_documents(doc: dict[str, Any]) -> None:
    check(to_toml(doc))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(FULL)), st.integers(0, 40), st.text(max_size=10))
def test_text_splices(at: int, cut: int, insert: str) -> None:
    check(FULL[:at] + insert + FULL[at + cut :])
