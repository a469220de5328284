"""Checking in spatial partitions (compliance.partition) gives the single pass's results."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import compliance
from compliance.partition import (
    _merge_reasons,
    check_partitioned,
    hilbert_partitions,
    rule_kind,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"
POPULATION = ROOT / "sample_data" / "rasters" / "demo_population.tif"

sys.path.insert(0, str(ROOT / "benchmarks"))


def _text(s: pd.Series) -> np.ndarray:
    return s.astype(object).where(s.notna(), "<NA>").astype(str).to_numpy()


def assert_same_result(single: compliance.Result, parts: compliance.Result) -> None:
    """Same rows in the same order, measured within 1e-6, same statuses, texts and summary."""
    a, b = single.findings, parts.findings
    assert len(a) == len(b)
    assert list(a["rule_id"]) == list(b["rule_id"])
    assert list(a["feature_id"]) == list(b["feature_id"])
    for col in ("measured", "limit", "limit_low"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), atol=1e-6)
    for col in ("status", "message", "message_en", "method", "layer", "estimated"):
        assert (_text(a[col]) == _text(b[col])).all(), col
    same_shape = a.geometry.geom_equals_exact(b.geometry, tolerance=1e-6) | (
        a.geometry.isna() & b.geometry.isna()
    )
    assert same_shape.all()
    pd.testing.assert_frame_equal(single.summary, parts.summary, check_dtype=False)


@pytest.mark.parametrize("profile", ["hebi", "national", "alxa"])
def test_demo_in_partitions_equals_single_pass(profile):
    scheme = compliance.read_scheme(DEMO, rasters={"population": POPULATION})
    single = compliance.evaluate(scheme, compliance.load_profile(profile))
    assert_same_result(single, check_partitioned(scheme, profile, partition_size=2))


@pytest.mark.parametrize("profile", ["hebi", "xinjiang"])
def test_real_place_in_partitions_equals_single_pass(profile):
    """Nanjing: GR01/GR02 across green spaces, LC01 to facilities, buildings in 13 parts."""
    scheme = compliance.read_scheme(NANJING)
    single = compliance.evaluate(scheme, compliance.load_profile(profile))
    assert_same_result(single, check_partitioned(scheme, profile, partition_size=100))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> compliance.Scheme:
    """Nanjing tiled 12 times (1,596 parcels, 14,928 buildings), with clusters and corridors."""
    from synthetic import build_city

    built = build_city(1_500, tmp_path_factory.mktemp("city") / "city.gpkg")
    assert built.counts["parcels"] == 12 * 133
    return compliance.read_scheme(built.path)


def test_tiled_city_in_partitions_equals_single_pass(city):
    profile = compliance.load_profile("hebi")
    single = compliance.evaluate(city, profile)
    parts = check_partitioned(city, profile, partition_size=400)
    assert_same_result(single, parts)
    # the partitioned rules did run on many features, with failures among them
    counts = single.findings.groupby("rule_id")["status"].value_counts().unstack(fill_value=0)
    assert counts.loc["GR01"].sum() == 12 * 11 and counts.loc["GR01", "fail"] > 0
    assert counts.loc["RD01"].sum() == 12 * 248  # roads with a red line, in 12 partitions


def test_tiled_city_life_circle_in_partitions(city):
    """LC01: a parcel missing a facility kind within the halo is checked again with the whole."""
    single = compliance.evaluate(city, compliance.load_profile("xinjiang"))
    parts = check_partitioned(city, "xinjiang", partition_size=300)
    assert_same_result(single, parts)
    lc = single.findings[single.findings["rule_id"] == "LC01"]
    assert len(lc) == 12 * 11 and (lc["status"] == "fail").any()


def test_hilbert_partitions_cover_each_feature_once(city):
    parcels = city.layers["parcels"]
    parts = hilbert_partitions(parcels.geometry, 500)
    assert [len(p) for p in parts] == [399, 399, 399, 399]
    joined = np.sort(np.concatenate(parts))
    assert (joined == np.arange(len(parcels))).all()
    # compact: a partition spans about a quarter of the city, not all of it
    width = parcels.total_bounds[2] - parcels.total_bounds[0]
    for p in parts:
        minx, _, maxx, _ = parcels.geometry.iloc[p].total_bounds
        assert maxx - minx < 0.8 * width


def test_rule_kinds():
    profile = compliance.load_profile("xinjiang")
    kinds = {code: rule_kind(rule) for code, rule in profile.rules.items()}
    assert kinds["RD01"] == "local" and kinds["BH04"] == "local"
    assert kinds["GR01"] == "neighbours" and kinds["LC01"] == "neighbours"
    assert kinds["GR04"] == "whole" and kinds["DN01"] == "whole"
    network = profile.rules["LC01"].model_copy(update={"params": {"method": "network"}})
    assert rule_kind(network) == "whole"


def test_skip_reasons_add_up_in_the_checks_order():
    text, total = _merge_reasons(
        ["3 not new; 2 without height_m or floors", "1 without a use; 4 not new"]
    )
    assert text == "1 without a use; 7 not new; 2 without height_m or floors"
    assert total == 10
