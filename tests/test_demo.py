"""Every planted violation of the demo scheme is found with the right value; no pass is flagged.

The expected values follow from the coordinates in ``sample_data/demo/make_demo.py``
and are listed in ``sample_data/demo/README.md``.
"""

from __future__ import annotations

import math

import pytest
import shapely
from helpers import DEMO, finding

import compliance
from compliance.engine import paste_quote

# (rule, feature, status, measured, tolerance) under the national profile.
NATIONAL = [
    ("CL01", "N", "fail", 56.0, 1e-6),
    ("CL01", "S", "pass", 30.0, 1e-6),
    ("CL01", "E", "pass", 20.0, 1e-6),
    ("CL01", "W", "pass", 24.0, 1e-6),
    ("CL02", "N", "warn", 12_500.0, 1e-3),  # 原则上: a warning, not a failure
    ("CL02", "S", "pass", 8_000.0, 1e-3),  # population summed from parcels
    ("CL02", "E", "pass", 7_500.0, 1e-3),
    ("CL02", "W", "pass", 200_000 / 24, 1e-3),
    ("EC01", "C1", "pass", 150.0, 0.01),  # plain rectangles, cut in two by B1
    ("EC01", "C2", "fail", 60.0, 0.01),  # the 60 m neck
    ("EC01", "C3", "pass", 120.0, 0.01),  # plain rectangle: ends and corners not narrow
    ("EC02", "N+S", "fail", 0.0, 1e-9),  # corridor broken by commercial parcel B1
    ("EC02", "N+E", "fail", 80.0, 1e-6),  # clusters 80 m apart
    ("EC02", "S+W", "pass", 150.0, 1e-6),  # the neck of C2 is narrow, not broken
    ("EC02", "N+W", "pass", math.hypot(150, 150), 1e-6),  # diagonal neighbours
    ("GR01", "R1", "pass", 250.0, 1e-6),
    ("GR01", "R2", "fail", 350.0, 1e-6),
    ("GR01", "R3", "fail", 1550.0, 1e-6),  # the 1,500 m2 green and the protective green don't count
    ("GR01", "R4", "pass", math.hypot(250, 150), 1e-6),
    ("GR02", "R1", "pass", 250.0, 1e-6),
    ("GR02", "R2", "pass", 350.0, 1e-6),
    ("GR02", "R3", "fail", 1550.0, 1e-6),
    ("GR02", "R4", "fail", math.hypot(2450, 1800), 1e-6),
    ("RD01", "RA", "fail", 60.0, 1e-9),  # attribute
    ("RD01", "RB", "pass", 30.0, 1e-9),
    ("RD01", "RC", "fail", 50.0, 1e-6),  # measured across the road-land polygon
    ("RD01", "RD", "pass", 24.0, 1e-6),
    ("SQ01", "Q1", "fail", 2.5, 1e-9),  # hard_area_m2
    ("SQ01", "Q2", "pass", 1.8, 1e-9),  # polygon area: passes the national 2 ha
    ("SQ01", "Q3", "pass", 0.8, 1e-9),
]


@pytest.mark.parametrize(("rule", "fid", "status", "measured", "tol"), NATIONAL)
def test_demo_national(demo_national, rule, fid, status, measured, tol):
    f = finding(demo_national, rule, fid)
    assert f["status"] == status
    assert f["measured"] == pytest.approx(measured, abs=tol)


def test_demo_findings_are_exactly_the_planted_ones(demo_national):
    expected = {(r, fid) for r, fid, status, _, _ in NATIONAL if status != "pass"}
    planted = {r for r, *_ in NATIONAL}
    found = {
        (r, fid)
        for r, fid in demo_national.violations[["rule_id", "feature_id"]].to_numpy()
        if r in planted
    }
    assert found == expected
    # national also carries CL03, RD02 and UR01 (53号, as Hebi restates them)
    v = demo_national.violations
    assert set(v.loc[v["rule_id"] == "CL03", "status"]) == {"fail"}  # 个别地段最高不超过: binding


def test_demo_hebi_plaza_limit_is_one_hectare(demo_hebi):
    q2 = finding(demo_hebi, "SQ01", "Q2")
    assert (q2["status"], q2["limit"], q2["measured"]) == ("fail", 1.0, pytest.approx(1.8))
    assert "广场集中硬地面积不超过1公顷" in q2["message"]  # extraction spaces removed
    assert q2["source_quote"] == "广场集中硬地面积不超过 1 公顷"  # the seed verbatim
    assert "无硬地面积字段" in q2["message"]  # says the polygon area was used
    assert finding(demo_hebi, "SQ01", "Q3")["status"] == "pass"


def test_demo_hebi_park_coverage(demo_hebi):
    f = finding(demo_hebi, "GR03", "*")
    # R1 and R2 (160,000 m2) lie within 500 m of park P1; R3 and R4 (160,000 m2) do not.
    assert f["measured"] == pytest.approx(50.0, abs=1e-6)
    assert (f["status"], f["limit"], f["unit"]) == ("fail", 99.0, "%")
    assert shapely.area(f["geometry"]) == pytest.approx(160_000, rel=1e-6)


def test_gr03_passes_when_all_residential_land_is_covered():
    scheme = compliance.read_scheme(DEMO)
    parcels = scheme.layers["parcels"]
    scheme.layers["parcels"] = parcels[~parcels["feature_id"].isin(["R3", "R4"])]
    result = compliance.evaluate(scheme, compliance.load_profile("jiaozuo"))
    f = finding(result, "GR03", "*")
    assert (f["status"], f["measured"], f["limit"]) == ("pass", pytest.approx(100.0), 82.0)


def test_partly_covered_parcel_reports_its_uncovered_part(demo_national):
    f = finding(demo_national, "GR01", "R2")
    # R2 spans x 1900..2100; park P1 ends at x 1750; beyond 300 m lies x 2050..2100.
    assert shapely.area(f["geometry"]) == pytest.approx(50 * 400, rel=1e-4)
    assert "20,000 平方米" in f["message"]


def test_narrowest_stretch_is_the_neck(demo_national):
    f = finding(demo_national, "EC01", "C2")
    minx, miny, maxx, maxy = shapely.bounds(f["geometry"])
    x0, y0 = 520_000.0, 3_950_000.0
    # the neck spans x -60..0 and y 3000..3200 (local metres)
    assert minx == pytest.approx(x0 - 60, abs=1.5)
    assert maxx == pytest.approx(x0, abs=1.5)
    assert miny == pytest.approx(y0 + 3000, abs=1.5)
    assert maxy == pytest.approx(y0 + 3200, abs=1.5)


def test_break_is_located_and_measured(demo_national):
    f = finding(demo_national, "EC02", "N+S")
    assert shapely.area(f["geometry"]) == pytest.approx(30 * 150, rel=1e-3)
    assert "宽约 30.0 米" in f["message"]
    gap = finding(demo_national, "EC02", "N+E")
    assert gap["geometry"].geom_type == "LineString"
    assert gap["geometry"].length == pytest.approx(80.0)


def test_every_finding_states_method_and_clause(demo_national):
    evaluated = demo_national.findings[demo_national.findings["status"] != "not_evaluated"]
    assert (evaluated["method"].str.len() > 0).all()
    for row in evaluated.itertuples():
        # the clause is quoted in the message, PDF-extraction spaces removed
        assert paste_quote(row.source_quote) in row.message
        assert row.source_seed in row.source
    rd = finding(demo_national, "RD01", "RC")
    assert "road-land polygon" in rd["method"]
    sq = finding(demo_national, "SQ01", "Q1")
    assert sq["method"] == "hard_area_m2 attribute"


def test_demo_summary(demo_national):
    s = demo_national.summary.set_index("rule_id")
    assert list(s.index) == [
        "CL01", "CL02", "CL03", "EC01", "EC02", "GR01", "GR02", "RD01", "RD02", "SQ01", "UR01"
    ]  # fmt: skip
    assert s.loc["CL01", "status"] == "fail"
    assert s.loc["CL02", "status"] == "warn"
    assert s.loc["EC02", ["checked", "failed"]].tolist() == [4, 2]
    assert s.loc["RD01", "worst"] == pytest.approx(60.0)
    assert s.loc["RD01", "skipped"] == 1  # the motorway is out of scope
    assert s.loc["EC01", "worst"] == pytest.approx(60.0, abs=0.01)
    assert s["crs"].eq("EPSG:4547 CGCS2000 / 3-degree Gauss-Kruger CM 114E").all()
    assert demo_national.exit_code == 1


def test_alxa_red_line_rule_covers_new_roads_and_warns():
    result = compliance.check(DEMO, "alxa")
    rd = result.findings[result.findings["rule_id"] == "RD01"]
    # only the new roads RA and RC are in scope; the plan says 原则 (in principle)
    assert sorted(rd["feature_id"]) == ["RA", "RC"]
    assert set(rd["status"]) == {"warn"}


# The clauses of issue 12 on the demo's buildings K1–K3, communities Y1–Y3 and
# waterlogging points W1, W2, under the profiles whose plans state them (year as today's
# default picks it: the nearest target year not passed, 2030 where a plan gives one).
NEW_CLAUSES = [
    ("hebi", "GB02", "fail", 60.0),  # 12,000 of 20,000 m² new floor area; 约束性 100 %
    ("hebi", "GB03", "pass", 60.0),  # K1 one star; 预期性 30 % by 2030
    ("hebi", "PF01", "pass", 60.0),  # 力争 40 %
    ("hebi", "CM01", "warn", 100 / 3),  # 1 of 3 communities complete; 预期性 60 % by 2030
    ("hebi", "DN02", "pass", 220_000 / 324_500),  # K3's 200,000 m² existing included
    ("jiaozuo", "GB02", "fail", 60.0),
    ("jiaozuo", "PF01", "fail", 60.0),  # 应全部采用装配式建造技术: 100 %
    ("jiaozuo", "CM01", "fail", 100 / 3),  # 60 % by 2030, binding
    ("xinjiang", "GB02", "fail", 60.0),
    ("xinjiang", "GB03", "pass", 60.0),  # 超过30%
    ("xinjiang", "PF01", "pass", 60.0),  # 2030: 超过40%
    ("alxa", "GB02", "fail", 60.0),
    ("bayannur", "GB02", "fail", 60.0),
    ("bayannur", "PF01", "pass", 60.0),  # 力争 30 %
    ("bayannur", "WL01", "fail", 1.0),  # W2 建设路积水点 not eliminated; W1 resolved
]


@pytest.mark.parametrize(("profile", "rule", "status", "measured"), NEW_CLAUSES)
def test_demo_new_clauses(profile, rule, status, measured):
    result = _checked(profile)
    row = result.summary.set_index("rule_id").loc[rule]
    assert row["status"] == status
    assert row["worst"] == pytest.approx(measured, abs=1e-6)
    assert row["inherited_from"] == ""  # each plan states the clause itself
    f = result.findings[result.findings["rule_id"] == rule]
    assert len(f) == 1 and f["feature_id"].iloc[0] == ("county" if rule == "DN02" else "*")


def test_demo_waterlogging_point_and_prefab_buildings_are_named():
    bayannur = _checked("bayannur").findings.set_index("rule_id")
    assert "未消除的积水点编号 W2；纳入统计 2 处" in bayannur.loc["WL01", "message"]
    assert "is 1 point, there should be none" in bayannur.loc["WL01", "message_en"]
    jiaozuo = _checked("jiaozuo").findings.set_index("rule_id")
    assert "未计入的新建建筑 1 栋（编号 K2）" in jiaozuo.loc["PF01", "message"]
    assert "应全部采用装配式建造技术" in jiaozuo.loc["PF01", "message"]


_CHECKED: dict[str, compliance.Result] = {}


def _checked(profile: str) -> compliance.Result:
    """The demo checked against a profile, once per test session."""
    if profile not in _CHECKED:
        _CHECKED[profile] = compliance.check(DEMO, profile)
    return _CHECKED[profile]


def test_demo_alxa_residential_district_tier():
    """Alxa's 5万平方米以上的居住小区: district D1 (56,000 m²) puts K1 and K2 in scope."""
    result = _checked("alxa")
    row = result.summary.set_index("rule_id").loc["GB01"]
    assert (row["status"], int(row["checked"]), int(row["failed"])) == ("fail", 2, 1)
    f = result.findings[result.findings["rule_id"] == "GB01"].set_index("feature_id")
    assert f.loc["K2", "status"] == "fail" and f.loc["K1", "status"] == "pass"
    assert "位于居住小区「滨河小区」（建筑面积 56,000 平方米）内" in f.loc["K2", "message"]
