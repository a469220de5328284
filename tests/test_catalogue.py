"""The rule catalogue: every quote verbatim in its seed, inheritance, strict loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import ROOT, SEEDS

from compliance import RuleFileError, list_profiles, load_profile
from compliance.rules.registry import CHECKS

PROFILES = ["alxa", "bayannur", "hebi", "jiaozuo", "national", "xinjiang"]
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


def test_profiles_listed():
    assert list_profiles() == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_every_quote_is_verbatim_in_its_seed(name):
    profile = load_profile(name)
    assert profile.rules, "a profile with no rules"
    for code, rule in profile.rules.items():
        text = (SEEDS / rule.source.seed).read_text(encoding="utf-8")
        assert rule.source.quote in text, f"{name} {code}: quote not in {rule.source.seed}"
        assert rule.measure in CHECKS, f"{name} {code}: unknown measure {rule.measure}"


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="shared/seeds not beside the checkout")
def test_bundled_seeds_equal_the_shared_seeds():
    for f in SHARED_SEEDS.glob("*.txt"):
        assert (SEEDS / f.name).read_bytes() == f.read_bytes()


def test_city_profiles_inherit_and_override():
    national, hebi = load_profile("national"), load_profile("hebi")
    assert national.rules["SQ01"].limit == 2.0
    assert hebi.rules["SQ01"].limit == 1.0
    assert hebi.rules["SQ01"].source.seed.startswith("002_")
    assert hebi.rules["SQ01"].source.quote == "广场集中硬地面积不超过 1 公顷"
    assert hebi.rules["CL01"] == national.rules["CL01"]  # inherited unchanged
    assert not hebi.stated_in_plan(hebi.rules["CL01"])
    assert hebi.stated_in_plan(hebi.rules["SQ01"])
    assert "GR03" in hebi.rules and "GR03" not in national.rules
    assert load_profile("jiaozuo").rules["GR03"].limit == 82.0


def test_hedged_wording_is_a_warning():
    alxa = load_profile("alxa")
    assert alxa.rules["CL02"].severity == "warn"  # 原则上
    assert alxa.rules["RD01"].severity == "warn"  # 原则不超过40米
    assert alxa.rules["RD01"].params["new_only"] is True
    assert alxa.rules["RD01"].params["exclude_classes"]  # merged from national
    assert alxa.rules["SQ01"].severity == "fail"  # 不应超过


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    return folder


def test_unknown_key_is_rejected_with_file_and_line(catalogue):
    f = catalogue / "hebi.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("    limit: 1\n", "    limt: 1\n"), "utf-8")
    line = next(i for i, t in enumerate(f.read_text("utf-8").splitlines(), 1) if "limt" in t)
    with pytest.raises(RuleFileError, match=rf"hebi\.yaml:{line}: rule SQ01: limt"):
        load_profile("hebi", catalogue)


def test_quote_missing_from_seed_is_rejected(catalogue):
    f = catalogue / "hebi.yaml"
    f.write_text(
        f.read_text("utf-8").replace(
            "广场集中硬地面积不超过 1 公顷", "广场集中硬地面积不超过1公顷"
        ),
        "utf-8",
    )
    with pytest.raises(
        RuleFileError,
        match=r"hebi\.yaml:\d+: rule SQ01: the quote “广场集中硬地面积不超过1公顷” is not found",
    ):
        load_profile("hebi", catalogue)


def test_profile_inheriting_itself_is_rejected(catalogue):
    f = catalogue / "national.yaml"
    f.write_text(
        f.read_text("utf-8").replace("profile: national\n", "profile: national\ninherits: hebi\n"),
        "utf-8",
    )
    with pytest.raises(
        RuleFileError, match="inherits from itself through hebi -> national -> hebi"
    ):
        load_profile("hebi", catalogue)


def test_unknown_profile():
    with pytest.raises(RuleFileError, match=r"unknown profile 'beijing'.*national"):
        load_profile("beijing")


def test_wrong_unit_is_rejected(catalogue):
    f = catalogue / "hebi.yaml"
    f.write_text(f.read_text("utf-8").replace("  GR03:\n", "  GR03:\n    unit: percent\n"), "utf-8")
    with pytest.raises(RuleFileError, match=r"hebi\.yaml:\d+: rule GR03: unit"):
        load_profile("hebi", catalogue)


def test_unknown_parameter_is_rejected_with_file_and_line(catalogue):
    f = catalogue / "national.yaml"
    f.write_text(
        f.read_text("utf-8").replace("  RD01:\n", "  RD01:\n    params:\n      new_ony: false\n"),
        "utf-8",
    )
    line = next(i for i, t in enumerate(f.read_text("utf-8").splitlines(), 1) if "new_ony" in t)
    with pytest.raises(RuleFileError, match=rf"national\.yaml:{line}: rule RD01: params\.new_ony"):
        load_profile("alxa", catalogue)  # inherited: still the line in national.yaml


# --------------------------------------------------------------------------- rule types


def test_each_code_is_declared_once_in_the_module_of_its_family():
    from compliance.rules.registry import FAMILY_MODULES, TYPES

    assert set(TYPES) >= {c for n in list_profiles() for c in load_profile(n).rules}
    for code, rule_type in TYPES.items():
        module = FAMILY_MODULES[code[:2]]
        assert rule_type.declared_at.startswith(f"compliance/rules/checks/{module}.py:"), code
        assert rule_type.check.__module__ == f"compliance.rules.checks.{module}", code


def test_profiles_state_no_measure_layer_or_unit():
    import yaml

    for path in sorted((ROOT / "rules").glob("*.yaml")):
        entries = yaml.safe_load(path.read_text("utf-8"))["rules"]
        for code, entry in entries.items():
            assert not {"measure", "layer", "unit"} & set(entry), (path.name, code)


def test_declaring_a_rule_type_badly_is_refused_with_module_and_line():
    from compliance.rules.checks.open_space import check_plaza_hard_area
    from compliance.rules.registry import RuleDoc, declare

    doc = RuleDoc(what="w", why="y", how="h")
    kwargs = {"title_zh": "广场", "title_en": "plaza", "check": check_plaza_hard_area}
    with pytest.raises(
        RuleFileError, match=r"test_catalogue\.py:\d+: rule type SQ01: declared twice"
    ):
        declare("SQ01", layer="squares", comparison="<=", doc=doc, **kwargs)
    with pytest.raises(RuleFileError, match=r"rule type GR09: declare it in .*checks/green\.py"):
        declare("GR09", layer="squares", comparison="<=", doc=doc, **kwargs)
    with pytest.raises(RuleFileError, match=r"rule type XX01: family XX has no module"):
        declare("XX01", layer="squares", comparison="<=", doc=doc, **kwargs)


def test_a_check_with_a_unit_outside_the_registry_is_refused():
    from compliance.rules.checks.common import NoParams
    from compliance.rules.registry import register

    with pytest.raises(RuleFileError, match=r"check plaza_soft_area: unit 'acre' is not in"):
        register("plaza_soft_area", NoParams, unit="acre")


def test_a_limit_stated_in_another_unit_of_the_same_dimension_is_converted(catalogue):
    f = catalogue / "hebi.yaml"
    text = f.read_text("utf-8").replace(
        "  SQ01:\n    limit: 1\n", "  SQ01:\n    limit: 10000\n    unit: m2\n"
    )
    f.write_text(text, "utf-8")
    rule = load_profile("hebi", catalogue).rules["SQ01"]
    assert (rule.limit, rule.unit) == (1.0, "ha")
    f.write_text(text.replace("    unit: m2\n", "    unit: m\n"), "utf-8")
    with pytest.raises(
        RuleFileError, match=r"rule SQ01: unit .m. does not fit measure plaza_hard_area"
    ):
        load_profile("hebi", catalogue)


def test_a_comparison_of_the_other_direction_is_refused(catalogue):
    f = catalogue / "hebi.yaml"
    f.write_text(
        f.read_text("utf-8").replace("  SQ01:\n", '  SQ01:\n    comparison: ">="\n'), "utf-8"
    )
    with pytest.raises(
        RuleFileError, match=r"rule SQ01: comparison '>=' does not fit the rule type's '<='"
    ):
        load_profile("hebi", catalogue)
