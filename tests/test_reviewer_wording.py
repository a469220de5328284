"""The demo's outputs read back as a Chinese planning reviewer, and an English one, reads them.

Each test renders the outputs of ``compliance check`` on the demo scheme
(``hebi`` and ``jiaozuo``, Chinese and English) and reads them back as text:
the report's HTML, the opinion's Word paragraphs, the map's popups and boxes.
Each fails on one defect of issue 12 wherever it appears: an English word or
internal code in a Chinese sentence, a percentage difference not in 个百分点, a
raw id glued to 的, a long number without thousands separators, an English
note in a Chinese output, a file name in an English citation, "1 points".
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import docx
import pytest
from helpers import DEMO

import compliance
from compliance.notes import Note, note_text
from compliance.outputs.files import write_outputs
from compliance.reading.contract import LAYERS

# Identifiers a Chinese sentence may name after the Chinese word for them (建筑图层
# buildings, population 字段): the contract's layers and fields, and the demo's ids.
CONTRACT_NAMES = set(LAYERS) | {f for spec in LAYERS.values() for f in spec.fields}
EXTRA_FIELDS = {
    "green_standard", "green_star", "prefabricated", "prefab_floor_area_m2", "complete",
    "resolved", "severe", "pv_area_m2", "investor", "permeable_area_m2", "zone_type",
    "height_m", "floors", "floor_area_m2", "hard_area_m2", "red_line_width_m",
}  # fmt: skip
DEMO_IDS = {"county"}  # the demo boundary's id, a user's own word
PROFILES = {"national", "xinjiang", "alxa", "hebi", "jiaozuo", "bayannur"}
ALLOWED = CONTRACT_NAMES | EXTRA_FIELDS | DEMO_IDS | PROFILES | {"EPSG", "CGCS2000", "SHA"}
ALLOWED |= {"compliance"}  # the tool's name
WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _tags_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _elements(page: str, tag: str, cls: str) -> list[str]:
    """Texts of the elements ``<tag class="… cls …">`` of an HTML page (not nested in kind)."""
    pattern = rf'<{tag}[^>]*class="[^"]*\b{cls}\b[^"]*"[^>]*>(.*?)</{tag}>'
    return [_tags_text(m) for m in re.findall(pattern, page, flags=re.S)]


def _docx_paragraphs(path: Path) -> list[str]:
    doc = docx.Document(str(path))
    out = [p.text for p in doc.paragraphs]
    out += [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return out


def _strip_nested_quotes(text: str) -> str:
    """``text`` without its “…” spans, innermost first (a clause may quote within itself)."""
    while True:
        shorter = re.sub(r"“[^“”]*”", "", text)
        if shorter == text:
            return text
        text = shorter


def _without_quotes(text: str) -> str:
    """A sentence without the spans quoted from a plan or naming a feature."""
    text = _strip_nested_quotes(text)  # the clause, verbatim
    text = re.sub(r"「[^」]*」", "", text)  # a feature's name
    return re.sub(r"《[^》]*》", "", text)  # a document's title


def chinese_defects(sentence: str) -> list[str]:
    """What a Chinese reviewer would correct in one sentence of a Chinese output."""
    s = _without_quotes(sentence)
    found = []
    for w in WORD.findall(s):
        if w not in ALLOWED and not re.fullmatch(r"[A-Z]{2}\d{2}", w):  # rule codes: EC01
            found.append(f"English word or code {w!r}")
    if re.search(r"[A-Za-z_]+:[A-Za-z_]+", s):
        found.append("an internal code a:b")
    if re.search(r"\([a-z]+(, [a-z]+)+\)", s):
        found.append("an English list in brackets")
    if re.search(r"'[A-Za-z_]+' ?图层|(?<![\u4e00-\u9fff] )\b[a-z_]+ 图层", s):
        found.append("a layer named by its code before 图层")
    if "*" in s:
        found.append("a '*' for all features")
    if re.search(r"[A-Za-z0-9]的", s):
        found.append("an id glued to 的")
    if re.search(r"相差 [\d.,]+%|超出 [\d.,]+%", s):
        found.append("a percentage difference not in 个百分点")
    if re.search(r"(?<![\d.,])\d{5,}(?![\d])", re.sub(r"GB(/T)? ?\d+(-\d+)?", "", s)):
        found.append("a number of five digits or more without thousands separators")
    return found


def english_defects(sentence: str) -> list[str]:
    """What an English reviewer would correct: a file name, Chinese, 1 + a plural."""
    found = []
    if re.search(r"\.txt\b", sentence):
        found.append("a seed file name")
    s = _strip_nested_quotes(sentence)
    s = re.sub(r"'[^']*'|《[^》]*》", "", s)
    s = re.sub(r"section [^:,;]+", "section", s)  # sections as printed in the plan: 二(一)1
    if CJK.search(s):
        found.append("Chinese outside quotes and names")
    one = r"\b1 (points|buildings|parcels|clusters|cells|floors|rules|places|failures|warnings"
    if re.search(one + r"|communities|facilities|schemes|violations|features|values|texts)\b", s):
        found.append("1 with a plural")
    return found


CITIES = ["hebi", "jiaozuo", "xinjiang", "alxa", "bayannur"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The demo's outputs under each city profile, in Chinese and English."""
    out = {}
    for profile in CITIES:
        result = compliance.check(DEMO, profile)
        for lang in ("zh", "en"):
            folder = tmp_path_factory.mktemp(f"{profile}_{lang}") / "out"
            write_outputs(result, folder, lang=lang)
            out[(profile, lang)] = folder
    return out


@pytest.mark.parametrize("profile", CITIES)
def test_chinese_report_sentences_need_no_correction(outputs, profile):
    page = (outputs[(profile, "zh")] / "report.html").read_text(encoding="utf-8")
    sentences = _elements(page, "p", "sentence")
    assert len(sentences) >= 15  # 19 (bayannur) to 24 (hebi) violations
    headings = [_tags_text(h) for h in re.findall(r"<h4>(.*?)</h4>", page, flags=re.S)]
    methods = [m for m in re.findall(r"<th>方法 Method</th><td>(.*?)</td>", page, flags=re.S)]
    notes = re.findall(r"备注：([^<]*)<", page)
    assert methods and notes
    problems = {t: chinese_defects(t) for t in sentences + methods + notes if chinese_defects(t)}
    assert problems == {}
    # a section about all features of a layer is headed 全部（汇总）, never "*"
    assert headings and not [h for h in headings if "·  " in h or "* " in h or h.endswith("*")]
    assert any("· 全部（汇总）" in h for h in headings)
    # coordinates as Chinese surveying writes them, the zone named
    assert "X（北）" in page and "Y（东）" in page and "中央经线 114°E（EPSG:4547）" in page
    assert not re.search(r"X（北）\d{3},\d{3}\.\d 米，Y（东）\d,\d{3},\d{3}", page)  # X is north


@pytest.mark.parametrize("profile", CITIES)
def test_chinese_opinion_needs_no_correction(outputs, profile):
    paragraphs = _docx_paragraphs(outputs[(profile, "zh")] / "opinion.docx")
    body = [p for p in paragraphs if CJK.search(p) and not p.startswith(("方案", "输入文件"))]
    problems = {p: chinese_defects(p) for p in body if chinese_defects(p)}
    assert problems == {}
    text = "\n".join(paragraphs)
    assert "个百分点" in text and "相差 40.0 个百分点" in text  # GB02: 60 % against 100 %
    assert "3-degree Gauss-Kruger" not in text  # the CRS named in Chinese
    assert "中央经线 114°E（EPSG:4547）" in text


@pytest.mark.parametrize("profile", CITIES)
def test_english_outputs_cite_titles_not_files_and_count_right(outputs, profile):
    folder = outputs[(profile, "en")]
    page = (folder / "report.html").read_text(encoding="utf-8")
    sentences = _elements(page, "p", "sentence")
    paragraphs = _docx_paragraphs(folder / "opinion.docx")
    clauses = [p for p in paragraphs if p.startswith("Clause:")]
    assert sentences and clauses
    body = [p for p in paragraphs if not p.startswith(("Scheme", "Input"))]
    problems = {t: english_defects(t) for t in sentences + body if english_defects(t)}
    assert problems == {}
    assert ".txt" not in page.replace("findings.txt", "")
    assert "Planning compliance report" in page
    # the rule table and the section headings cite "…, section 三(一): “…”", not "三(一)："
    clause_cells = _elements(page, "td", "clause") + _elements(page, "p", "clause")
    assert clause_cells and all("：" not in c.split("“")[0] for c in clause_cells)
    assert any(", section " in c for c in clause_cells)


def test_english_map_is_english(outputs):
    page = (outputs[("hebi", "en")] / "map.html").read_text(encoding="utf-8")
    for word in ("Legend", "Violations (24)", "Urban clusters", "Plan boundary", "Compliance map"):
        assert word in page, word
    for word in ("图例", "违规清单", "不符合", "提示", "规则配置", "城市组团 clusters", "未找到"):
        assert word not in page, word
    assert ".txt" not in page
    # the popup: English rows, the English finding, the clause by the document's English title
    assert '"Finding"' in page and '"Clause"' in page
    assert "Hebi Action Plan for Carbon Peaking in Urban and Rural Construction" in page
    assert "all (aggregate)" in page and "21 failures (13 rules)" in page
    zh = (outputs[("hebi", "zh")] / "map.html").read_text(encoding="utf-8")
    assert "图例 Legend" in zh and "违规清单 Violations（24）" in zh and "全部（汇总）" in zh


def test_notes_are_chinese_in_chinese_outputs_and_english_in_english(tmp_path):
    # a scheme whose buildings give their storeys as 层数: a note says it was read as floors
    scheme = tmp_path / "scheme.gpkg"
    shutil.copy(DEMO, scheme)
    import pyogrio

    b = pyogrio.read_dataframe(scheme, layer="buildings").rename(columns={"floors": "层数"})
    pyogrio.write_dataframe(b, scheme, layer="buildings")
    result = compliance.check(scheme, "hebi")
    notes = [n for n in result.notes if "层数" in n]
    assert notes and all(isinstance(n, Note) for n in notes)
    note = notes[0]
    assert note == "buildings: field 层数 read as floors"
    assert note.zh == "建筑图层 buildings：字段 层数 读作 floors"
    assert note_text(note, "zh") == note.zh and note_text(note, "en") == str(note)
    for lang, shown, hidden in (("zh", note.zh, str(note)), ("en", str(note), note.zh)):
        out = tmp_path / lang
        write_outputs(result, out, lang=lang)
        for name in ("report.html", "map.html"):
            page = html.unescape((out / name).read_text(encoding="utf-8"))
            assert shown in page and hidden not in page, (lang, name)
        # run.json keeps the English note for scripts
        assert str(note) in json.loads((out / "run.json").read_text(encoding="utf-8"))["notes"]
