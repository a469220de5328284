"""The reviewer's report (``report.html``) and ``findings.gpkg``.

The HTML is parsed with the standard library's ``html.parser`` into a small
tree, and the assertions read what a reviewer reads: the rule table, the
sentence of each violation, the numbers, the clause, the inline map and the
link into ``map.html``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS

import compliance
from compliance.engine import Result
from compliance.outputs.map import violation_href
from compliance.outputs.report import (
    LABELS,
    MAX_SVG_VERTICES,
    render_report,
    svg_map,
    write_findings_gpkg,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"
NANJING = ROOT / "sample_data" / "nanjing_xinjiekou" / "scheme.gpkg"
DAY = date(2024, 5, 1)
VIOLATION = ("fail", "warn", "excepted")
_VOID = {"meta", "br", "col", "img", "input", "link", "hr", "source", "wbr", "area", "base"}


# --------------------------------------------------------------------------- a small DOM


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = dataclasses.field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(
                    (c.attrs.get(k.rstrip("_")) or "").split().count(v)
                    if k.rstrip("_") == "class"
                    else c.attrs.get(k.rstrip("_")) == v
                    for k, v in attrs.items()
                ):
                    out.append(c)
                out.extend(c.iter(tag, **attrs))
        return out

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.iter(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html_text: str) -> Node:
    """The page as a tree; asserts that every element is closed where it opened."""
    builder = _TreeBuilder()
    builder.feed(html_text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def nanjing() -> Result:
    return compliance.check(NANJING, "national")


@pytest.fixture(scope="module")
def demo_zh(demo_hebi: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Node]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    render_report(demo_hebi, path, today=DAY)
    text = path.read_text(encoding="utf-8")
    return text, parse(text)


@pytest.fixture(scope="module")
def demo_en(demo_hebi: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Node]:
    path = tmp_path_factory.mktemp("report") / "report_en.html"
    render_report(demo_hebi, path, lang="en", today=DAY)
    text = path.read_text(encoding="utf-8")
    return text, parse(text)


@pytest.fixture(scope="module")
def nanjing_zh(nanjing: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Node]:
    path = tmp_path_factory.mktemp("report") / "report.html"
    render_report(nanjing, path, today=DAY)
    text = path.read_text(encoding="utf-8")
    return text, parse(text)


def _articles(page: Node) -> dict[tuple[str, str], Node]:
    out = {}
    for a in page.iter("article", class_="violation"):
        key = (a.attrs["data-rule"], a.attrs["data-fid"])
        assert key not in out, f"two sections for {key}"
        out[key] = a
    return out


def _rule_rows(page: Node) -> dict[str, Node]:
    return {tr.attrs["data-rule"]: tr for tr in page.iter("tr", class_="rule")}


def _facts(article: Node) -> dict[str, str]:
    """Label → value of a violation's fact table."""
    table = article.one("table", class_="facts")
    return {tr.one("th").text(): tr.one("td").text() for tr in table.iter("tr")}


def _violations(result: Result) -> pd.DataFrame:
    f = result.findings
    return f[f["status"].isin(VIOLATION)]


# --------------------------------------------------------------------------- report.html, demo


def test_demo_header_names_scheme_profile_years_crs_and_date(
    demo_hebi: Result, demo_zh: tuple[str, Node]
) -> None:
    _, page = demo_zh
    meta = {
        tr.one("th").text(): tr.one("td").text()
        for tr in page.one("table", class_="meta").iter("tr")
    }
    assert meta["方案 Scheme"].endswith("demo.gpkg")
    assert meta["规则集 Profile"] == "hebi — 鹤壁市"
    assert meta["依据文件 Plan"] == "《鹤壁市城乡建设领域碳达峰行动方案》（鹤建综[2023]61号）"
    assert meta["目标年份 Target year"].startswith(
        "2025（EN01、GR03、PF01）；2030（CM01、GB01、GB03、GR04、GR06、PM01）"
    )
    assert meta["量测坐标系 Measuring CRS"].startswith(
        "CGCS2000 3度带高斯-克吕格投影，中央经线 114°E（EPSG:4547）"
    )
    assert meta["检查日期 Date"] == "2024-05-01"
    rules, findings = page.one("div", class_="counts").iter("span", class_="group")
    # 28 rules: 13 fail (GB02, BH05, DN01 … on the buildings, communities and boundary),
    # 3 warn (CL01 inherited from national, CL02 原则上, CM01 预期性), 6 pass (BH01, BH04,
    # BH06, DN02, GB03, PF01), 6 not evaluated (BH02, EN01, GB01, GR06, PM01, UR01)
    assert [b.text() for b in rules.iter("span", class_="badge")] == [
        "不符合 fail 13",
        "提示 warn 3",
        "例外 excepted 0",
        "符合 pass 6",
        "未评估 not evaluated 6",
    ]
    assert [b.text() for b in findings.iter("span", class_="badge")] == [
        "不符合 fail 21",
        "提示 warn 3",  # CL01 N (inherited), CL02 N, CM01 *
        "例外 excepted 0",
    ]
    s = demo_hebi.summary.set_index("rule_id")["status"]
    assert sorted(s[s == "pass"].index) == ["BH01", "BH04", "BH06", "DN02", "GB03", "PF01"]
    assert sorted(s[s == "warn"].index) == ["CL01", "CL02", "CM01"]
    assert sorted(s[s == "not_evaluated"].index) == ["BH02", "EN01", "GB01", "GR06", "PM01", "UR01"]


def test_demo_rule_table_has_every_rule_with_status_limit_and_clause(
    demo_hebi: Result, demo_zh: tuple[str, Node]
) -> None:
    _, page = demo_zh
    rows = _rule_rows(page)
    # every rule: failures first, then warnings and passes (profile order within a
    # status), the rules not evaluated last, in a table of their own
    s = demo_hebi.summary
    rank = s["status"].map({"fail": 0, "warn": 1, "excepted": 2, "pass": 3, "not_evaluated": 4})
    assert list(rows) == list(s.assign(rank=rank).sort_values("rank", kind="stable")["rule_id"])
    assert len(rows) == len(s) == len(demo_hebi.profile.rules) == 28
    not_evaluated = {tr.attrs["data-rule"] for tr in page.one("table", class_="ne").iter("tr")
                     if "data-rule" in tr.attrs}  # fmt: skip
    assert not_evaluated == set(s.loc[s["status"] == "not_evaluated", "rule_id"])
    for r in demo_hebi.summary.itertuples():
        tr = rows[r.rule_id]
        assert tr.attrs["data-status"] == r.status
        if r.status != "not_evaluated":
            badge = tr.one("span", class_="badge").text()
            assert badge == LABELS["zh"][f"status.{r.status}"]
        assert r.title in tr.text()
    cells = [td.text() for td in rows["SQ01"].iter("td")]
    assert cells[3] == "3 / 2 / 0"  # checked / failed / excepted
    assert cells[4] == "2.50 公顷"
    assert cells[5] == "≤ 1.00 公顷"
    assert "广场集中硬地面积不超过1公顷" in cells[7]  # the seed's extraction spaces removed
    assert "（鹤建综[2023]61号） 三(一)" in cells[7]
    dn01 = [td.text() for td in rows["DN01"].iter("td")]
    assert dn01[5] == "6,000–10,000 人/平方公里"  # a range as low–high
    assert dn01[4] == "5,252 人/平方公里"
    assert [td.text() for td in rows["EC01"].iter("td")][4:6] == ["60.0 米", "≥ 100.0 米"]
    assert [td.text() for td in rows["GR03"].iter("td")][6] == "2025"
    # not evaluated: the reason, in Chinese
    assert rows["PM01"].one("td", class_="reason").text().startswith("缺少透水面数据")
    assert (
        rows["UR01"].one("td", class_="reason").text() == "方案缺少城市更新单元图层 renewal_units"
    )


def test_demo_every_violation_has_its_section(demo_hebi: Result, demo_zh: tuple[str, Node]) -> None:
    _, page = demo_zh
    articles = _articles(page)
    v = _violations(demo_hebi)
    assert set(articles) == set(zip(v["rule_id"], v["feature_id"], strict=True))
    assert len(articles) == len(v) == 24
    for row in v.itertuples():
        a = articles[(row.rule_id, row.feature_id)]
        assert a.attrs["data-status"] == row.status
        # the sentence to paste, exactly, with its copy button
        sentence = a.one("p", class_="sentence")
        assert sentence.text() == row.message
        button = a.one("button", class_="copy")
        assert button.attrs["data-target"] == sentence.attrs["id"]
        # an inline map with the violation drawn
        svg = a.one("svg")
        assert svg.iter("path", class_="violation")
        # the link into the map
        link = a.one("a", class_="maplink")
        assert (
            link.attrs["href"]
            == f"map.html#rule={row.rule_id}&fid={quote(row.feature_id, safe='*')}"
        )
    assert articles[("EC02", "N+S")].one("a", class_="maplink").attrs["href"] == (
        "map.html#rule=EC02&fid=N%2BS"
    )


def test_demo_red_line_section_says_where_by_how_much_and_which_clause(
    demo_hebi: Result, demo_zh: tuple[str, Node]
) -> None:
    _, page = demo_zh
    a = _articles(page)[("RD01", "RC")]
    sentence = a.one("p", class_="sentence").text()
    assert "道路用地「淇河路」的红线宽度为 50.0 米，超过上限 40.0 米，超出 10.0 米" in sentence
    assert "“县城内部道路红线宽度不超过40米”" in sentence  # extraction spaces removed
    facts = _facts(a)
    assert facts["量测值 Measured"] == "50.0 米"
    assert facts["限值 Limit"] == "≤ 40.0 米"
    assert facts["差值 By"] == "超出 10.0 米"
    assert facts["方法 Method"] == "道路用地面垂直于中心线方向的宽度，w = (P − √(P² − 16A)) / 4"
    assert facts["对象 Feature"] == "RC（图层 roads）"
    f = demo_hebi.findings
    geom = f[(f["rule_id"] == "RD01") & (f["feature_id"] == "RC")].geometry
    c = geom.centroid.iloc[0]
    ll = geom.centroid.to_crs(4326).iloc[0]
    location = facts["位置 Location"]
    assert f"经纬度（中心点，EPSG:4326）：{ll.x:.6f}, {ll.y:.6f}" in location
    assert f"X（北）{c.y:,.1f} 米，Y（东）{c.x:,.1f} 米" in location  # X north, Y east
    assert "中央经线 114°E（EPSG:4547）" in location
    assert 113.5 < ll.x < 115 and 35 < ll.y < 36.5  # near Hebi
    caption = a.one("figcaption").text()
    assert caption.startswith("图：RD01 RC") and "道路" in caption
    # the group quotes the clause once more, with its document and section
    group = page.one("section", id="rule-RD01")
    assert "县城内部道路红线宽度不超过40米" in group.one("p", class_="clause").text()


def test_demo_sections_most_severe_first(demo_hebi: Result, demo_zh: tuple[str, Node]) -> None:
    _, page = demo_zh
    order = [a.attrs["data-fid"] for a in page.one("section", id="rule-CL03").iter("article")]
    # persons/km2 against an upper limit of 15,000: the densest cell first, ties by id
    cl03 = _violations(demo_hebi).query("rule_id == 'CL03'")
    expected = cl03.sort_values(["measured", "feature_id"], ascending=[False, True])
    assert len(order) >= 3
    assert order == expected["feature_id"].tolist()
    assert order[0] == "521000,3951000"  # 90,000 persons/km2
    gr01 = [a.attrs["data-fid"] for a in page.one("section", id="rule-GR01").iter("article")]
    assert gr01 == ["R3", "R2"]  # 1,550 m before 350 m


def test_demo_plaza_clause_and_rule_links(demo_zh: tuple[str, Node]) -> None:
    text, page = demo_zh
    assert '广场集中硬地面积不超过1<span class="nb">公顷</span>' in text  # kept on one line
    a = _articles(page)[("SQ01", "Q1")]
    assert _facts(a)["量测值 Measured"] == "2.50 公顷"
    assert "“广场集中硬地面积不超过1公顷”" in a.one("p", class_="sentence").text()
    # rule codes with sections link to them; others are plain text
    rows = _rule_rows(page)
    assert rows["SQ01"].one("a").attrs["href"] == "#rule-SQ01"
    assert rows["UR01"].iter("a") == []


def test_report_is_self_contained_and_printable(demo_zh: tuple[str, Node]) -> None:
    text, page = demo_zh
    assert "http://" not in text and "https://" not in text
    assert page.iter("link") == [] and page.iter("img") == [] and page.iter("iframe") == []
    for script in page.iter("script"):
        assert "src" not in script.attrs
    for node in page.iter():
        for attr in ("src", "href"):
            if attr in node.attrs:
                value = node.attrs[attr]
                assert value.startswith("#") or value.startswith("map.html#rule="), value
    css = page.one("style").text()
    assert re.search(r"@page\s*\{\s*size:\s*A4;\s*margin:", css)
    assert re.search(r"(^|\n)tr\s*\{[^}]*break-inside:\s*avoid", css)
    assert re.search(r"article\.violation\s*\{[^}]*break-inside:\s*avoid", css)
    assert re.search(r"thead\s*\{\s*display:\s*table-header-group", css)
    print_css = css[css.index("@media print") :]
    assert re.search(r"\.no-print, button \{ display: none !important; \}", print_css)
    # copy works offline: the Clipboard API with the execCommand fallback
    script = page.one("script").text()
    assert "navigator.clipboard" in script and 'execCommand("copy")' in script
    assert page.iter("svg")[0].attrs["viewbox"] == "0 0 360 240"  # (names lower-cased)


def test_report_is_deterministic_apart_from_the_date(
    demo_hebi: Result, demo_zh: tuple[str, Node], tmp_path: Path
) -> None:
    text, _ = demo_zh
    render_report(demo_hebi, tmp_path / "again.html", today=DAY)
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == text
    render_report(demo_hebi, tmp_path / "later.html", today=date(2025, 1, 2))
    later = (tmp_path / "later.html").read_text(encoding="utf-8")
    assert later.replace("2025-01-02", "2024-05-01") == text


def test_english_report(demo_hebi: Result, demo_en: tuple[str, Node]) -> None:
    text, page = demo_en
    assert page.one("html").attrs["lang"] == "en"
    assert page.one("h1").text().startswith("Planning compliance report")
    assert [th.text() for th in page.one("table", class_="rules").one("thead").iter("th")] == [
        "Code",
        "Rule",
        "Status",
        "Checked/ failed/ excepted",
        "Worst",
        "Limit",
        "Year",
        "Clause",
    ]
    for label in ("量测值", "限值", "方法", "对象", "位置", "复制 / copy"):
        assert label not in text
    articles = _articles(page)
    for row in _violations(demo_hebi).itertuples():
        assert articles[(row.rule_id, row.feature_id)].one("p", class_="sentence").text() == (
            row.message_en
        )
    facts = _facts(articles[("RD01", "RC")])
    assert facts["Measured"] == "50.0 m"
    assert facts["Limit"] == "≤ 40.0 m"
    assert facts["By"] == "over by 10.0 m"
    assert facts["Feature"] == "RC (layer roads)"
    assert facts["Location"].startswith("longitude/latitude (centroid, EPSG:4326): ")
    assert facts["Method"].startswith("width of the road-land polygon across its centreline")
    rows = _rule_rows(page)
    assert [td.text() for td in rows["SQ01"].iter("td")][4:6] == ["2.50 ha", "≤ 1.00 ha"]
    assert (
        rows["UR01"].one("td", class_="reason").text() == "the scheme has no 'renewal_units' layer"
    )
    assert rows["SQ01"].one("span", class_="badge").text() == "fail"
    assert "Urban cluster area" in rows["CL01"].text()


def test_render_report_rejects_an_unknown_language(demo_hebi: Result, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lang must be 'zh' or 'en'"):
        render_report(demo_hebi, tmp_path / "r.html", lang="fr")
    assert not (tmp_path / "r.html").exists()


def test_text_is_escaped(demo_hebi: Result, tmp_path: Path) -> None:
    f = demo_hebi.findings.copy()
    hostile = '<script>alert("x")</script> & <b>'
    row = f.index[(f["rule_id"] == "SQ01") & (f["feature_id"] == "Q1")][0]
    f.loc[row, "message"] = hostile
    f.loc[row, "feature_id"] = 'Q1"><img src=x>'
    result = dataclasses.replace(demo_hebi, findings=f)
    render_report(result, tmp_path / "r.html", today=DAY)
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x>" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in text
    page = parse(text)
    a = _articles(page)[("SQ01", 'Q1"><img src=x>')]
    assert a.one("p", class_="sentence").text() == hostile
    assert a.one("a", class_="maplink").attrs["href"] == (
        "map.html#rule=SQ01&fid=Q1%22%3E%3Cimg%20src%3Dx%3E"
    )


def test_sections_are_capped_per_rule(demo_hebi: Result, tmp_path: Path) -> None:
    render_report(demo_hebi, tmp_path / "r.html", max_per_rule=2, today=DAY)
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    group = page.one("section", id="rule-CL03")
    cl03 = _violations(demo_hebi).query("rule_id == 'CL03'")
    top = cl03.sort_values(["measured", "feature_id"], ascending=[False, True])
    assert [a.attrs["data-fid"] for a in group.iter("article")] == top["feature_id"][:2].tolist()
    assert group.one("p", class_="more").text() == (
        f"另有 {len(cl03) - 2} 处未逐项列出（按超限程度排序仅列前 2 处），"
        "见 findings.geojson / findings.gpkg。"
    )
    assert page.one("section", id="rule-EC01").iter("p", class_="more") == []


def test_maps_are_capped_per_rule(demo_hebi: Result, tmp_path: Path) -> None:
    render_report(demo_hebi, tmp_path / "r.html", max_maps_per_rule=1, today=DAY)
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    group = page.one("section", id="rule-CL03")
    articles = list(group.iter("article"))
    n = len(_violations(demo_hebi).query("rule_id == 'CL03'"))
    assert len(articles) == n > 1  # every section is still there
    assert [len(a.iter("svg")) for a in articles] == [1] + [0] * (n - 1)  # the worst has a map
    assert all(a.one("td", class_="location").text() for a in articles)  # all keep coordinates
    assert group.one("p", class_="more").text() == (
        f"按超限程度排序仅前 1 处附小地图；其余 {n - 1} 处见其坐标或在 map.html 中定位。"
    )
    render_report(demo_hebi, tmp_path / "all.html", today=DAY)  # the default draws them all
    page = parse((tmp_path / "all.html").read_text(encoding="utf-8"))
    assert [len(a.iter("svg")) for a in page.one("section", id="rule-CL03").iter("article")] == [
        1
    ] * n
    assert page.one("section", id="rule-CL03").iter("p", class_="more") == []


def test_excepted_violation_shows_reason_and_approval(tmp_path: Path) -> None:
    exceptions = pd.DataFrame(
        {
            "rule_id": ["SQ01"],
            "feature_id": ["Q2"],
            "reason": ["既有文化广场，经专家论证保留"],
            "approval_ref": ["鹤自然资规〔2024〕12号"],
            "layer": [""],
        }
    )
    result = compliance.check(DEMO, "hebi", exceptions=exceptions)
    render_report(result, tmp_path / "r.html", today=DAY)
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    a = _articles(page)[("SQ01", "Q2")]
    assert a.attrs["data-status"] == "excepted"
    assert a.one("span", class_="badge").text() == "例外 excepted"
    assert _facts(a)["例外 Exception"] == (
        "既有文化广场，经专家论证保留（批准文号 鹤自然资规〔2024〕12号）"
    )
    assert a.one("svg").one("path", class_="violation").attrs["stroke-dasharray"] == "2 2"
    row = [td.text() for td in _rule_rows(page)["SQ01"].iter("td")]
    assert row[3] == "3 / 1 / 1"
    # the excepted finding comes after the failing one
    order = [a.attrs["data-fid"] for a in page.one("section", id="rule-SQ01").iter("article")]
    assert order == ["Q1", "Q2"]


def test_without_a_map_there_are_no_map_links(demo_hebi: Result, tmp_path: Path) -> None:
    render_report(demo_hebi, tmp_path / "r.html", map_href=None, today=DAY)
    page = parse((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert page.iter("a", class_="maplink") == []
    assert len(page.iter("article")) == len(_violations(demo_hebi))


def test_map_link_encodes_like_encode_uri_component() -> None:
    assert violation_href("EC01", "C2") == "map.html#rule=EC01&fid=C2"
    assert violation_href("EC02", "N+S") == "map.html#rule=EC02&fid=N%2BS"
    assert violation_href("CL03", "521000,3951000") == "map.html#rule=CL03&fid=521000%2C3951000"
    assert violation_href("GR03", "*", "../map.html") == "../map.html#rule=GR03&fid=*"
    assert violation_href("RD01", "道路 1/2") == "map.html#rule=RD01&fid=%E9%81%93%E8%B7%AF%201%2F2"


# --------------------------------------------------------------------------- report.html, Nanjing


def test_nanjing_report(nanjing: Result, nanjing_zh: tuple[str, Node]) -> None:
    text, page = nanjing_zh
    rows = _rule_rows(page)
    s = nanjing.summary
    rank = s["status"].map({"fail": 0, "warn": 1, "excepted": 2, "pass": 3, "not_evaluated": 4})
    assert list(rows) == list(s.assign(rank=rank).sort_values("rank", kind="stable")["rule_id"])
    assert list(rows)[:3] == ["GR01", "GR02", "RD02"]
    # central Nanjing is city districts (import-osm: kind city): county-town rules not applicable
    assert rows["SQ01"].attrs["data-status"] == rows["RD01"].attrs["data-status"] == "not_evaluated"
    for r in nanjing.summary.itertuples():
        assert rows[r.rule_id].attrs["data-status"] == r.status
    assert rows["CL01"].one("td", class_="reason").text() == "方案缺少组团边界图层 clusters"
    assert "CGCS2000 3度带高斯-克吕格投影，中央经线 120°E（EPSG:4549）" in text
    articles = _articles(page)
    v = _violations(nanjing)
    assert len(articles) == len(v) == 17
    for row in v.itertuples():
        a = articles[(row.rule_id, row.feature_id)]
        assert a.one("p", class_="sentence").text() == row.message
        assert a.one("a", class_="maplink").attrs["href"] == violation_href(
            row.rule_id, row.feature_id
        )
        svg = a.one("svg")
        assert svg.iter("path", class_="violation")
        # the surroundings are drawn: OSM roads and buildings near every violation
        context = [
            c
            for c in svg.children
            if isinstance(c, Node) and c.tag == "path" and "class" not in c.attrs
        ]
        assert len(context) >= 2
        assert "道路" in a.one("figcaption").text()
        location = _facts(a)["位置 Location"]
        lon, lat = (float(x) for x in re.search(r"：([\d.]+), ([\d.]+)", location).groups())
        assert 118.7 < lon < 118.85 and 32.0 < lat < 32.1  # Xinjiekou
    # the worst parcel first, with its number, limit and excess
    first = page.one("section", id="rule-GR01").iter("article")[0]
    facts = _facts(first)
    assert facts["量测值 Measured"] == "810.0 米"
    assert facts["差值 By"] == "超出 510.0 米"


# --------------------------------------------------------------------------- svg_map


def test_svg_map_scale_coordinates_and_vertex_cap() -> None:
    square = shapely.box(0, 0, 100, 100)
    svg, drawn = svg_map(square, [], colour="#e41a1c", status="fail")
    assert drawn == []
    page = parse(svg)
    # window: 100 m + 2 × 40 m, widened to 240 m and to 3:2 → 270 m × 180 m, 4/3 px per m
    path = page.one("path", class_="violation")
    assert path.attrs["d"] == "M246.7 186.7L246.7 53.3L113.3 53.3L113.3 186.7Z"
    assert path.attrs["fill"] == "#e41a1c"
    assert "stroke-dasharray" not in path.attrs
    assert page.one("g", class_="scale").one("text").text() == "50 米"
    assert page.one("g", class_="north").one("text").text() == "北"
    # a hole runs the other way round, so the non-zero fill leaves it empty
    ring = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))
    svg, _ = svg_map(ring, [], colour="#e41a1c", status="fail")
    assert parse(svg).one("path", class_="violation").attrs["d"] == (
        "M113.3 186.7L246.7 186.7L246.7 53.3L113.3 53.3Z"
        "M193.3 106.7L193.3 133.3L166.7 133.3L166.7 106.7Z"
    )
    # a densified polygon is simplified under the cap
    circle = shapely.Point(0, 0).buffer(5000, quad_segs=20_000)
    svg, _ = svg_map(circle, [], colour="#000000", status="warn", lang="en")
    d = parse(svg).one("path", class_="violation").attrs["d"]
    assert 8 < len(re.findall(r"[ML]", d)) <= MAX_SVG_VERTICES // 2
    assert parse(svg).one("g", class_="scale").one("text").text() == "5 km"  # of 21 km


# --------------------------------------------------------------------------- findings.gpkg


def _gpkg_layers(path: Path) -> dict[str, str | None]:
    return {str(name): gt for name, gt in pyogrio.list_layers(path)}


def test_findings_gpkg_demo(demo_hebi: Result, tmp_path: Path) -> None:
    path = tmp_path / "findings.gpkg"
    write_findings_gpkg(demo_hebi, path)
    layers = _gpkg_layers(path)
    f = demo_hebi.findings
    written = f[f["status"] != "pass"]
    codes = sorted(set(written["rule_id"]))
    evaluated = sorted(set(written.loc[written["status"] != "not_evaluated", "rule_id"]))
    not_evaluated = written[written["status"] == "not_evaluated"]
    # one layer per rule; rules mixing lines and areas are split by family
    assert layers["EC02_polygons"] == "MultiPolygon" and layers["EC02_lines"] == "MultiLineString"
    assert layers["RD01_polygons"] == "MultiPolygon" and layers["RD01_lines"] == "MultiLineString"
    assert layers["EC01"] == "MultiPolygon" and layers["GR03"] == "MultiPolygon"
    # the rules not evaluated: one table, not a table per rule
    assert "BH01" not in layers and layers["not_evaluated"] is None
    assert layers["summary"] is None and layers["layer_styles"] is None
    tables = {"summary", "not_evaluated", "layer_styles"}
    assert sorted(n.split("_")[0] for n in layers if n not in tables) == sorted(
        [*evaluated, "EC02", "RD01"]
    )
    for code in codes:
        names = [n for n in layers if n.split("_")[0] == code]
        frames = [pyogrio.read_dataframe(path, layer=n) for n in names]
        if not names:
            ne = pyogrio.read_dataframe(path, layer="not_evaluated")
            frames = [ne[ne["rule_id"] == code]]
        back = pd.concat(frames, ignore_index=True)
        expected = written[written["rule_id"] == code]
        assert len(back) == len(expected), code
        # Chinese text and numbers round-trip exactly
        assert sorted(back["message"]) == sorted(expected["message"])
        key = dict(zip(expected["feature_id"], expected["measured"], strict=True))
        for fid, measured in zip(back["feature_id"], back["measured"], strict=True):
            assert measured == key[fid] or (np.isnan(measured) and np.isnan(key[fid]))
    for name, gtype in layers.items():
        if gtype is not None:
            assert CRS.from_user_input(pyogrio.read_info(path, layer=name)["crs"]).to_epsg() == 4326
    info = pyogrio.read_info(path, layer="EC01")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["measured"] == "float64" and types["limit"] == "float64"
    assert types["estimated"] == "bool" and types["message"] == "object"
    assert info["layer_metadata"]["IDENTIFIER"] == "EC01 生态廊道净宽度"
    assert info["layer_metadata"]["DESCRIPTION"].startswith(
        "生态廊道净宽度 / Ecological corridor net width — 《鹤壁市"
    )
    # geometry: the narrowest stretch of the corridor, in longitude/latitude
    ec01 = gpd.read_file(path, layer="EC01")
    expected = f[f["rule_id"] == "EC01"]
    expected = expected[expected["status"] != "pass"].to_crs(4326)
    assert ec01.geometry.iloc[0].equals_exact(
        shapely.force_2d(shapely.MultiPolygon([expected.geometry.iloc[0]])), tolerance=1e-9
    )
    gr03 = pyogrio.read_dataframe(path, layer="GR03")
    assert gr03["year"].tolist() == [2025]
    ne = pyogrio.read_dataframe(path, layer="not_evaluated")
    assert sorted(ne["rule_id"]) == sorted(not_evaluated["rule_id"])
    ur01 = ne[ne["rule_id"] == "UR01"]
    assert ur01["status"].tolist() == ["not_evaluated"]
    assert "未评估：方案缺少城市更新单元图层" in ur01["message"].iloc[0]
    summary = pyogrio.read_dataframe(path, layer="summary")
    assert summary["rule_id"].tolist() == demo_hebi.summary["rule_id"].tolist()
    assert summary.loc[summary["rule_id"] == "SQ01", "worst"].iloc[0] == 2.5
    assert summary.loc[summary["rule_id"] == "SQ01", "title"].iloc[0] == "县城广场集中硬地面积"


def test_findings_gpkg_nanjing_and_passes(nanjing: Result, tmp_path: Path) -> None:
    path = tmp_path / "findings.gpkg"
    write_findings_gpkg(nanjing, path)
    layers = _gpkg_layers(path)
    # one layer per rule with violations (national also carries CL03, RD02, UR01)
    v = nanjing.violations
    assert {n for n, g in layers.items() if g is not None} == set(v["rule_id"])
    assert {n for n, g in layers.items() if g is None} == {
        "not_evaluated", "summary", "layer_styles"
    }  # fmt: skip
    assert (layers["GR01"], layers["GR02"]) == ("MultiPolygon", "MultiPolygon")
    counts = {n: pyogrio.read_info(path, layer=n)["features"] for n in layers}
    assert {k: counts[k] for k in ("GR01", "GR02")} == {"GR01": 9, "GR02": 8}
    assert "RD01" not in layers and "SQ01" not in layers  # not applicable to city districts
    assert counts["summary"] == len(nanjing.summary)
    assert counts["not_evaluated"] == int((nanjing.summary["status"] == "not_evaluated").sum())
    gr02 = pyogrio.read_dataframe(path, layer="GR02")
    assert set(gr02["status"]) <= {"fail", "warn"}  # warn: uncovered only near the extent's edge
    # written again, with passes: replaced, not appended
    write_findings_gpkg(nanjing, path, include_passes=True)
    f = nanjing.findings
    assert pyogrio.read_info(path, layer="GR02")["features"] == int((f["rule_id"] == "GR02").sum())
    assert pyogrio.read_info(path, layer="summary")["features"] == len(nanjing.summary)
    assert not list(tmp_path.glob(".*tmp*"))
