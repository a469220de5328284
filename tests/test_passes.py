"""Reporting violations only (``evaluate(passes=False)``): what checks may leave out.

A check told that passing findings are not reported may skip measuring what
only a pass would show; the violations, statuses and the summary (its worst
value included) must be exactly those of a full run.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from helpers import run_rule
from shapely import box
from shapely.geometry import LineString

X0, Y0 = 520_000, 3_950_000


def _both(code: str, layers: dict[str, gpd.GeoDataFrame]) -> tuple:
    full = run_rule(code, layers)
    lean = run_rule(code, layers, passes=False)
    pd.testing.assert_frame_equal(full.summary, lean.summary)
    f, g = full.findings.set_index("feature_id"), lean.findings.set_index("feature_id")
    assert (f["status"] == g["status"]).all()
    bad = f["status"] != "pass"
    pd.testing.assert_frame_equal(f[bad].drop(columns="geometry"), g[bad].drop(columns="geometry"))
    return f, g


def _greens() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["g"], "kind": ["green"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=4547
    )


def _parcels(*boxes: tuple[str, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [b[0] for b in boxes], "land_use": ["0701"] * len(boxes)},
        geometry=[box(X0 + x1, Y0, X0 + x2, Y0 + 100) for _, x1, x2 in boxes],
        crs=4547,
    )


def test_gr01_leaves_the_farthest_distance_of_covered_parcels_out():
    """Parcel a (x 150–250) lies within 300 m of the green; b (x 350–450) does not."""
    layers = {"green_spaces": _greens(), "parcels": _parcels(("a", 150, 250), ("b", 350, 450))}
    f, g = _both("GR01", layers)
    assert f.loc["a", "status"] == "pass" and f.loc["b", "status"] == "fail"
    assert 150.0 <= f.loc["a", "measured"] <= 150.1  # (250, y) is 150 m from x = 100…
    assert np.isnan(g.loc["a", "measured"])  # …not measured when passes are not reported
    assert g.loc["b", "measured"] == f.loc["b", "measured"]
    assert 350.0 <= g.loc["b", "measured"] <= 350.1  # (450, y) is 350 m from x = 100


def test_gr01_measures_every_parcel_when_none_is_short_of_green():
    """No violation: the worst value is the farthest of the covered parcels, measured."""
    layers = {"green_spaces": _greens(), "parcels": _parcels(("a", 150, 250), ("c", 110, 200))}
    f, g = _both("GR01", layers)
    assert (f["status"] == "pass").all()
    assert g["measured"].equals(f["measured"])
    worst = run_rule("GR01", layers, passes=False).summary.iloc[0]["worst"]
    assert worst == f.loc["a", "measured"]


def _corridors(*widths: tuple[str, float]) -> gpd.GeoDataFrame:
    geoms = [
        box(X0 + 1000 * k, Y0, X0 + 1000 * k + w, Y0 + 2000) for k, (_, w) in enumerate(widths)
    ]
    return gpd.GeoDataFrame({"id": [c for c, _ in widths]}, geometry=geoms, crs=4547)


def test_ec01_stops_measuring_a_corridor_once_it_is_wider_than_the_limit():
    """Corridor w is 150 m wide (passes), n 80 m (fails)."""
    f, g = _both("EC01", {"corridors": _corridors(("w", 150.0), ("n", 80.0))})
    assert f.loc["w", "measured"] == 150.0 and f.loc["n", "measured"] == 80.0
    assert np.isnan(g.loc["w", "measured"])
    assert g.loc["n", "measured"] == 80.0


def test_ec01_measures_every_corridor_when_none_is_too_narrow():
    """No violation: every width is measured, so the worst value is the narrowest."""
    f, g = _both("EC01", {"corridors": _corridors(("w", 150.0), ("v", 120.0))})
    assert g["measured"].equals(f["measured"])
    assert (
        run_rule(
            "EC01", {"corridors": _corridors(("w", 150.0), ("v", 120.0))}, passes=False
        ).summary.iloc[0]["worst"]
        == 120.0
    )


def test_rd01_words_only_the_roads_reported():
    """A 30 m road passes, a 60 m one exceeds 40 m: only the latter gets its words."""
    roads = gpd.GeoDataFrame(
        {"id": ["r30", "r60"], "red_line_width_m": [30.0, 60.0]},
        geometry=[
            LineString([(X0, Y0), (X0 + 500, Y0)]),
            LineString([(X0, Y0 + 200), (X0 + 500, Y0 + 200)]),
        ],
        crs=4547,
    )
    f, g = _both("RD01", {"roads": roads})
    assert f.loc["r60", "status"] == "fail" and f.loc["r30", "status"] == "pass"
    assert g.loc["r30", "measured"] == 30.0  # a value it has anyway
    assert g.loc["r30", "method"] == "" and f.loc["r30", "method"] != ""
    assert "道路（编号 r60）" in g.loc["r60", "message"]
