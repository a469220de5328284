"""The generated rule catalogue page stays current and lists every clause."""

from __future__ import annotations

import datetime
import shutil

from click.testing import CliRunner
from helpers import ROOT

import compliance.rules.catalogue
import compliance.rules.model
from compliance.cli import main
from compliance.rules.catalogue import list_profiles, load_profile
from compliance.rules.docs import catalogue_markdown, readme_rules_table
from compliance.rules.registry import TYPES

PAGE = ROOT / "docs" / "catalogue.md"


def test_committed_page_is_current():
    assert PAGE.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/catalogue.md is out of date: run `compliance docs --out docs/catalogue.md`"
    )


def test_readme_rule_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_rules_table() in readme, (
        "README.md's rule table is out of date: run `compliance docs --readme README.md`"
    )


def test_every_rule_type_is_documented_from_its_declaration():
    text = catalogue_markdown()
    table = readme_rules_table()
    for code, rule_type in TYPES.items():
        section = text.split(f"### `{code}` ", 1)[1].split("\n### ", 1)[0]
        assert section.startswith(f"{rule_type.title_zh} / {rule_type.title_en}")
        assert f"`{rule_type.measure.name}` on `{rule_type.layer}`, in {rule_type.unit}" in section
        for heading in ("**What it checks.**", "**Why.**", "**How it is measured.**"):
            assert heading in section, (code, heading)
        assert f"checks/{rule_type.declared_at.split('/checks/')[1].split(':')[0]}" in section
        assert f"| `{code}` | {rule_type.title_zh}<br>" in table


def test_page_quotes_the_clauses():
    text = catalogue_markdown()
    assert "广场集中硬地面积不超过 1 公顷" in text  # Hebi SQ01
    assert "### hebi: 鹤壁市 / Hebi, Henan" in text
    assert "《鹤壁市城乡建设领域碳达峰行动方案》（鹤建综[2023]61号）" in text
    # a rule with target years lists each year with its own clause
    assert "2025: ≥ 40 %<br>2030: ≥ 45 %" in text
    assert "“城市可渗透地面面积比例不低于40%”" in text
    assert "“到2030年城市建成区可渗透面积占比达45%”" in text
    assert "| `DN02` | 县城建筑总面积与建设用地比值<br>" in text
    assert "0.6–0.8 ratio" in text
    assert "warn (相对集中)" in text


def test_page_lists_every_rule_of_every_profile():
    text = catalogue_markdown()
    sections = text.split("\n### ")
    for name in list_profiles():
        prof = load_profile(name)
        section = next(s for s in sections if s.startswith(f"{name}: "))
        for code, rule in prof.rules.items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{code}` |"))
            assert rule.source.seed in row
            origin = "stated in plan" if prof.stated_in_plan(rule) else "inherited"
            if prof.seed is not None:
                assert row.endswith(f"{origin} |") or row.endswith(f"{origin} (national) |")


def test_inherited_rules_are_marked():
    text = catalogue_markdown()
    bayannur = next(s for s in text.split("\n### ") if s.startswith("bayannur: "))
    sq01 = next(line for line in bayannur.splitlines() if line.startswith("| `SQ01` |"))
    assert sq01.endswith("| inherited (national) |")
    bh04 = next(line for line in bayannur.splitlines() if line.startswith("| `BH04` |"))
    assert bh04.endswith("| stated in plan |")


def test_page_does_not_depend_on_the_date(monkeypatch):
    before = catalogue_markdown()

    class _Date(datetime.date):
        @classmethod
        def today(cls):
            return cls(2024, 1, 1)

    monkeypatch.setattr(compliance.rules.model, "date", _Date)
    assert load_profile("hebi").rules["PM01"].year == 2025  # the clock did move
    assert catalogue_markdown() == before


def test_page_follows_the_catalogue_folder(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    f = folder / "hebi.yaml"
    f.write_text(f.read_text("utf-8").replace("    limit: 1\n", "    limit: 1.5\n"), "utf-8")
    assert "≤ 1.5 ha" in catalogue_markdown(folder)
    assert "≤ 1.5 ha" not in catalogue_markdown()


def test_cli_prints_and_writes(tmp_path):
    runner = CliRunner()
    printed = runner.invoke(main, ["docs"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == catalogue_markdown()
    out = tmp_path / "sub" / "catalogue.md"
    written = runner.invoke(main, ["docs", "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8") == catalogue_markdown()
    assert str(out) in written.output
