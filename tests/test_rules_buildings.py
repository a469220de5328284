"""Rules BH01–BH05, EN01, EN02, GB01 and UR01 on schemes drawn in memory.

Footprints are axis-aligned boxes around (X0, Y0) in EPSG:4547, so areas and
distances between footprints are exact.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import GK, X0, Y0, by_id, evaluate_rule, layer, make_rule, make_scheme
from shapely.geometry import box

import compliance
from compliance.rules.measures.buildings import (
    floor_area_m2,
    height_m,
    nearest_other_m,
    storeys,
    use_in,
    zone_of,
)
from compliance.rules.registry import CHECKS


def b(fid: str, x: float, y: float, w: float = 20.0, d: float = 20.0, **attrs: object) -> dict:
    """A building record: a w × d m box with its lower-left corner at (X0 + x, Y0 + y)."""
    return {"id": fid, "geometry": box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + d), **attrs}


def summary(result: compliance.Result) -> dict:
    return result.summary.iloc[0].to_dict()


# --------------------------------------------------------------------------- measures


def test_measures_height_storeys_floor_area():
    g = layer(
        b("a", 0, 0, 10, 20, height_m=54.0, floors=np.nan, floor_area_m2=np.nan),
        b("b", 50, 0, 10, 20, height_m=np.nan, floors=7.0, floor_area_m2=np.nan),
        b("c", 100, 0, 10, 20, height_m=np.nan, floors=np.nan, floor_area_m2=5000.0),
    )
    h = height_m(g, 3.0)
    assert h.values.tolist()[:2] == [54.0, 21.0] and math.isnan(h.values.iloc[2])
    assert h.estimated.tolist() == [False, True, False]
    n = storeys(g, 3.0)
    assert n.values.tolist()[:2] == [18.0, 7.0]  # 54 m ÷ 3 m is 18 storeys, not 19
    assert n.estimated.tolist() == [True, False, False]
    fa = floor_area_m2(g, 3.0)
    assert fa.values.tolist() == [200 * 18, 200 * 7, 5000.0]
    assert fa.estimated.tolist() == [True, True, False]


def test_measures_use_filter_is_case_insensitive_and_stripped():
    g = layer(b("a", 0, 0, use=" Residential "), b("b", 50, 0, use="住宅"), b("c", 99, 0, use=None))
    assert use_in(g, ["residential", "住宅"]).tolist() == [True, True, False]
    assert use_in(g, None).tolist() == [True, True, True]


def test_measures_nearest_other_and_zone():
    g = layer(b("a", 0, 0, 50, 50), b("b", 350, 0, 50, 50), b("c", 0, 2050, 50, 50))
    near = nearest_other_m(g.geometry)
    assert near.distance_m.tolist() == [300.0, 300.0, 2000.0]
    assert near.position.tolist() == [1, 0, 0]
    zones = gpd.GeoSeries([box(X0 - 10, Y0 - 10, X0 + 500, Y0 + 100)], crs=GK)
    assert zone_of(zones, g).tolist() == [0, 0, -1]


# --------------------------------------------------------------------------- BH01, BH03


def height_rule(code: str = "BH01", limit: float = 250.0, **params: object) -> compliance.Rule:
    return make_rule(code, "building_height", limit=limit, params=params)


def test_bh01_height_over_250_fails_and_old_buildings_are_skipped():
    scheme = make_scheme(
        buildings=layer(
            b("A", 0, 0, height_m=260.0, is_new=True),
            b("B", 100, 0, height_m=240.0, is_new=True),
            b("C", 200, 0, height_m=300.0, is_new=False),
        )
    )
    r = evaluate_rule(scheme, height_rule())
    f = by_id(r)
    assert set(f) == {"A", "B"}
    assert (f["A"]["status"], f["A"]["measured"], f["A"]["estimated"]) == ("fail", 260.0, False)
    assert (f["B"]["status"], f["B"]["measured"]) == ("pass", 240.0)
    assert "新建建筑，高度按 height_m 字段" in f["A"]["message"]
    s = summary(r)
    assert (s["status"], s["checked"], s["failed"], s["skipped"]) == ("fail", 2, 1, 1)
    assert "1 not new" in s["note"]


def test_bh01_height_from_floors_is_estimated_and_a_failure_warns():
    scheme = make_scheme(
        buildings=layer(
            b("D", 0, 0, floors=90.0, height_m=np.nan, is_new=True),
            b("E", 100, 0, floors=80.0, height_m=np.nan, is_new=True),
            b("F", 200, 0, floors=np.nan, height_m=np.nan, is_new=True),
        )
    )
    r = evaluate_rule(scheme, height_rule())
    f = by_id(r)
    assert (f["D"]["status"], f["D"]["measured"], f["D"]["estimated"]) == ("warn", 270.0, True)
    assert (f["E"]["status"], f["E"]["measured"], f["E"]["estimated"]) == ("pass", 240.0, True)
    assert "高度按 90 层 × 3 米估算" in f["D"]["message"]
    assert "估算值" in f["D"]["message"]
    s = summary(r)
    assert (s["status"], s["skipped"]) == ("warn", 1)
    assert "1 without height_m or floors" in s["note"]


def test_bh03_residential_over_100_fails_other_uses_skipped():
    res = ["residential", "apartments", "house", "dormitory", "detached", "terrace", "住宅", "居住"]
    scheme = make_scheme(
        buildings=layer(
            b("R1", 0, 0, height_m=110.0, use="住宅", is_new=True),
            b("R2", 100, 0, height_m=99.0, use="Residential", is_new=True),
            b("O1", 200, 0, height_m=150.0, use="office", is_new=True),
        )
    )
    r = evaluate_rule(scheme, height_rule("BH03", 100.0, uses=res))
    f = by_id(r)
    assert (f["R1"]["status"], f["R1"]["measured"]) == ("fail", 110.0)
    assert (f["R2"]["status"], f["R2"]["measured"]) == ("pass", 99.0)
    assert "O1" not in f
    assert "新建住宅" in f["R1"]["message"]
    s = summary(r)
    assert s["skipped"] == 1 and "1 of other uses" in s["note"]


def test_bh01_nothing_in_scope_is_not_evaluated_with_the_reasons():
    scheme = make_scheme(buildings=layer(b("A", 0, 0, height_m=300.0, is_new=False)))
    r = evaluate_rule(scheme, height_rule())
    f = r.findings.iloc[0]
    assert f["status"] == "not_evaluated"
    assert "没有在适用范围内且数据齐全的建筑（非新建 1 栋）" in f["message"]
    s = summary(r)
    assert (s["status"], s["checked"], s["skipped"]) == ("not_evaluated", 0, 1)


def test_bh01_new_only_without_is_new_is_not_evaluated():
    scheme = make_scheme(buildings=layer(b("A", 0, 0, height_m=300.0)))
    r = evaluate_rule(scheme, height_rule())
    f = r.findings.iloc[0]
    assert f["status"] == "not_evaluated"
    assert "is_new" in f["message"] and "is_new" in f["message_en"]


def test_bh01_without_height_or_floors_fields_is_not_evaluated():
    scheme = make_scheme(buildings=layer(b("A", 0, 0, is_new=True)))
    f = evaluate_rule(scheme, height_rule()).findings.iloc[0]
    assert f["status"] == "not_evaluated"
    assert "height_m" in f["message"] and "floors" in f["message"]


def test_bh01_without_buildings_layer_is_not_evaluated():
    scheme = make_scheme(renewal_units=layer(b("U", 0, 0)))
    f = evaluate_rule(scheme, height_rule()).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "buildings" in f["message"]


# --------------------------------------------------------------------------- BH02


def tall_scheme(**extra: gpd.GeoDataFrame) -> compliance.Scheme:
    # A and B are 300 m apart (footprint to footprint); C lies 2,000 m from A.
    return make_scheme(
        buildings=layer(
            b("A", 0, 0, 50, 50, height_m=120.0),
            b("B", 350, 0, 50, 50, height_m=np.nan, floors=40.0),  # 120 m from floors
            b("C", 0, 2050, 50, 50, height_m=150.0),
            b("L", 0, 2000, 20, 20, height_m=30.0),  # low: out of scope
        ),
        **extra,
    )


def clustering_rule(**params: object) -> compliance.Rule:
    # the plan states no number: no limit; 500 m is the check's max_gap_m
    return make_rule(
        "BH02", "tall_building_clustering", limit=math.nan, severity="fail", params=params
    )


def test_bh02_neighbours_pass_at_300_m_and_fail_at_2000_m():
    r = evaluate_rule(tall_scheme(), clustering_rule())
    f = by_id(r)
    assert set(f) == {"A", "B", "C"}
    assert (f["A"]["status"], f["A"]["measured"]) == ("pass", 300.0)
    assert f["A"]["estimated"]  # its nearest tall neighbour B is tall by an estimate
    assert (f["B"]["status"], f["B"]["measured"]) == ("pass", 300.0)
    assert (f["C"]["status"], f["C"]["measured"], f["C"]["estimated"]) == ("fail", 2000.0, False)
    assert "最近的另一栋高度 100 米以上的建筑为建筑（编号 A）" in f["C"]["message"]
    assert "上限" not in f["C"]["message"] and math.isnan(f["C"]["limit"])
    s = summary(r)
    assert (s["checked"], s["skipped"]) == (3, 1)
    assert "1 lower than 100 m" in s["note"]


def test_bh02_a_lone_tall_building_fails():
    scheme = make_scheme(
        buildings=layer(b("A", 0, 0, 50, 50, height_m=120.0), b("L", 100, 0, height_m=20.0))
    )
    f = by_id(evaluate_rule(scheme, clustering_rule()))
    assert f["A"]["status"] == "fail" and math.isnan(f["A"]["measured"])
    assert "方案中没有其他高度 100 米以上的建筑" in f["A"]["message"]


def test_bh02_zones_distance_to_height_zone_with_limit_zero():
    zones = gpd.GeoDataFrame(
        {"name": ["CBD"]}, geometry=[box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 200)], crs=GK
    )
    r = evaluate_rule(tall_scheme(height_zones=zones), clustering_rule(method="zones"))
    f = by_id(r)
    assert (f["A"]["status"], f["A"]["measured"]) == ("pass", 0.0)
    assert (f["C"]["status"], f["C"]["measured"]) == ("fail", 1850.0)
    assert math.isnan(f["A"]["limit"]) and math.isnan(f["C"]["limit"])  # no number in the plan
    assert "位于高度控制区「CBD」内" in f["A"]["message"]
    assert "最近的高度控制区为高度控制区「CBD」" in f["C"]["message"]


def test_bh02_zones_without_height_zones_layer_is_not_evaluated():
    f = evaluate_rule(tall_scheme(), clustering_rule(method="zones")).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "height_zones" in f["message"]


# --------------------------------------------------------------------------- BH04


def floors_rule(limit: float = 18.0) -> compliance.Rule:
    return make_rule("BH04", "building_floors", limit=limit, unit="floors")


def test_bh04_floors_of_new_housing():
    scheme = make_scheme(
        buildings=layer(
            b("R20", 0, 0, floors=20.0, height_m=np.nan, use="residential", is_new=True),
            b("R18", 50, 0, floors=18.0, height_m=np.nan, use="住宅", is_new=True),
            b("H57", 100, 0, floors=np.nan, height_m=57.0, use="residential", is_new=True),
            b("O30", 150, 0, floors=30.0, height_m=np.nan, use="office", is_new=True),
            b("OLD", 200, 0, floors=25.0, height_m=np.nan, use="residential", is_new=False),
        )
    )
    r = evaluate_rule(scheme, floors_rule())
    f = by_id(r)
    assert set(f) == {"R20", "R18", "H57"}
    assert (f["R20"]["status"], f["R20"]["measured"], f["R20"]["estimated"]) == ("fail", 20, False)
    assert (f["R18"]["status"], f["R18"]["measured"]) == ("pass", 18.0)
    assert (f["H57"]["status"], f["H57"]["measured"], f["H57"]["estimated"]) == ("warn", 19, True)
    assert "新建住宅，层数按 floors 字段" in f["R20"]["message"]
    assert "新建住宅，高度 57.0 米，层数按高度 ÷ 3 米估算" in f["H57"]["message"]
    assert "超过上限 18 层，超出 2 层" in f["R20"]["message"]
    s = summary(r)
    assert (s["status"], s["skipped"]) == ("fail", 2)
    assert "1 not new" in s["note"] and "1 of other uses" in s["note"]


def test_bh04_alxa_limit_of_12_floors():
    scheme = make_scheme(buildings=layer(b("R", 0, 0, floors=13.0, use="residential", is_new=True)))
    f = by_id(evaluate_rule(scheme, floors_rule(12.0)))
    assert (f["R"]["status"], f["R"]["measured"], f["R"]["limit"]) == ("fail", 13.0, 12.0)


def test_bh04_without_use_field_is_not_evaluated():
    scheme = make_scheme(buildings=layer(b("R", 0, 0, floors=20.0, is_new=True)))
    f = evaluate_rule(scheme, floors_rule()).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "use" in f["message_en"]


# --------------------------------------------------------------------------- BH05


def low_rise_rule() -> compliance.Rule:
    return make_rule("BH05", "low_rise_share", comparison=">=", limit=70.0, unit="%")


@pytest.mark.parametrize(
    ("high_m2", "status", "share"), [(40_000.0, "fail", 60.0), (20_000.0, "pass", 75.0)]
)
def test_bh05_low_rise_share(high_m2, status, share):
    scheme = make_scheme(
        buildings=layer(
            b("LOW", 0, 0, 100, 100, floors=6.0, floor_area_m2=60_000.0, use="住宅", is_new=True),
            b("HIGH", 200, 0, 50, 40, floors=18.0, floor_area_m2=high_m2, use="住宅", is_new=True),
            b("OLD", 400, 0, floors=3.0, floor_area_m2=9_000.0, use="住宅", is_new=False),
        )
    )
    r = evaluate_rule(scheme, low_rise_rule())
    f = by_id(r)["*"]
    assert (f["status"], f["estimated"]) == (status, False)
    assert f["measured"] == pytest.approx(share, abs=1e-9)
    total = 60_000 + high_m2
    assert (
        f"6层及以下住宅建筑面积 60,000 平方米，新建住宅总建筑面积 {total:,.0f} 平方米"
        in (f["message"])
    )
    assert shapely.area(f["geometry"]) == pytest.approx(2000.0)  # the taller building
    assert summary(r)["skipped"] == 1


def test_bh05_floor_area_from_footprint_is_estimated_and_warns():
    # 100 × 100 m × 2 floors = 20,000 m2 low-rise; 50 × 40 m × 20 floors = 40,000 m2 high-rise.
    scheme = make_scheme(
        buildings=layer(
            b("LOW", 0, 0, 100, 100, floors=2.0, use="residential", is_new=True),
            b("HIGH", 200, 0, 50, 40, floors=20.0, use="residential", is_new=True),
        )
    )
    f = by_id(evaluate_rule(scheme, low_rise_rule()))["*"]
    assert (f["status"], f["estimated"]) == ("warn", True)
    assert f["measured"] == pytest.approx(100 * 20_000 / 60_000, abs=1e-9)


# --------------------------------------------------------------------------- EN01


def pv_rule() -> compliance.Rule:
    return make_rule("EN01", "pv_coverage", comparison=">=", limit=50.0, unit="%")


def test_en01_pv_coverage_per_building():
    scheme = make_scheme(
        buildings=layer(
            b("OF", 0, 0, use="office", pv_area_m2=600.0, roof_area_m2=1000.0, is_new=True),
            b("SC", 50, 0, use="School", pv_area_m2=200.0, roof_area_m2=1000.0, is_new=True),
            b("FA", 100, 0, use="factory", pv_area_m2=100.0, roof_area_m2=np.nan, is_new=True),
            b("RS", 150, 0, use="residential", pv_area_m2=0.0, roof_area_m2=500.0, is_new=True),
            b("NP", 200, 0, use="office", pv_area_m2=np.nan, roof_area_m2=500.0, is_new=True),
        )
    )
    r = evaluate_rule(scheme, pv_rule())
    f = by_id(r)
    assert set(f) == {"OF", "SC", "FA"}
    assert (f["OF"]["status"], f["OF"]["measured"]) == ("pass", 60.0)
    assert (f["SC"]["status"], f["SC"]["measured"]) == ("fail", 20.0)
    assert (f["FA"]["status"], f["FA"]["measured"]) == ("fail", 25.0)  # 100 of a 400 m2 footprint
    assert "footprint" in f["FA"]["method"]
    assert "屋顶面积按基底面积 400 平方米计" in f["FA"]["message"]
    assert "光伏面积 200 平方米，屋顶面积 1,000 平方米" in f["SC"]["message"]
    s = summary(r)
    assert s["skipped"] == 2
    assert "1 of other uses" in s["note"] and "1 without pv_area_m2" in s["note"]


def test_en01_without_pv_field_is_not_evaluated():
    scheme = make_scheme(buildings=layer(b("OF", 0, 0, use="office", is_new=True)))
    f = evaluate_rule(scheme, pv_rule()).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "pv_area_m2" in f["message"]


# --------------------------------------------------------------------------- EN02


def solar_rule() -> compliance.Rule:
    return make_rule(
        "EN02", "solar_thermal", comparison=">=", limit=100.0, unit="%", severity="warn"
    )


def test_en02_solar_thermal_scope_and_values():
    scheme = make_scheme(
        buildings=layer(
            b("R9", 0, 0, use="residential", floors=9.0, solar_thermal=False, is_new=True),
            b("HO", 50, 0, use="hospital", floors=20.0, solar_thermal=True, is_new=True),
            b("R20", 100, 0, use="residential", floors=20.0, solar_thermal=False, is_new=True),
            b("OF", 150, 0, use="office", floors=5.0, solar_thermal=False, is_new=True),
            b("RH", 200, 0, use="住宅", height_m=30.0, solar_thermal=True, is_new=True),
        )
    )
    r = evaluate_rule(scheme, solar_rule())
    f = by_id(r)
    assert set(f) == {"R9", "HO", "RH"}
    assert (f["R9"]["status"], f["R9"]["measured"]) == ("warn", 0.0)
    assert "新建住宅，9 层，未配置太阳能热水系统" in f["R9"]["message"]
    assert (f["HO"]["status"], f["HO"]["measured"]) == ("pass", 100.0)
    assert "新建建筑，用途 医院，已配置太阳能热水系统" in f["HO"]["message"]
    assert (f["RH"]["status"], f["RH"]["measured"], f["RH"]["estimated"]) == ("pass", 100.0, True)
    s = summary(r)
    assert s["skipped"] == 2
    assert "1 residential above 12 floors" in s["note"] and "1 of other uses" in s["note"]


def test_en02_without_solar_thermal_field_is_not_evaluated():
    scheme = make_scheme(buildings=layer(b("R9", 0, 0, use="residential", floors=9.0, is_new=True)))
    f = evaluate_rule(scheme, solar_rule()).findings.iloc[0]
    assert f["status"] == "not_evaluated"
    assert "solar_thermal" in f["message"] and "solar_thermal" in f["message_en"]


# --------------------------------------------------------------------------- GB01


def star_rule(tiers: list[dict]) -> compliance.Rule:
    return make_rule(
        "GB01",
        "green_star",
        comparison=">=",
        limit=1.0,
        unit="stars",
        params={"tiers": tiers},
    )


def test_gb01_large_public_buildings_need_one_star():
    tiers = [{"uses": ["public"], "min_floor_area_m2": 20_000, "stars": 1}]
    scheme = make_scheme(
        buildings=layer(
            b("P25", 0, 0, use="public", floor_area_m2=25_000.0, green_star=0.0, is_new=True),
            b("P10", 50, 0, use="public", floor_area_m2=10_000.0, green_star=0.0, is_new=True),
            b("P30", 100, 0, use="public", floor_area_m2=30_000.0, green_star=2.0, is_new=True),
            b("PNA", 150, 0, use="public", floor_area_m2=30_000.0, green_star=np.nan, is_new=True),
        )
    )
    r = evaluate_rule(scheme, star_rule(tiers))
    f = by_id(r)
    assert set(f) == {"P25", "P30"}
    assert (f["P25"]["status"], f["P25"]["measured"], f["P25"]["limit"]) == ("fail", 0.0, 1.0)
    assert (f["P30"]["status"], f["P30"]["measured"], f["P30"]["limit"]) == ("pass", 2.0, 1.0)
    assert (
        "适用要求：用途为 公共建筑，建筑面积不小于 20,000 平方米，不低于 1 星"
        in f["P25"]["message"]
    )
    assert "建筑面积 25,000 平方米" in f["P25"]["message"]
    s = summary(r)
    assert s["skipped"] == 2
    assert "1 matching no tier" in s["note"] and "1 without green_star" in s["note"]


def test_gb01_government_investment_needs_two_stars():
    tiers = [{"stars": 1}, {"investors": ["government"], "stars": 2}]
    scheme = make_scheme(
        buildings=layer(
            b("G", 0, 0, use="public", investor="Government", green_star=1.0, is_new=True),
            b("P", 50, 0, use="public", investor="private", green_star=1.0, is_new=True),
        )
    )
    f = by_id(evaluate_rule(scheme, star_rule(tiers)))
    assert (f["G"]["status"], f["G"]["measured"], f["G"]["limit"]) == ("fail", 1.0, 2.0)
    assert (f["P"]["status"], f["P"]["measured"], f["P"]["limit"]) == ("pass", 1.0, 1.0)
    assert "适用要求：投资主体为 政府，不低于 2 星" in f["G"]["message"]


def test_gb01_per_row_limits_and_undecidable_buildings_without_the_engine():
    # Called directly, so it runs while the engine cannot word the unit "stars".
    tiers = [{"stars": 1}, {"uses": ["public"], "stars": 2}]
    scheme = make_scheme(
        buildings=layer(
            b("U", 0, 0, use=None, green_star=1.0, is_new=True),  # might be public: skipped
            b("R", 50, 0, use="residential", green_star=0.0, is_new=True),
            b("P", 100, 0, use="public", green_star=2.0, is_new=True),
            b("O", 150, 0, use="public", green_star=3.0, is_new=False),
        )
    )
    rule = star_rule(tiers)
    check = CHECKS["green_star"]
    ev = check.fn(scheme, rule, check.validated_params(rule))
    assert ev.rows is not None
    rows = ev.rows.set_index("feature_id")
    assert sorted(rows.index) == ["P", "R"]
    assert rows.loc["R", ["measured", "limit", "passed"]].tolist() == [0.0, 1.0, False]
    assert rows.loc["P", ["measured", "limit", "passed"]].tolist() == [2.0, 2.0, True]
    assert "适用要求：用途为 公共建筑，不低于 2 星" in rows.loc["P", "detail_zh"]
    assert ev.skipped == 2
    assert "1 not new" in ev.skip_reason and "1 lacking use" in ev.skip_reason


def test_gb01_missing_fields_are_not_evaluated():
    no_star = make_scheme(buildings=layer(b("G", 0, 0, investor="government", is_new=True)))
    f = evaluate_rule(no_star, star_rule([{"stars": 1}])).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "green_star" in f["message"]
    no_investor = make_scheme(buildings=layer(b("G", 0, 0, green_star=1.0, is_new=True)))
    tiers = [{"investors": ["government"], "stars": 2}]
    f = evaluate_rule(no_investor, star_rule(tiers)).findings.iloc[0]
    assert f["status"] == "not_evaluated" and "investor" in f["message"]


# --------------------------------------------------------------------------- UR01


def demolition_rule() -> compliance.Rule:
    return make_rule("UR01", "demolition_share", layer="renewal_units", limit=20.0, unit="%")


def test_ur01_from_unit_attributes():
    units = layer(
        b(
            "U1",
            0,
            0,
            500,
            500,
            existing_floor_area_m2=100_000.0,
            demolished_floor_area_m2=25_000.0,
        ),
        b(
            "U2",
            600,
            0,
            500,
            500,
            existing_floor_area_m2=100_000.0,
            demolished_floor_area_m2=10_000.0,
        ),
    )
    r = evaluate_rule(make_scheme(renewal_units=units), demolition_rule())
    f = by_id(r)
    assert (f["U1"]["status"], f["U1"]["measured"], f["U1"]["estimated"]) == ("fail", 25.0, False)
    assert (f["U2"]["status"], f["U2"]["measured"]) == ("pass", 10.0)
    assert "拆除建筑面积 25,000 平方米 / 现状建筑面积 100,000 平方米" in f["U1"]["message"]
    assert "更新单元（编号 U1）" in f["U1"]["message"]


def test_ur01_from_buildings_inside():
    units = layer(b("U1", 0, 0, 500, 500), b("U2", 600, 0, 500, 500))
    buildings = layer(
        # U1: 30,000 of 120,000 m2 existing floor area demolished; the new building is not existing.
        b("A", 10, 10, floor_area_m2=30_000.0, demolished=True, is_new=False),
        b("B", 100, 10, floor_area_m2=90_000.0, demolished=False, is_new=False),
        b("C", 200, 10, floor_area_m2=50_000.0, demolished=False, is_new=True),
        # U2: 50 × 40 m × 5 floors = 10,000 m2 (estimated) of 100,000 m2 demolished.
        b("D", 610, 10, 50, 40, floors=5.0, demolished=True, is_new=False),
        b("E", 700, 10, floor_area_m2=90_000.0, demolished=False, is_new=False),
    )
    r = evaluate_rule(make_scheme(renewal_units=units, buildings=buildings), demolition_rule())
    f = by_id(r)
    assert (f["U1"]["status"], f["U1"]["measured"], f["U1"]["estimated"]) == ("fail", 25.0, False)
    assert "拆除建筑面积 30,000 平方米 / 现状建筑面积 120,000 平方米" in f["U1"]["message"]
    assert (f["U2"]["status"], f["U2"]["measured"], f["U2"]["estimated"]) == ("pass", 10.0, True)
    assert "buildings inside" in f["U2"]["method"]


def test_ur01_estimated_failure_warns():
    units = layer(b("U1", 0, 0, 500, 500))
    buildings = layer(
        b("D", 10, 10, 50, 40, floors=10.0, demolished=True, is_new=False),  # 20,000 m2
        b("E", 100, 10, floor_area_m2=30_000.0, demolished=False, is_new=False),
    )
    f = by_id(
        evaluate_rule(make_scheme(renewal_units=units, buildings=buildings), demolition_rule())
    )
    assert (f["U1"]["status"], f["U1"]["measured"], f["U1"]["estimated"]) == ("warn", 40.0, True)


def test_ur01_units_lacking_floor_areas_are_skipped():
    units = layer(
        b("U1", 0, 0, 500, 500),  # 2 of 10 storeys' worth demolished; no is_new: all existing
        b("U2", 600, 0, 500, 500),  # a building of unknown floor area: cannot be summed
        b("U3", 2000, 0, 100, 100),  # no building at all: no existing floor area
    )
    buildings = layer(
        b("D", 10, 10, 50, 40, floors=2.0, floor_area_m2=np.nan, demolished=True),
        b("E", 100, 10, 50, 40, floors=np.nan, floor_area_m2=16_000.0, demolished=False),
        b("X", 700, 10, floors=np.nan, floor_area_m2=np.nan, demolished=False),
    )
    r = evaluate_rule(make_scheme(renewal_units=units, buildings=buildings), demolition_rule())
    f = by_id(r)
    assert set(f) == {"U1"}
    assert (f["U1"]["status"], f["U1"]["measured"]) == ("pass", pytest.approx(20.0))
    assert "no is_new field" in f["U1"]["method"]
    s = summary(r)
    assert s["skipped"] == 2
    assert "1 without an existing floor area" in s["note"]
    assert "1 with no existing floor area" in s["note"]


def test_ur01_without_floor_areas_is_not_evaluated():
    units = layer(b("U1", 0, 0, 500, 500))
    buildings = layer(b("A", 10, 10, floor_area_m2=30_000.0, is_new=False))  # no 'demolished'
    f = evaluate_rule(make_scheme(renewal_units=units, buildings=buildings), demolition_rule())
    row = f.findings.iloc[0]
    assert row["status"] == "not_evaluated"
    assert "demolished" in row["message"] and "existing_floor_area_m2" in row["message"]
