"""The example outputs committed under maps/ equal a fresh run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import ROOT

import compliance
from compliance.outputs.files import rounded_summary

EXAMPLES = sorted(p for p in (ROOT / "maps").iterdir() if (p / "run.json").is_file())


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {
        "nanjing_xinjiekou",
        "nanjing_xinjiekou_hebi",
        "jiangxi_guixi",
        "demo_hebi",
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_summary_is_current(example):
    info = json.loads((example / "run.json").read_text("utf-8"))
    rasters = {role: ROOT / path for role, path in info.get("rasters", {}).items()}
    result = compliance.check(
        ROOT / info["scheme"], info["profile"], year=info.get("year"), rasters=rasters
    )
    committed = pd.read_csv(example / "summary.csv", keep_default_na=False)
    fresh = result.summary
    assert committed["rule_id"].tolist() == fresh["rule_id"].tolist()
    assert committed["status"].tolist() == fresh["status"].tolist()
    assert committed["checked"].tolist() == fresh["checked"].tolist()
    assert committed["failed"].tolist() == fresh["failed"].tolist()
    worst = pd.to_numeric(committed["worst"], errors="coerce").to_numpy()
    rounded = rounded_summary(result)["worst"].to_numpy(dtype=float)  # as summary.csv writes it
    assert worst == pytest.approx(rounded, abs=1e-9, nan_ok=True)
    html = (example / "map.html").read_text("utf-8")
    assert result.scheme.crs_label in html
