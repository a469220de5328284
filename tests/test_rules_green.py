"""GR01/GR02 beyond the per-parcel cases: the coverage rate of all residential land."""

from __future__ import annotations

import geopandas as gpd
from helpers import run_rule
from shapely import box

X0, Y0 = 520_000, 3_950_000


def test_gr01_summary_gives_the_coverage_rate_of_all_residential_land():
    """Green x 0–100; parcels x 150–250 (covered) and x 350–450 (x 400–450 beyond 300 m).

    Residential land 20,000 m², 5,000 m² of it beyond the radius: 75.0 % covered.
    """
    greens = gpd.GeoDataFrame(
        {"id": ["g"], "kind": ["green"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=4547
    )
    parcels = gpd.GeoDataFrame(
        {"id": ["a", "b"], "land_use": ["0701", "0701"]},
        geometry=[box(X0 + 150, Y0, X0 + 250, Y0 + 100), box(X0 + 350, Y0, X0 + 450, Y0 + 100)],
        crs=4547,
    )
    s = run_rule("GR01", {"green_spaces": greens, "parcels": parcels}).summary.iloc[0]
    assert "coverage rate of all residential land within 300 m: 75.0 %" in s["note"]
    assert "(15,000 of 20,000 m2)" in s["note"]
    assert "全部居住用地的 300 米服务半径覆盖率 75.0%（15,000 / 20,000 平方米）" in s["note_zh"]
