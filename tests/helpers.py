"""Test helpers, in one place: paths, the test CRS, in-memory schemes, one-rule runs.

Test schemes are drawn in local metres and placed at (:data:`X0`, :data:`Y0`)
in :data:`GK` (CGCS2000 / 3-degree Gauss-Krüger CM 114E, EPSG:4547, the
demo's CRS near Hebi), so lengths and areas are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import LineString, box

import compliance

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
SEEDS = ROOT / "rules" / "seeds"

GK = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E (Hebi)
X0, Y0 = 520_000.0, 3_950_000.0  # local origin of the test schemes, as in the demo


# --------------------------------------------------------------------------- layers


def layer(*records: dict) -> gpd.GeoDataFrame:
    """A layer in :data:`GK` from records with a ``geometry`` key (already placed)."""
    return gpd.GeoDataFrame(list(records), geometry="geometry", crs=GK)


def poly(fid: str, x1: float, y1: float, x2: float, y2: float, **attrs: object) -> dict:
    """A box record in local metres (corners relative to (X0, Y0))."""
    return {"id": fid, "geometry": box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2), **attrs}


def line(fid: str, *pts: tuple[float, float], **attrs: object) -> dict:
    """A line record in local metres (points relative to (X0, Y0))."""
    return {"id": fid, "geometry": LineString([(X0 + x, Y0 + y) for x, y in pts]), **attrs}


def local_layer(records: Iterable[Mapping[str, Any]], crs: str = GK) -> gpd.GeoDataFrame:
    """A layer from records whose ``geometry`` is WKT in local metres (origin 0, 0).

    The geometries are shifted by (:data:`X0`, :data:`Y0`) into ``crs`` (a
    projected metric CRS where that point lies in the zone); every other key
    is an attribute column.
    """
    rows = [dict(r) for r in records]
    geoms = shapely.from_wkt([r.pop("geometry") for r in rows])
    placed = shapely.transform(geoms, lambda xy: xy + np.array([X0, Y0]))
    return gpd.GeoDataFrame(rows, geometry=list(placed), crs=crs)


# --------------------------------------------------------------------------- schemes


def make_scheme(**layers: object) -> compliance.Scheme:
    """An in-memory scheme in EPSG:4547 from GeoDataFrames keyed by layer name.

    Each layer gets a ``feature_id`` column (its ``id`` column when present,
    else the row number), as :func:`compliance.read_scheme` gives it.
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in layers.items():
        assert isinstance(gdf, gpd.GeoDataFrame)
        g = gdf.set_crs(GK) if gdf.crs is None else gdf.to_crs(GK)
        g = g.reset_index(drop=True)
        ids = g["id"].astype(str) if "id" in g.columns else g.index.astype(str)
        out[name] = g.assign(feature_id=list(ids))
    return compliance.Scheme(layers=out, crs=CRS.from_user_input(GK), source="test")


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


def evaluate_rule(scheme: compliance.Scheme, rule: compliance.Rule) -> compliance.Result:
    """Evaluate one rule object over a scheme."""
    profile = compliance.Profile(
        name="test", title_zh="test", title_en="test", document="test", rules={rule.code: rule}
    )
    return compliance.evaluate(scheme, profile)


@cache
def profile_rules(profile: str, year: int | None = None) -> compliance.Profile:
    """A catalogue profile, loaded once per (profile, year) in a test session."""
    return compliance.load_profile(profile, year=year)


def run_rule(
    code: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    profile: str = "national",
    year: int | None = None,
    params: Mapping[str, Any] | None = None,
    crs: str = GK,
    passes: bool = True,
) -> compliance.Result:
    """Run one catalogue rule, as a profile states it, over the given layers.

    Parameters
    ----------
    code : str
        Rule code, e.g. ``"CL01"``; the profile must carry it.
    layers : mapping of str to geopandas.GeoDataFrame
        Contract layers (``clusters``, ``buildings`` …), each with an ``id``
        column for its feature ids, in ``crs`` or without a CRS (then taken as
        ``crs``).
    profile : str
        Catalogue profile whose rule is run (``national``, ``hebi`` …).
    year : int, optional
        Target year of the rule's limit; default the loader's (nearest not passed).
    params : mapping, optional
        Overrides of the rule's parameters.
    crs : str
        CRS of layers given without one; the scheme measures in :data:`GK`.
    passes : bool
        ``evaluate``'s ``passes``: False reports violations only.

    Returns
    -------
    compliance.Result
        ``findings`` and ``summary`` of that rule alone.
    """
    prof = profile_rules(profile, year)
    rule = prof.rules[code]
    if params:
        rule = rule.model_copy(update={"params": {**rule.params, **params}})
    one = prof.model_copy(update={"rules": {code: rule}})
    placed = {name: g if g.crs is not None else g.set_crs(crs) for name, g in layers.items()}
    return compliance.evaluate(make_scheme(**placed), one, passes=passes)


# --------------------------------------------------------------------------- results


def finding(result: compliance.Result, rule_id: str, feature_id: str) -> dict[str, object]:
    """The one finding of a rule about a feature, as a dict."""
    f = result.findings
    rows = f[(f["rule_id"] == rule_id) & (f["feature_id"] == feature_id)]
    assert len(rows) == 1, f"expected one {rule_id} finding for {feature_id}, got {len(rows)}"
    return rows.iloc[0].to_dict()


def by_id(result: compliance.Result) -> dict[str, dict]:
    """Findings keyed by feature id."""
    f = result.findings
    return {r["feature_id"]: r for r in f.to_dict("records")}
