"""Chinese twins of the English texts: the summary's ``note_zh`` and the findings' ``method_zh``.

A Chinese reviewer pastes the method and the summary's note into a review
opinion: every English method and note has a Chinese one, and the Chinese
report shows them instead of the English.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from helpers import DEMO, GK, ROOT, X0, Y0, make_rule, make_scheme
from markupsafe import escape
from shapely.geometry import box

import compliance
from compliance.engine import FINDING_COLUMNS, SUMMARY_COLUMNS
from compliance.outputs.files import write_outputs
from compliance.outputs.report import render_report, write_findings_gpkg
from compliance.rules.checks.common import missing_layer

NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"
GUIXI = ROOT / "sample_data" / "jiangxi_guixi" / "scheme.gpkg"
SCHEMES = {"demo": DEMO, "nanjing_xinjiekou": NANJING, "jiangxi_guixi": GUIXI}
PROFILES = sorted(compliance.list_profiles())
CJK = re.compile(r"[\u4e00-\u9fff]")


def _esc(text: str) -> str:
    """Text as the report's template writes it (escaped by Jinja)."""
    return str(escape(text))


@pytest.fixture(scope="module")
def schemes() -> dict[str, compliance.Scheme]:
    """Each sample scheme read once for all profiles."""
    return {name: compliance.read_scheme(path) for name, path in SCHEMES.items()}


def _assert_methods_in_chinese(findings: pd.DataFrame) -> None:
    with_method = findings[findings["method"].astype(str) != ""]
    zh = with_method["method_zh"].astype(str)
    bad = with_method[~zh.map(lambda t: bool(CJK.search(t)))]
    assert bad.empty, bad[["rule_id", "method", "method_zh"]].drop_duplicates().to_string()
    # each English variant has its own Chinese one, and back
    pairs = with_method[["method", "method_zh"]].drop_duplicates()
    assert pairs["method"].is_unique and pairs["method_zh"].is_unique, pairs.to_string()
    # not-evaluated rows have neither
    ne = findings[findings["status"] == "not_evaluated"]
    assert (ne["method_zh"] == "").all()


def _assert_notes_in_chinese(summary: pd.DataFrame) -> None:
    for r in summary.itertuples():
        assert bool(r.note) == bool(r.note_zh), (r.rule_id, r.note, r.note_zh)
        if r.note_zh:
            assert CJK.search(r.note_zh), (r.rule_id, r.note_zh)


def test_column_lists_end_with_the_chinese_twins() -> None:
    assert FINDING_COLUMNS[-2:] == ["method_zh", "inherited_from"]
    assert FINDING_COLUMNS.index("method") == 9  # the existing columns keep their places
    assert SUMMARY_COLUMNS[-2:] == ["note_zh", "inherited_from"]
    assert SUMMARY_COLUMNS[:18] == [
        "rule_id", "title", "status", "checked", "failed", "worst", "limit", "unit", "source",
        "title_en", "severity", "year", "skipped", "note", "crs", "profile", "limit_low",
        "excepted",
    ]  # fmt: skip


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("place", sorted(SCHEMES))
def test_every_method_and_note_has_a_chinese_twin(
    schemes: dict[str, compliance.Scheme], place: str, profile: str
) -> None:
    result = compliance.check(schemes[place], profile)
    _assert_methods_in_chinese(result.findings)
    _assert_notes_in_chinese(result.summary)


def test_demo_notes_in_chinese(demo_hebi: compliance.Result) -> None:
    s = demo_hebi.summary.set_index("rule_id")
    # not evaluated: the check's own Chinese reason
    assert s.loc["UR01", "status"] == "not_evaluated"
    assert s.loc["UR01", "note_zh"] == missing_layer("renewal_units").not_evaluated_zh
    assert s.loc["UR01", "note_zh"] == "方案缺少城市更新单元图层 renewal_units"
    assert s.loc["PM01", "note_zh"] == (
        "缺少透水面数据：地块无 permeable_area_m2 字段，也无不透水面栅格或土地覆盖栅格"
    )
    # skipped: the motorway is out of RD01's scope
    assert s.loc["RD01", "note"] == "1 skipped: 1 out of scope (class or not new)"
    assert s.loc["RD01", "note_zh"] == "未检查 1 项：道路等级不适用或非新建 1 条"
    assert s.loc["RD02", "note_zh"] == "未检查 2 项：道路用地面不是道路中心线，不计入"
    cl03 = s.loc["CL03", "note_zh"]
    assert cl03.startswith(f"未检查 {s.loc['CL03', 'skipped']} 项：在统计范围内面积不足 50% 的网格")
    assert "；无人口数据的网格 " in cl03
    assert (s.loc[s["note"] == "", "note_zh"] == "").all()


def test_demo_methods_in_chinese(demo_hebi: compliance.Result) -> None:
    f = demo_hebi.findings.set_index(["rule_id", "feature_id"])
    assert f.loc[("RD01", "RC"), "method_zh"] == (
        "道路用地面垂直于中心线方向的宽度，w = (P − √(P² − 16A)) / 4"
    )
    assert f.loc[("SQ01", "Q1"), "method_zh"] == "集中硬地面积取自 hard_area_m2 字段"
    assert f.loc[("CL02", "N"), "method_zh"] == "组团 population 字段 ÷ 组团面积"
    gr01 = f.xs("GR01", level="rule_id")["method_zh"].iloc[0]
    assert gr01 == (
        "自面积不小于 2,000 平方米的公园绿地、绿地边界按直线服务半径 300 米作缓冲区；"
        "地块在服务半径外的面积不少于其 1% 时判为未覆盖；"
        "地块内任一点（含内部）至最近计入绿地的最远距离，精度 0.1 米（分支定界）"
    )


def test_population_raster_method_in_chinese() -> None:
    raster = ROOT / "sample_data" / "rasters" / "demo_population.tif"
    result = compliance.check(DEMO, "hebi", rasters={"population": raster})
    f = result.findings
    cl03 = f[(f["rule_id"] == "CL03") & f["method"].str.contains("population raster")]
    assert len(cl03)
    expected = (
        "网格人口（人口栅格 demo_population.tif（EPSG:4547）：各像元人口按像元覆盖比例加权求和）"
    )
    assert all(expected in t for t in cl03["method_zh"])
    _assert_methods_in_chinese(f)


# --------------------------------------------------------------------------- the other checks


def _b(fid: str, x: float, y: float, w: float = 20.0, d: float = 20.0, **attrs: object) -> dict:
    return {"id": fid, "geometry": box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + d), **attrs}


def _layer(*records: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(list(records), geometry="geometry", crs=GK)


def _rich_scheme() -> compliance.Scheme:
    """Buildings, renewal units, facilities, roads and greenways: every variant of the methods."""
    nan = np.nan
    common = {"demolished": False, "investor": "private", "solar_thermal": True, "green_star": 1}
    buildings = _layer(
        # residential, height given; tall
        _b("H1", 0, 0, is_new=True, use="residential", height_m=120.0, floors=40.0,
           floor_area_m2=20_000.0, pv_area_m2=100.0, roof_area_m2=400.0, **common),
        # residential, height from floors, floor area from the footprint
        _b("H2", 300, 0, is_new=True, use="residential", height_m=nan, floors=8.0,
           floor_area_m2=nan, pv_area_m2=50.0, roof_area_m2=nan, **common),
        # a school: floors from the height, roof from the footprint
        _b("T1", 100, 0, is_new=True, use="school", height_m=150.0, floors=nan,
           floor_area_m2=30_000.0, pv_area_m2=10.0, roof_area_m2=nan, **common),
        # old, demolished, inside renewal unit U2
        _b("O1", 2000, 0, is_new=False, use="residential", height_m=18.0, floors=6.0,
           floor_area_m2=5000.0, pv_area_m2=nan, roof_area_m2=nan,
           **{**common, "demolished": True}),
        _b("O2", 2500, 0, is_new=False, use="residential", height_m=nan, floors=nan,
           floor_area_m2=nan, pv_area_m2=nan, roof_area_m2=nan, **common),
    )  # fmt: skip
    units = _layer(
        _b("U1", -500, -500, 400, 400, existing_floor_area_m2=1000.0,
           demolished_floor_area_m2=100.0),
        _b("U2", 1900, -100, 400, 400, existing_floor_area_m2=nan, demolished_floor_area_m2=nan),
    )  # fmt: skip
    zones = _layer(_b("Z", 1000, 1000, 100, 100, name="东区"))
    parcels = _layer(
        _b("P", -10, 200, land_use="0701", population=100.0, permeable_area_m2=80.0),
        _b("Q", 400, 200, land_use="0701", population=50.0, permeable_area_m2=nan),
    )
    boundary = _layer(_b("B", -1000, -1000, 4000, 4000, population=5000.0))
    facilities = gpd.GeoDataFrame(
        {"kind": ["school", "clinic"]},
        geometry=[shapely.Point(X0, Y0 + 600), shapely.Point(X0 + 400, Y0 + 600)],
        crs=GK,
    )
    line = shapely.LineString([(X0 - 500, Y0 + 210), (X0 + 1000, Y0 + 210)])
    spur = shapely.LineString([(X0, Y0 + 210), (X0, Y0 + 600)])
    spur2 = shapely.LineString([(X0 + 400, Y0 + 210), (X0 + 400, Y0 + 600)])
    roads = gpd.GeoDataFrame(
        {"road_class": ["residential"] * 3, "red_line_width_m": [20.0] * 3},
        geometry=[line, spur, spur2],
        crs=GK,
    )
    greenways = gpd.GeoDataFrame(geometry=[line], crs=GK)
    return make_scheme(
        buildings=buildings,
        renewal_units=units,
        height_zones=zones,
        parcels=parcels,
        boundary=boundary,
        facilities=facilities,
        roads=roads,
        greenways=greenways,
    )


def _rules() -> list[compliance.Rule]:
    r = make_rule
    return [
        r("BH01", "building_height", limit=100.0, params={"new_only": True}),
        r("BH02", "tall_building_clustering", limit=500.0),
        r("BH12", "tall_building_clustering", limit=0.0, params={"method": "zones"}),
        r("BH04", "building_floors", limit=18.0, unit="floors", params={"uses": None}),
        r("BH05", "low_rise_share", comparison=">=", limit=70.0, unit="%", params={"uses": None}),
        r("EN01", "pv_coverage", comparison=">=", limit=50.0, unit="%", params={"uses": None}),
        r("EN02", "solar_thermal", comparison=">=", limit=100.0, unit="%"),
        r(
            "GB01",
            "green_star",
            comparison=">=",
            limit=1.0,
            unit="stars",
            params={"tiers": [{"min_floor_area_m2": 1000, "stars": 1}]},
        ),
        r("UR01", "demolition_share", layer="renewal_units", limit=20.0, unit="%"),
        r("DN02", "floor_area_ratio", layer="boundary", limit=2.0, unit="ratio"),
        r("LC01", "life_circle", layer="parcels", limit=1000.0, params={"kinds": ["school"]}),
        r(
            "LC02",
            "life_circle",
            layer="parcels",
            limit=1000.0,
            params={"kinds": ["school", "clinic"], "method": "network"},
        ),
        r(
            "CL03",
            "local_density",
            layer="parcels",
            limit=15_000.0,
            unit="persons/km2",
            params={"method": "parcels"},
        ),
        r("GR06", "greenway_per_capita", layer="boundary", comparison=">=", limit=1.0,
          unit="km/10k persons"),
        r("PM01", "permeable_share", layer="boundary", comparison=">=", limit=40.0, unit="%"),
        r(
            "DN01",
            "population_density",
            layer="boundary",
            limit=10_000.0,
            unit="persons/km2",
            params={"zone_types": None},
        ),
    ]  # fmt: skip


def test_every_other_check_has_its_method_and_skip_reason_in_chinese() -> None:
    rules = _rules()
    profile = compliance.Profile(
        name="test",
        title_zh="test",
        title_en="test",
        document="test",
        rules={rule.code: rule for rule in rules},
    )
    result = compliance.evaluate(_rich_scheme(), profile)
    s = result.summary.set_index("rule_id")
    assert (s["status"] != "not_evaluated").all(), s[["status", "note"]].to_string()
    f = result.findings
    _assert_methods_in_chinese(f)
    _assert_notes_in_chinese(result.summary)
    methods = f.groupby("rule_id")["method_zh"].unique()
    # both variants of the per-row methods
    assert len(methods["BH01"]) == 2 and len(methods["BH04"]) == 2
    assert len(methods["EN01"]) == 2 and len(methods["EN02"]) == 2 and len(methods["UR01"]) == 2
    assert "高度控制区 height_zones" in methods["BH12"][0]
    assert "向上取整（估算）" in " ".join(methods["BH04"])
    assert methods["LC02"][0].startswith("沿 roads 图层道路中心线路网")
    assert "；以规划范围作为建成区" in methods["PM01"][0]
    assert "地块人口（population 字段）÷ 地块面积" in methods["CL03"]
    # skipped features, counted, in Chinese
    assert s.loc["BH01", "note_zh"] == "未检查 2 项：非新建 2 栋"
    assert s.loc["BH02", "note_zh"] == ("未检查 3 项：无高度与层数 1 栋；高度低于 100 米 2 栋")
    assert s.loc["DN02", "note_zh"] == (
        "未检查 1 项：无 floor_area_m2、floors 与 height_m 的建筑 1 栋"
    )


# --------------------------------------------------------------------------- the outputs


@pytest.fixture(scope="module")
def demo_out(demo_hebi: compliance.Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zh") / "out"
    write_outputs(demo_hebi, out, map_html=False)
    return out


def test_summary_csv_ends_with_note_zh(demo_hebi: compliance.Result, demo_out: Path) -> None:
    back = pd.read_csv(demo_out / "summary.csv", dtype=object, keep_default_na=False)
    assert list(back.columns) == SUMMARY_COLUMNS and back.columns[-2] == "note_zh"
    assert back["note_zh"].tolist() == demo_hebi.summary["note_zh"].tolist()


def test_findings_files_carry_method_zh(demo_hebi: compliance.Result, tmp_path: Path) -> None:
    path = tmp_path / "findings.gpkg"
    write_findings_gpkg(demo_hebi, path)
    summary = pyogrio.read_info(path, layer="summary")
    types = dict(zip(summary["fields"], summary["dtypes"], strict=True))
    assert list(summary["fields"]) == SUMMARY_COLUMNS
    assert types["note_zh"] == "object"  # TEXT
    back = pyogrio.read_dataframe(path, layer="summary")
    rd01 = back.loc[back["rule_id"] == "RD01", "note_zh"].iloc[0]
    assert rd01 == "未检查 1 项：道路等级不适用或非新建 1 条"
    sq01 = pyogrio.read_dataframe(path, layer="SQ01")
    assert list(sq01.columns[:-1]) == FINDING_COLUMNS
    assert set(sq01["method_zh"]) <= set(demo_hebi.findings["method_zh"]) and all(
        CJK.search(t) for t in sq01["method_zh"]
    )


def test_geojson_carries_method_zh(demo_out: Path) -> None:
    back = gpd.read_file(demo_out / "findings.geojson")
    assert "method_zh" in back.columns
    shown = back[back["method"] != ""]
    assert len(shown) and shown["method_zh"].map(lambda t: bool(CJK.search(t))).all()


def test_chinese_report_shows_chinese_method_and_notes(
    demo_hebi: compliance.Result, tmp_path: Path
) -> None:
    render_report(demo_hebi, tmp_path / "report.html", today=date(2024, 5, 1))
    text = (tmp_path / "report.html").read_text("utf-8")
    f = demo_hebi.violations
    for method_en, method_zh in f[["method", "method_zh"]].drop_duplicates().itertuples(False):
        assert _esc(method_zh) in text
        assert _esc(method_en) not in text, method_en
    s = demo_hebi.summary.set_index("rule_id")
    assert s.loc["UR01", "note_zh"] in text  # in the table of rules not evaluated
    assert f"备注：{s.loc['RD01', 'note_zh']}" in text
    assert _esc(s.loc["RD01", "note"]) not in text
    assert "skipped" not in text and "out of scope" not in text
    render_report(demo_hebi, tmp_path / "report_en.html", lang="en", today=date(2024, 5, 1))
    en = (tmp_path / "report_en.html").read_text("utf-8")
    assert _esc(s.loc["RD01", "note"]) in en
    for method_en, method_zh in f[["method", "method_zh"]].drop_duplicates().itertuples(False):
        assert _esc(method_en) in en and _esc(method_zh) not in en
