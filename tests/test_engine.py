"""The engine's shared machinery: target years, ranges, exceptions, raster inputs."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from helpers import DEMO, ROOT, X0, Y0, evaluate_rule, finding, make_rule, make_scheme
from rasterio.transform import from_origin
from shapely.geometry import box

import compliance
from compliance.cli import main
from compliance.exceptions import read_exceptions
from compliance.rules.catalogue import choose_year, load_profile


@pytest.mark.parametrize(
    ("years", "asked", "today", "expected"),
    [
        ([2025, 2030], None, date(2026, 11, 21), 2030),  # 2025 has passed
        ([2025, 2030], None, date(2024, 1, 1), 2025),
        ([2025, 2030], 2025, None, 2025),
        ([2025, 2030], 2027, None, 2030),
        ([2025, 2030], 2040, None, 2030),  # every target passed: the latest stands
        ([2025], None, date(2026, 11, 21), 2025),
        ([2023, 2025, 2030], 2023, None, 2023),
    ],
)
def test_choose_year(years, asked, today, expected):
    assert choose_year(years, asked, today) == expected


PLAZA_TARGETS = """
profile: targets
title_zh: 测试
title_en: test
document: test
rules:
  SQ01:
    title_zh: 广场
    title_en: plaza
    severity: fail
    targets:
      - year: 2025
        limit: 2
        source: {seed: 000_71866985e9a857ba.txt, document: 新疆, section: （六）1,
                 quote: 县城广场的集中硬地面积不应超过2公顷}
      - year: 2030
        limit: 1
        source: {seed: 002_7c2abb0a5bb26d87.txt, document: 鹤壁, section: 三(一),
                 quote: 广场集中硬地面积不超过 1 公顷}
"""


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules" / "seeds", folder / "seeds")
    (folder / "targets.yaml").write_text(PLAZA_TARGETS, encoding="utf-8")
    return folder


def test_targets_resolve_limit_year_and_clause(catalogue):
    r2025 = load_profile("targets", catalogue, year=2025).rules["SQ01"]
    r2030 = load_profile("targets", catalogue, year=2030).rules["SQ01"]
    assert (r2025.limit, r2025.year, r2025.source.seed[:3]) == (2.0, 2025, "000")
    assert (r2030.limit, r2030.year, r2030.source.seed[:3]) == (1.0, 2030, "002")
    assert [t.year for t in r2025.targets] == [2025, 2030]
    result = compliance.check(DEMO, load_profile("targets", catalogue, year=2030))
    q2 = finding(result, "SQ01", "Q2")
    assert (q2["status"], q2["limit"], q2["year"]) == ("fail", 1.0, 2030)
    assert "广场集中硬地面积不超过1公顷" in q2["message"]  # extraction spaces removed
    assert q2["source_quote"] == "广场集中硬地面积不超过 1 公顷"  # the seed verbatim


def test_target_quote_is_checked_against_its_seed(catalogue):
    f = catalogue / "targets.yaml"
    f.write_text(PLAZA_TARGETS.replace("不超过 1 公顷", "不超过一公顷"), encoding="utf-8")
    with pytest.raises(compliance.RuleFileError, match=r"targets\.yaml:\d+: rule SQ01: the quote"):
        load_profile("targets", catalogue)


def test_cli_year_option(catalogue, tmp_path):
    args = ["rules", "--profile", "targets", "--rules-dir", str(catalogue)]
    out2025 = CliRunner().invoke(main, [*args, "--year", "2025"]).stdout
    out2030 = CliRunner().invoke(main, [*args, "--year", "2030"]).stdout
    assert "limit <= 2.00 ha, by 2025" in out2025
    assert "limit <= 1.00 ha, by 2030" in out2030
    assert "targets 2025: 2.00; 2030: 1.00" in out2030


def squares(*hectares: float) -> compliance.Scheme:
    n = len(hectares)
    return make_scheme(
        squares=gpd.GeoDataFrame(
            {"id": [f"Q{i}" for i in range(n)], "hard_area_m2": [h * 10_000 for h in hectares]},
            geometry=[box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(n)],
        )
    )


def test_between_rule_verdicts_and_worst():
    rule = make_rule(
        "DN02",
        "plaza_hard_area",
        layer="squares",
        unit="ha",
        comparison="between",
        limit_low=1.0,
        limit=2.0,
    )
    result = evaluate_rule(squares(0.5, 1.5, 3.0), rule)
    f = result.findings.set_index("feature_id")
    assert f["status"].tolist() == ["fail", "pass", "fail"]
    assert "低于下限 1.00 公顷，相差 0.50 公顷" in f.loc["Q0", "message"]
    assert "符合 1.00–2.00 公顷的要求" in f.loc["Q1", "message"]
    assert "超过上限 2.00 公顷，超出 1.00 公顷" in f.loc["Q2", "message"]
    assert f["limit_low"].tolist() == [1.0, 1.0, 1.0]
    row = result.summary.iloc[0]
    assert (row["worst"], row["limit_low"], row["limit"]) == (3.0, 1.0, 2.0)


def test_between_needs_a_lower_bound():
    with pytest.raises(ValueError, match="limit_low"):
        make_rule("DN02", "plaza_hard_area", comparison="between", limit=2.0)


def test_exceptions_mark_violations_excepted(tmp_path):
    ex = tmp_path / "exceptions.csv"
    ex.write_text(
        "rule_id,feature_id,reason,approval_ref\n"
        "SQ01,Q1,既有广场改造，经专家论证保留,鹤自然资规〔2024〕12号\n"
        "SQ01,Q9,不存在的广场,测试〔2024〕1号\n",
        encoding="utf-8",
    )
    result = compliance.check(DEMO, "national", exceptions=ex)
    q1 = finding(result, "SQ01", "Q1")
    assert q1["status"] == "excepted"
    assert q1["exception_ref"] == "鹤自然资规〔2024〕12号"
    assert "已按鹤自然资规〔2024〕12号论证批准为例外：既有广场改造，经专家论证保留" in q1["message"]
    sq = result.summary.set_index("rule_id").loc["SQ01"]
    assert (sq["status"], sq["excepted"], sq["failed"]) == ("excepted", 1, 0)
    assert any("SQ01 Q9" in n and "matches no violation" in n for n in result.notes)
    assert result.exit_code == 1  # other rules still fail

    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["check", str(DEMO), "--out", str(out), "--exceptions", str(ex), "--no-map"]
    )
    written = gpd.read_file(out / "findings.geojson")
    assert (written["status"] == "excepted").sum() == 1
    assert res.exit_code == 1


def test_exceptions_from_yaml(tmp_path):
    ex = tmp_path / "exceptions.yaml"
    ex.write_text(
        "- {rule_id: RD01, feature_id: RA, reason: 过境交通,\n"
        "   approval_ref: 批复1号, layer: roads}\n",
        encoding="utf-8",
    )
    table = read_exceptions(ex)
    assert table.loc[0, ["rule_id", "feature_id", "layer"]].tolist() == ["RD01", "RA", "roads"]
    result = compliance.check(DEMO, "national", exceptions=table)
    assert finding(result, "RD01", "RA")["status"] == "excepted"
    assert finding(result, "RD01", "RC")["status"] == "fail"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("rule_id,feature_id,reason\nSQ01,Q1,x\n", "missing column(s) approval_ref"),
        ("rule_id,feature_id,reason,approval_ref,who\nSQ01,Q1,x,y,z\n", "unknown column(s) who"),
        ("rule_id,feature_id,reason,approval_ref\nSQ01,Q1,,y\n", "line 2: 'reason' is empty"),
    ],
)
def test_bad_exceptions_file_is_exit_2(tmp_path, content, message):
    ex = tmp_path / "ex.csv"
    ex.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["check", str(DEMO), "--out", str(out), "--exceptions", str(ex)])
    assert res.exit_code == 2
    assert message in res.stderr and res.stderr.count("\n") == 1
    assert not out.exists()


def _raster(path: Path, crs: str | None) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(X0, Y0 + 400, 100, 100),
    ) as dst:
        dst.write(np.ones((1, 4, 4), dtype="float32"))
    return path


def test_raster_found_in_scheme_folder(tmp_path):
    folder = tmp_path / "scheme"
    folder.mkdir()
    gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 400, Y0 + 400)], crs="EPSG:4547").to_file(
        folder / "boundary.gpkg"
    )
    _raster(folder / "population.tif", "EPSG:4547")
    scheme = compliance.read_scheme(folder)
    assert set(scheme.rasters) == {"population"}
    assert scheme.rasters["population"].crs.to_epsg() == 4547


@pytest.mark.parametrize(
    ("crs", "make", "message"),
    [
        (None, True, "the population raster has no CRS"),
        ("EPSG:4547", False, "population raster not found"),
    ],
)
def test_bad_raster_is_exit_2(tmp_path, crs, make, message):
    tif = tmp_path / "pop.tif"
    if make:
        _raster(tif, crs)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["check", str(DEMO), "--out", str(out), "--population-raster", str(tif)]
    )
    assert res.exit_code == 2 and message in res.stderr
    assert not out.exists()


def test_small_schemes_are_evaluated_on_one_thread_large_ones_on_the_cores(monkeypatch):
    from compliance import engine

    def buildings(n: int) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            geometry=[box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(n)]
        )

    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    small = make_scheme(buildings=buildings(engine.SMALL_SCHEME_FEATURES - 1))
    large = make_scheme(buildings=buildings(engine.SMALL_SCHEME_FEATURES))
    assert engine.default_threads(small) == 1
    assert engine.default_threads(large) == 2
    assert engine.default_threads() == 2  # no scheme: the cores

    seen: list[int] = []
    real_pool = engine.ThreadPoolExecutor

    def pool(max_workers: int) -> object:
        seen.append(max_workers)
        return real_pool(max_workers=max_workers)

    monkeypatch.setattr(engine, "ThreadPoolExecutor", pool)
    profile = load_profile("national")
    compliance.evaluate(small, profile)
    assert seen == []  # one thread: no pool
    compliance.evaluate(large, profile)
    assert seen == [2]


def test_touching_clusters_are_drawn_where_they_meet_not_as_a_zero_length_line():
    # A and B share the edge x = X0 + 500; A and C meet at one corner; C and D overlap.
    clusters = gpd.GeoDataFrame(
        {"id": ["A", "B", "C", "D"]},
        geometry=[
            box(X0, Y0, X0 + 500, Y0 + 500),
            box(X0 + 500, Y0 + 100, X0 + 900, Y0 + 300),
            box(X0 - 400, Y0 - 400, X0, Y0),
            box(X0 - 450, Y0 - 450, X0 - 350, Y0 - 350),
        ],
    )
    rule = load_profile("national").rules["EC02"]
    result = evaluate_rule(make_scheme(clusters=clusters), rule)
    got = result.findings.set_index("feature_id")
    assert (got["measured"] == 0.0).all() and set(got["status"]) == {"fail"}
    shared_edge = shapely.LineString([(X0 + 500, Y0 + 100), (X0 + 500, Y0 + 300)])
    assert got.loc["A+B", "geometry"].normalize().equals(shared_edge.normalize())
    assert got.loc["A+C", "geometry"].equals(shapely.Point(X0, Y0))
    assert (
        got.loc["C+D", "geometry"]
        .normalize()
        .equals(box(X0 - 400, Y0 - 400, X0 - 350, Y0 - 350).normalize())
    )
    assert "最近距离 0.0 米" in got.loc["A+B", "message"]


@pytest.mark.parametrize(
    ("kinds", "city"),
    [
        (["city"], True),
        (["city", "city"], True),
        (["county"], False),
        (["city", "county"], False),  # a city with its counties: the county-town rules apply
        (["extent"], False),  # an OpenStreetMap study area says nothing
        ([None], False),
        (None, False),  # no kind field
    ],
)
def test_a_scheme_is_a_city_only_when_every_boundary_kind_says_so(kinds, city):
    from compliance.engine import is_city

    columns = {} if kinds is None else {"kind": kinds}
    n = 1 if kinds is None else len(kinds)
    boundary = gpd.GeoDataFrame(
        columns,
        geometry=[box(X0 + 2000 * i, Y0, X0 + 2000 * i + 1000, Y0 + 1000) for i in range(n)],
    )
    assert is_city(make_scheme(boundary=boundary)) is city
    assert (
        is_city(
            make_scheme(roads=gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 1, Y0 + 1).exterior]))
        )
        is False
    )


def test_county_town_rules_do_not_apply_to_a_city(tmp_path):
    roads = gpd.GeoDataFrame(
        {"id": ["R1"], "red_line_width_m": [60.0]},
        geometry=[shapely.LineString([(X0, Y0), (X0 + 500, Y0)])],
    )
    clusters = gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)])
    profile = load_profile("hebi")
    for kind, rd01 in (("city", "not_evaluated"), ("county", "fail"), ("extent", "fail")):
        boundary = gpd.GeoDataFrame({"kind": [kind]}, geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)])
        scheme = make_scheme(boundary=boundary, roads=roads, clusters=clusters)
        summary = compliance.evaluate(scheme, profile).summary.set_index("rule_id")
        assert summary.loc["RD01", "status"] == rd01, kind
        assert summary.loc["CL01", "status"] == "pass"  # a city rule applies to both
        if kind == "city":
            for code in ("RD01", "SQ01", "DN01", "DN02", "BH04", "BH05"):
                assert summary.loc[code, "status"] == "not_evaluated"
                assert summary.loc[code, "note"].startswith("not applicable: the clause is about")
                assert summary.loc[code, "note_zh"].startswith("不适用：该条针对县城")
    # Alxa's RD01 is about the roads of its towns (中心城镇、重点城镇), not county towns only.
    city = make_scheme(
        boundary=gpd.GeoDataFrame({"kind": ["city"]}, geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)]),
        roads=roads.assign(is_new=[True]),
    )
    alxa = compliance.evaluate(city, load_profile("alxa")).summary.set_index("rule_id")
    assert alxa.loc["RD01", "status"] == "warn"  # 原则: a warning, but it applies


def test_a_boundary_kind_written_in_chinese_makes_a_city(tmp_path):
    from compliance.engine import is_city

    path = tmp_path / "scheme.gpkg"
    gpd.GeoDataFrame(
        {"类型": ["城市"]}, geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)], crs="EPSG:4547"
    ).to_file(path, layer="规划范围")
    gpd.GeoDataFrame(
        {"道路红线宽度": [60.0]},
        geometry=[shapely.LineString([(X0, Y0), (X0 + 500, Y0)])],
        crs="EPSG:4547",
    ).to_file(path, layer="道路")
    scheme = compliance.read_scheme(path)
    assert scheme.layers["roads"]["red_line_width_m"].tolist() == [60.0]
    assert is_city(scheme)
    summary = compliance.evaluate(scheme, load_profile("national")).summary.set_index("rule_id")
    assert summary.loc["RD01", "status"] == "not_evaluated"


def test_passes_false_leaves_only_pass_messages_out():
    """evaluate(passes=False): the same findings, but passing ones carry no message.

    The violations are the same in every column; a passing finding keeps its
    status and feature, and its measured value unless a check left it out (NaN).
    """
    scheme = compliance.read_scheme(ROOT / "sample_data" / "demo" / "demo.gpkg")
    profile = compliance.load_profile("hebi")
    full = compliance.evaluate(scheme, profile)
    lean = compliance.evaluate(scheme, profile, passes=False)
    cols = ["rule_id", "feature_id", "status"]
    assert full.findings[cols].equals(lean.findings[cols])
    assert full.summary.equals(lean.summary)
    said = full.findings["status"] != "pass"
    assert (
        full.findings[said]
        .drop(columns="geometry")
        .equals(lean.findings[said].drop(columns="geometry"))
    )
    assert full.findings.geometry[said].to_wkb().equals(lean.findings.geometry[said].to_wkb())
    kept = lean.findings.loc[~said, "measured"]
    assert (kept.isna() | (kept == full.findings.loc[~said, "measured"])).all()
    for col in ("message", "message_en"):
        assert (lean.findings.loc[~said, col] == "").all()
        assert (full.findings.loc[~said, col] != "").all()
    assert (~said).sum() > 5  # passing findings there are
