"""The outputs for where the users are: ``opinion.docx``, ``findings.xlsx``, the QGIS
styles of ``findings.gpkg``, ``summary.csv`` as scripts read it, and the provenance
every output prints."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pyogrio
import pytest
from pyproj import CRS

import compliance
from compliance.engine import Result, citation_en, citation_zh, paste_quote
from compliance.outputs.files import write_outputs
from compliance.outputs.mapstyle import rule_colour
from compliance.outputs.provenance import catalogue_hash, decimals, provenance, sha256_file
from compliance.rules.checks.common import LAYER_ZH

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo" / "demo.gpkg"


@pytest.fixture(scope="module")
def out(demo_hebi: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All outputs of the demo under the Hebi profile, Chinese."""
    d = tmp_path_factory.mktemp("outputs") / "out"
    write_outputs(demo_hebi, d)
    return d


def _docx_text(path: Path) -> tuple[list[tuple[str, str]], str]:
    import docx

    doc = docx.Document(str(path))
    paragraphs = [(p.style.name if p.style else "", p.text) for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return paragraphs, "\n".join([t for _s, t in paragraphs] + cells)


# --------------------------------------------------------------------------- provenance


def test_run_json_names_tool_catalogue_and_inputs(out: Path, demo_hebi: Result) -> None:
    run = json.loads((out / "run.json").read_text("utf-8"))
    prov = run["provenance"]
    assert prov["tool_version"] == compliance.__version__
    assert prov["profile"] == "hebi" and prov["year"] is None
    assert prov["inputs"]["scheme"] == {demo_hebi.scheme.source: sha256_file(DEMO)}
    assert len(prov["catalogue_sha256"]) == 64
    assert prov["catalogue_sha256"] == catalogue_hash(demo_hebi)


def test_catalogue_hash_changes_with_a_rule_file(demo_hebi: Result, tmp_path: Path) -> None:
    from compliance.rules.catalogue import default_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    before = catalogue_hash(demo_hebi, rules)
    assert before == catalogue_hash(demo_hebi)
    (rules / "xinjiang.yaml").write_text("# not in hebi's chain\n", encoding="utf-8")
    assert catalogue_hash(demo_hebi, rules) == before
    hebi = rules / "hebi.yaml"
    hebi.write_text(hebi.read_text("utf-8") + "\n# edited\n", encoding="utf-8")
    assert catalogue_hash(demo_hebi, rules) != before


def test_field_map_and_exceptions_are_hashed(demo_hebi: Result, tmp_path: Path) -> None:
    ex = tmp_path / "exceptions.csv"
    ex.write_text("rule_id,feature_id,reason,approval_ref\n", encoding="utf-8")
    p = provenance(demo_hebi, inputs={"exceptions": ex, "field_map": None})
    assert p.inputs["exceptions"] == {str(ex): sha256_file(ex)}
    assert "field_map" not in p.inputs


def test_report_and_map_headers_name_the_tool_version(out: Path) -> None:
    report = (out / "report.html").read_text("utf-8")
    assert f"compliance {compliance.__version__}" in report
    assert "规则库校验值 Catalogue SHA-256" in report
    page = (out / "map.html").read_text("utf-8")
    assert f"compliance {compliance.__version__} · catalogue sha256" in page


# --------------------------------------------------------------------------- summary.csv


def test_summary_csv_keeps_its_columns_rounded_with_integer_years(out: Path) -> None:
    raw = (out / "summary.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM: scripts read it
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    assert list(rows[0])[:9] == [
        "rule_id", "title", "status", "checked", "failed", "worst", "limit", "unit", "source",
    ]  # fmt: skip
    by = {r["rule_id"]: r for r in rows}
    assert by["DN01"]["worst"] == "5252.0"  # persons/km2: 0 decimals (5252.10084…)
    assert by["GR02"]["worst"] == "3040.1"  # m: 1 decimal
    assert by["RD02"]["worst"] == "0.03"  # km/km2: 2 decimals
    assert by["GR03"]["year"] == "2025" and by["CL01"]["year"] == ""
    assert "2025.0" not in raw.decode("utf-8")
    for r in rows:
        if r["worst"]:
            places = len(r["worst"].split(".")[1]) if "." in r["worst"] else 0
            assert places <= max(decimals(r["unit"]), 1), r


# --------------------------------------------------------------------------- opinion.docx


def test_opinion_docx_holds_every_violation_with_its_clause(out: Path, demo_hebi: Result) -> None:
    paragraphs, text = _docx_text(out / "opinion.docx")
    headings = [t for s, t in paragraphs if s.startswith("Heading 1")]
    assert headings == [
        "一、审查基本情况", "二、审查结论", "三、具体问题", "四、未评估的规则", "五、已适用的例外",
    ]  # fmt: skip
    # the run's facts
    assert demo_hebi.scheme.source in text
    # the measuring CRS as a Chinese surveyor names it, not pyproj's English label
    assert "CGCS2000 3度带高斯-克吕格投影，中央经线 114°E（EPSG:4547）" in text
    assert demo_hebi.scheme.crs_label not in text
    assert f"compliance {compliance.__version__}" in text
    assert catalogue_hash(demo_hebi) in text and sha256_file(DEMO) in text
    # a conclusion paragraph with the counts
    conclusion = paragraphs[[t for _s, t in paragraphs].index("二、审查结论") + 1][1]
    # CL01 is inherited from national (hebi's plan does not state it): it warns
    assert demo_hebi.summary.set_index("rule_id").loc["CL01", "status"] == "warn"
    assert "共检查规则 28 条：不符合 13 条（21 处），提示 3 条（3 处）" in conclusion
    v = demo_hebi.violations
    items = [t for s, t in paragraphs if s == "List Number"]
    for code, rows in v.groupby("rule_id"):
        rule = demo_hebi.profile.rules[str(code)]
        # one section per rule, the clause quoted once in it
        assert sum(t.startswith(f"{code} ") for s, t in paragraphs if s == "Heading 2") == 1
        assert text.count(f"“{paste_quote(rule.source.quote)}”") >= 1
        for message, fid in zip(rows["message"], rows["feature_id"], strict=True):
            sentence = message.removesuffix(citation_zh(rule, demo_hebi.profile)).rstrip("。")
            found = [t for t in items if t.startswith(sentence)]
            assert len(found) == 1, (code, fid)
            if code == "CL03":  # a grid cell: the sentence names its corner, X north, Y east
                assert "对象" not in found[0] and "网格（西南角 X（北）" in found[0]
            elif fid != "*":  # the layer by its Chinese name: 对象编号 K2（建筑图层）
                layer = LAYER_ZH[str(rows.loc[rows["feature_id"] == fid, "layer"].iloc[0])]
                assert f"对象编号 {fid}（{layer}）" in found[0]
            assert paste_quote(rule.source.quote) not in found[0]  # the clause is not repeated
    assert len(items) == len(v) + 6 == 30  # 24 violations, 6 rules not evaluated
    # the rules not evaluated, and why
    assert any(
        t.startswith("UR01 ") and t.endswith("方案缺少城市更新单元图层 renewal_units")
        for t in items
    )


def test_opinion_docx_in_english_uses_east_asian_fonts(demo_hebi: Result, tmp_path: Path) -> None:
    import docx
    from docx.oxml.ns import qn

    from compliance.outputs.opinion import write_opinion

    path = tmp_path / "opinion.docx"
    write_opinion(demo_hebi, path, lang="en")
    paragraphs, text = _docx_text(path)
    assert next(t for s, t in paragraphs if s.startswith("Heading 1")) == "1. The check"
    v = demo_hebi.violations
    for code, message in zip(v["rule_id"], v["message_en"], strict=True):
        rule = demo_hebi.profile.rules[code]
        assert message.removesuffix(citation_en(rule, demo_hebi.profile)).rstrip(". ") in text
        assert ".txt" not in message  # documents by title, never a seed file
    fonts = docx.Document(str(path)).styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "宋体"


# --------------------------------------------------------------------------- findings.xlsx


def test_findings_xlsx_sheets_typed_rounded_frozen(out: Path, demo_hebi: Result) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(out / "findings.xlsx")
    assert wb.sheetnames == ["summary 汇总", "violations 问题清单", "run 运行信息"]
    summary, viol = wb["summary 汇总"], wb["violations 问题清单"]
    assert summary.freeze_panes == "B2" and viol.freeze_panes == "B2"
    head = [c.value for c in viol[1]]
    rows = [dict(zip(head, (c.value for c in r), strict=True)) for r in viol.iter_rows(min_row=2)]
    v = demo_hebi.violations
    assert len(rows) == len(v)
    got = {(r["编号 rule_id"], r["对象 feature_id"]): r for r in rows}
    for rec in v.to_dict("records"):
        row = got[(rec["rule_id"], rec["feature_id"])]
        assert row["审查意见 message"] == rec["message"]  # the sentence with its clause
        assert demo_hebi.profile.rules[rec["rule_id"]].source.quote in row["依据条文 source"]
        assert isinstance(row["量测值 measured"], float | int)
        assert row["量测值 measured"] == round(rec["measured"], decimals(rec["unit"]))
    r = got[("EC01", "C2")]
    assert r["差值 excess"] == 40.0 and r["限值 limit"] == 100.0
    assert viol.cell(row=2, column=head.index("量测值 measured") + 1).number_format.startswith(
        "#,##0"
    )
    s_head = [c.value for c in summary[1]]
    s_rows = {r[0].value: r for r in summary.iter_rows(min_row=2)}
    dn01 = s_rows["DN01"][s_head.index("最不利值 worst")]
    assert dn01.value == 5252 and dn01.number_format == "#,##0"
    assert s_rows["GR03"][s_head.index("年份 year")].value == 2025
    assert summary.column_dimensions["O"].width == 60


# --------------------------------------------------------------------------- findings.gpkg


def test_findings_gpkg_carries_default_qgis_styles(out: Path) -> None:
    path = out / "findings.gpkg"
    con = sqlite3.connect(path)
    try:
        styles = con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault "
            "FROM layer_styles"
        ).fetchall()
        contents = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    finally:
        con.close()
    spatial = sorted(n for n, t in contents.items() if t == "features")
    assert sorted(s[0] for s in styles) == spatial  # every spatial layer, once
    by = {s[0]: s for s in styles}
    for name, (_t, geom, qml, sld, default) in by.items():
        code = name.split("_")[0]
        r, g, b = (int(rule_colour(code)[i : i + 2], 16) for i in (1, 3, 5))
        assert default == 1 and geom == "geom"
        assert f"{r},{g},{b},255" in qml and rule_colour(code) in sld
        assert 'attr="status"' in qml
    ec02 = by["EC02_lines"][2]
    assert 'value="fail"' in ec02 and "solid" in ec02 and "dash" in ec02
    assert "SimpleLine" in ec02 and "SimpleFill" in by["EC01"][2]
    # read back as QGIS would through GDAL
    table = pyogrio.read_dataframe(path, layer="layer_styles")
    assert set(table["f_table_name"]) == set(spatial)


def test_findings_gpkg_in_the_measuring_crs(demo_hebi: Result, tmp_path: Path) -> None:
    from compliance.outputs.report import write_findings_gpkg

    path = tmp_path / "findings.gpkg"
    write_findings_gpkg(demo_hebi, path, crs="measuring")
    crs = CRS.from_user_input(pyogrio.read_info(path, layer="EC01")["crs"])
    assert crs.to_epsg() == demo_hebi.crs.to_epsg() == 4547
    back = pyogrio.read_dataframe(path, layer="EC01")
    ec01 = demo_hebi.findings
    ec01 = ec01[(ec01["rule_id"] == "EC01") & (ec01["status"] != "pass")]
    assert abs(back.geometry.area.iloc[0] - ec01.geometry.area.iloc[0]) < 1e-6


_QGIS_SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    from qgis.core import QgsApplication, QgsVectorLayer
    app = QgsApplication([], False)
    app.initQgis()
    for name in sys.argv[2:]:
        layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
        r = layer.renderer()
        categories = r.categories()  # copies: keep them alive while reading
        cats = {c.value(): c.symbol().color().name() for c in categories}
        pen = categories[1].symbol().symbolLayer(0).properties()
        print(name, layer.isValid(), r.type(), cats["fail"], cats["warn"],
              pen.get("line_style") or pen.get("outline_style"))
    sys.stdout.flush()
    os._exit(0)  # QGIS 3.22 may crash tearing down after layers: the answer is out
    """
)


@pytest.mark.skipif(
    not Path("/usr/bin/python3").exists()
    or subprocess.run(
        ["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True, check=False
    ).returncode,
    reason="PyQGIS (Debian python3-qgis) is not installed",
)
def test_qgis_opens_the_layers_with_their_style(out: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["/usr/bin/python3", "-c", _QGIS_SCRIPT, str(out / "findings.gpkg"), "EC01", "EC02_lines"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    lines = [ln.split() for ln in done.stdout.splitlines() if ln.startswith("EC")]
    assert lines == [
        ["EC01", "True", "categorizedSymbol", "#e41a1c", "#e41a1c", "dash"],
        ["EC02_lines", "True", "categorizedSymbol", "#ff7f00", "#ff7f00", "dash"],
    ]


# --------------------------------------------------------------------------- the command


def test_cli_writes_every_output_and_accepts_offline(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from compliance.cli import main

    d = tmp_path / "o"
    res = CliRunner().invoke(
        main,
        ["check", str(DEMO), "-p", "hebi", "-o", str(d), "--offline", "--findings-crs",
         "measuring", "-q"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    names = {p.name for p in d.iterdir()}
    assert {"opinion.docx", "findings.xlsx", "findings.gpkg", "map.html", "run.json"} <= names
    assert "<script src=" not in (d / "map.html").read_text("utf-8")
    crs = CRS.from_user_input(pyogrio.read_info(d / "findings.gpkg", layer="EC01")["crs"])
    assert crs.to_epsg() == 4547
    res = CliRunner().invoke(
        main, ["check", str(DEMO), "-o", str(tmp_path / "c"), "--cdn", "--no-office", "-q"]
    )
    assert not {"opinion.docx", "findings.xlsx"} & {p.name for p in (tmp_path / "c").iterdir()}
    assert 'src="https://cdn.jsdelivr.net/npm/leaflet@' in (tmp_path / "c" / "map.html").read_text(
        "utf-8"
    )


# --------------------------------------------------------------------------- report.html on A4


def test_report_keeps_units_whole_numbers_pages_and_draws_the_limit(out: Path) -> None:
    import re

    page = (out / "report.html").read_text("utf-8")
    assert "counter(page)" in page and "counter(pages)" in page  # page numbers when printed
    assert '56.00 <span class="nb">平方公里</span>' in page  # a unit never breaks in two
    assert '5,252 <span class="nb">人/平方公里</span>' in page
    assert "比例尺单位米" not in page  # the caption does not contradict a bar in 公里
    # GR01 R2: the 300 m service radius drawn as a bar at the map's scale, beside the scale bar
    article = re.search(r'<article[^>]*data-rule="GR01" data-fid="R2".*?</article>', page, re.S)
    assert article
    svg = article.group(0)
    bar = re.search(r'class="limit-bar">.*?d="M([\d.]+) [\d.]+H([\d.]+)".*?>限值 300.0 米<', svg)
    scale = re.search(r'class="scale">.*?d="M([\d.]+) [\d.]+V[\d.]+H([\d.]+)V.*?>(\d+) 米<', svg)
    assert bar and scale
    bar_px = float(bar.group(2)) - float(bar.group(1))
    scale_px = float(scale.group(2)) - float(scale.group(1))
    assert abs(bar_px / scale_px - 300 / float(scale.group(3))) < 0.01
    assert "色条为限值 300.0 米的图上长度" in svg


@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists() or shutil.which("pdftotext") is None,
    reason="needs chromium and pdftotext (poppler-utils)",
)
def test_report_prints_on_numbered_a4_pages(out: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            "/usr/bin/chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            (out / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(ln.split()[-1] for ln in info.stdout.splitlines() if ln.startswith("Pages")))
    assert "pts (A4)" in info.stdout
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    sheets = text.split("\f")
    assert f"1 / {pages}" in sheets[0] and f"{pages} / {pages}" in sheets[pages - 1]
    assert f"compliance {compliance.__version__}" in sheets[0]
    # failures first, the rules not evaluated last
    assert text.index("一、规则一览") < text.index("二、问题清单") < text.index("三、未评估的规则")
    assert "平方公\n" not in text


def test_opinion_lists_the_exceptions_applied(tmp_path: Path) -> None:
    from compliance.outputs.opinion import write_opinion

    ex = tmp_path / "exceptions.csv"
    ex.write_text(
        "rule_id,feature_id,reason,approval_ref\nSQ01,Q1,历史保护广场,鹤规批〔2024〕7号\n",
        encoding="utf-8",
    )
    result = compliance.check(DEMO, "hebi", exceptions=ex)
    path = tmp_path / "opinion.docx"
    write_opinion(result, path, provenance=provenance(result, inputs={"exceptions": ex}))
    paragraphs, text = _docx_text(path)
    items = [t for s, t in paragraphs if s == "List Number"]
    assert "SQ01 县城广场集中硬地面积，对象 Q1：历史保护广场（批准文号 鹤规批〔2024〕7号）" in items
    assert sha256_file(ex) in text  # the exceptions file is named among the inputs
    # the excepted place is not among the violations of SQ01's section
    assert not any(t.startswith("广场「人民广场」") for t in items)
