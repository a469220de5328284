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


GK = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E (Hebi)
X0, Y0 = 520_000.0, 3_950_000.0  # local origin of the test schemes, as in the demo


def make_scheme(**layers: object) -> compliance.Scheme:
    """An in-memory scheme in EPSG:4547 from GeoDataFrames keyed by layer name.

    Each layer gets a ``feature_id`` column (its ``id`` column when present,
    else the row number), as :func:`compliance.read_scheme` gives it.
    """
    import geopandas as gpd
    from pyproj import CRS

    out: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in layers.items():
        assert isinstance(gdf, gpd.GeoDataFrame)
        g = gdf.set_crs(GK) if gdf.crs is None else gdf.to_crs(GK)
        g = g.reset_index(drop=True)
        ids = g["id"].astype(str) if "id" in g.columns else g.index.astype(str)
        out[name] = g.assign(feature_id=list(ids))
    return compliance.Scheme(layers=out, crs=CRS.from_epsg(4547), source="test")


def make_rule(code: str, measure: str, **fields: object) -> compliance.Rule:
    """A rule for tests, with a placeholder source; ``fields`` override the defaults."""
    data: dict[str, object] = {
        "code": code,
        "title_zh": code,
        "title_en": code,
        "measure": measure,
        "layer": "buildings",
        "comparison": "<=",
        "limit": 1.0,
        "unit": "m",
        "severity": "fail",
        "source": {
            "seed": "002_7c2abb0a5bb26d87.txt",
            "document": "test",
            "section": "test",
            "quote": "test quote",
        },
    }
    data.update(fields)
    return compliance.Rule.model_validate(data)


def run_rule(scheme: compliance.Scheme, rule: compliance.Rule) -> compliance.Result:
    """Evaluate one rule over a scheme."""
    profile = compliance.Profile(
        name="test", title_zh="test", title_en="test", document="test", rules={rule.code: rule}
    )
    return compliance.evaluate(scheme, profile)
