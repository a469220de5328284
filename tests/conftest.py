"""Shared fixtures: the demo scheme and its check results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import compliance

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
SEEDS = ROOT / "rules" / "seeds"

sys.path.insert(0, str(ROOT / "sample_data" / "demo"))


@pytest.fixture(scope="session")
def demo_national() -> compliance.Result:
    """The demo scheme checked against the national profile."""
    return compliance.check(DEMO, "national")


@pytest.fixture(scope="session")
def demo_hebi() -> compliance.Result:
    """The demo scheme checked against the Hebi profile."""
    return compliance.check(DEMO, "hebi")


def finding(result: compliance.Result, rule_id: str, feature_id: str) -> dict[str, object]:
    """The one finding of a rule about a feature, as a dict."""
    f = result.findings
    rows = f[(f["rule_id"] == rule_id) & (f["feature_id"] == feature_id)]
    assert len(rows) == 1, f"expected one {rule_id} finding for {feature_id}, got {len(rows)}"
    return rows.iloc[0].to_dict()
