"""Every finding cites the document that governs it (issue 12).

A rule the chosen plan does not state is inherited: it carries
``inherited_from``, says so in Chinese and English, and warns unless asked
otherwise; English messages cite documents by title, never a seed file; a
method parameter is never a limit; the sentence to paste has the PDF
extraction spaces removed while ``source_quote`` keeps the seed verbatim.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import DEMO

import compliance
from compliance.engine import FINDING_COLUMNS, SUMMARY_COLUMNS, paste_quote
from compliance.rules.catalogue import list_profiles, load_profile


@pytest.fixture(scope="module")
def scheme():
    return compliance.read_scheme(DEMO)


@pytest.fixture(scope="module")
def jiaozuo(scheme):
    return compliance.check(scheme, "jiaozuo")


def test_inherited_from_is_the_last_column():
    assert FINDING_COLUMNS[-1] == "inherited_from"
    assert SUMMARY_COLUMNS[-1] == "inherited_from"


def test_jiaozuo_inherited_rules_are_labelled_and_warn(jiaozuo):
    s = jiaozuo.summary.set_index("rule_id")
    # Jiaozuo's plan states neither 300米见绿 nor the cluster area: inherited from national
    assert s.loc["GR01", "inherited_from"] == "national"
    assert s.loc["CL01", "inherited_from"] == "national"
    assert s.loc["GR03", "inherited_from"] == ""  # stated in Jiaozuo's plan
    f = jiaozuo.findings
    gr01 = f[(f["rule_id"] == "GR01") & (f["status"] != "pass")]
    assert len(gr01) and set(gr01["status"]) == {"warn"}
    first = gr01.iloc[0]
    assert (
        "《焦作市城乡建设领域碳达峰行动实施方案》（焦建规定〔2023〕3号）未规定此项，参照"
        in (first["message"])
    )
    assert "《国家园林城市评选标准》" in first["message"]
    assert "does not state this rule" in first["message_en"]


@pytest.mark.parametrize("name", [p for p in list_profiles() if p != "national"])
def test_no_finding_cites_another_plan_unlabelled_nor_fails_inherited(scheme, name):
    result = compliance.check(scheme, name)
    prof = load_profile(name)
    f = result.findings
    other = f["source_seed"] != prof.seed
    assert (f.loc[other, "inherited_from"] == "national").all()
    assert not ((f["inherited_from"] != "") & (f["status"] == "fail")).any()
    assert not f["message_en"].str.contains(r"\.txt", regex=True).any()


def test_inherited_fail_and_skip(scheme):
    failing = compliance.check(scheme, "jiaozuo", inherited="fail")
    s = failing.summary.set_index("rule_id")
    assert s.loc["CL01", "status"] == "fail"  # the demo's 56 km² cluster
    skipped = compliance.check(scheme, "jiaozuo", inherited="skip")
    assert "CL01" not in set(skipped.summary["rule_id"])
    assert (skipped.summary["inherited_from"] == "").all()
    with pytest.raises(ValueError):
        compliance.check(scheme, "jiaozuo", inherited="maybe")


def test_national_names_its_basis_for_every_rule():
    prof = load_profile("national")
    for code, rule in prof.rules.items():
        assert rule.source.basis, code  # the national document, or the garden-city standard
    assert prof.rules["GR01"].source.basis == "《国家园林城市评选标准》"


def test_hebi_cl01_header_and_sentence_agree(scheme):
    from compliance.engine import citation_zh, clause_zh

    prof = load_profile("hebi")
    rule = prof.rules["CL01"]
    # the heading and the sentence both say: 53号 is the basis, Alxa's sentence restates it
    assert clause_zh(rule, prof).endswith(
        "（系对《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）的转述）"
    )
    assert "参照《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）（引自《阿拉善盟" in citation_zh(
        rule, prof
    )


def test_bh02_has_no_numeric_limit(scheme):
    rule = load_profile("hebi").rules["BH02"]
    assert not rule.has_limit and rule.params["max_gap_m"] == 500
    import geopandas as gpd
    from helpers import run_rule
    from shapely import box

    towers = gpd.GeoDataFrame(
        {"id": ["t1", "t2"], "height_m": [150, 120], "is_new": [True, True]},
        geometry=[box(0, 0, 20, 20), box(620, 0, 640, 20)],
    )
    result = run_rule("BH02", {"buildings": towers}, profile="hebi")
    f = result.findings
    assert np.isnan(f["limit"]).all() and np.isnan(result.summary["limit"]).all()
    message = f["message"].iloc[0]
    assert "上限" not in message and "500.0" not in message
    assert "本工具以 500 米内有其他 100 米以上建筑作为相对集中的判定条件" in message


def test_paste_quote_removes_only_extraction_spaces():
    assert (
        paste_quote("2030年星 级绿色建筑全 部达到二星级以上")
        == "2030年星级绿色建筑全部达到二星级以上"
    )
    assert paste_quote("到2030 年城市建成区绿地率不低于40%") == "到2030年城市建成区绿地率不低于40%"
    assert paste_quote("净宽度不少于 100米") == "净宽度不少于100米"
    assert paste_quote("超过 3.5 公里/万人") == "超过3.5公里/万人"
    # Latin words and numbers keep their spaces
    assert paste_quote("BIM 技术 and GB 50180") == "BIM 技术 and GB 50180"
    q = "组团间的生态廊道应贯通连续,净宽度不少于 100米"
    assert re.sub(r"\s", "", paste_quote(q)) == re.sub(r"\s", "", q)


def test_percentage_differences_are_in_points(jiaozuo):
    f = jiaozuo.findings
    gr03 = f[(f["rule_id"] == "GR03") & (f["status"] == "fail")].iloc[0]
    assert re.search(r"相差 [\d.]+ 个百分点", gr03["message"])
    assert "percentage points" in gr03["message_en"]
