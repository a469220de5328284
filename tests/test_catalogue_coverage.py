"""Every rule of spec/RULES.md stands in every profile whose plan states it.

The table below is RULES.md's "where" column: each code with the seeds that
state it.  Each such profile must hold the rule, cite its own seed (not an
inherited clause), and quote the seed verbatim.  Then the numbers that are
easy to get wrong are pinned one by one.
"""

from __future__ import annotations

from datetime import date

import pytest
from helpers import SEEDS

from compliance.rules.catalogue import Rule, Source, choose_year, list_profiles, load_profile

SEED_PROFILE = {
    "000_71866985e9a857ba.txt": "xinjiang",
    "001_82aca44441694ad7.txt": "alxa",
    "002_7c2abb0a5bb26d87.txt": "hebi",
    "003_ff89d2b155d7644b.txt": "jiaozuo",
    "004_007da37bcd73c474.txt": "bayannur",
}
PREFIX = {seed[:3]: seed for seed in SEED_PROFILE}

#: RULES.md: code → the seeds (by number) its "where" and "limit" columns name.
RULES_MD: dict[str, tuple[str, ...]] = {
    # A. urban structure
    "CL01": ("001",),
    "CL02": ("001", "002", "003"),
    "CL03": ("002", "003"),
    "EC01": ("001", "002", "003"),
    "EC02": ("001", "002", "003"),
    "RD02": ("001", "002", "003", "004"),
    "UR01": ("000", "001", "002", "003"),
    "BH01": ("002",),
    "BH02": ("002",),
    "BH03": ("000",),
    # B. green space
    "GR01": ("000", "002"),
    "GR02": ("000", "002"),
    "GR03": ("002", "003"),
    "GR04": ("000", "001", "002", "003"),
    "GR05": ("000",),
    "GR06": ("002",),
    "PM01": ("000", "002", "003"),
    # C. county towns
    "RD01": ("000", "001", "002"),
    "SQ01": ("000", "001", "002"),
    "DN01": ("000", "002"),
    "DN02": ("000", "002"),
    "BH04": ("000", "001", "002", "004"),
    "BH05": ("000", "001", "002"),
    # D. buildings and communities
    "EN01": ("000", "001", "002", "003"),
    "EN02": ("001",),
    "GB01": ("001", "002", "003", "004"),
    "LC01": ("000", "001", "003", "004"),
    # E. clauses found in a second reading
    "BH06": ("000", "001", "002"),
    # E. clauses added by issue 12
    "GB02": ("000", "001", "002", "003", "004"),
    "GB03": ("000", "002"),
    "PF01": ("000", "002", "003", "004"),
    "CM01": ("002", "003"),
    "WL01": ("004",),
}

#: Rules a plan states although RULES.md does not list that seed for them.
BEYOND_RULES_MD: dict[str, tuple[str, ...]] = {
    "GB01": ("000",),  # 000 （三）1: 新建政府投资大型公共建筑全部达到一星级绿色建筑及以上
}

CASES = [
    (code, SEED_PROFILE[PREFIX[n]], PREFIX[n])
    for table in (RULES_MD, BEYOND_RULES_MD)
    for code, seeds in table.items()
    for n in seeds
]


def _sources(rule: Rule) -> list[Source]:
    return [rule.source] + [t.source for t in rule.targets if t.source is not None]


def _seed_text(seed: str) -> str:
    return (SEEDS / seed).read_text(encoding="utf-8")


@pytest.mark.parametrize(("code", "profile", "seed"), CASES, ids=[f"{c}-{p}" for c, p, _ in CASES])
def test_profile_states_the_rule_citing_its_own_seed(code, profile, seed):
    prof = load_profile(profile)  # validates every quote against its seed
    assert code in prof.rules, f"{profile} lacks {code}, which its plan {seed} states"
    rule = prof.rules[code]
    assert prof.stated_in_plan(rule), f"{profile} {code} inherits; it should cite {seed}"
    text = _seed_text(seed)
    for source in _sources(rule):
        assert source.seed == seed
        assert source.document == prof.document
        assert source.quote in text, f"{profile} {code}: “{source.quote}” not verbatim in {seed}"


@pytest.mark.parametrize("name", ["national", *SEED_PROFILE.values()])
def test_every_quote_of_every_profile_is_verbatim(name):
    for year in (2023, 2025, 2030):
        for code, rule in load_profile(name, year=year).rules.items():
            for source in _sources(rule):
                assert source.quote in _seed_text(source.seed), f"{name} {code} ({year})"


def test_only_the_plans_that_state_a_rule_hold_it():
    """A new rule is not smuggled into national or into a plan that does not state it."""
    stated = {(code, profile) for code, profile, _ in CASES}
    national = set(load_profile("national").rules)
    for name in list_profiles():
        if name == "national":
            continue
        for code, rule in load_profile(name).rules.items():
            if code in national:
                continue  # the headline rules: inherited where a plan does not state them
            assert (code, name) in stated, f"{name} {code} is not stated by its plan"
            assert SEED_PROFILE[rule.source.seed] == name


# name, code, comparison, limit (low, high for 'between'), unit, severity, wording, year
EXPECTED = [
    ("hebi", "CL03", "<=", 15000, "persons/km2", "fail", None, None),
    ("jiaozuo", "CL03", "<=", 15000, "persons/km2", "fail", None, None),
    ("hebi", "RD02", ">", 8, "km/km2", "fail", None, None),
    ("jiaozuo", "RD02", ">", 8, "km/km2", "fail", None, None),
    ("alxa", "RD02", ">=", 8.5, "km/km2", "warn", "力争", 2025),
    ("bayannur", "RD02", ">=", 8.5, "km/km2", "fail", None, 2025),
    ("xinjiang", "UR01", "<=", 20, "%", "warn", "原则上", None),
    ("alxa", "UR01", "<=", 20, "%", "warn", "原则上", None),
    ("hebi", "UR01", "<=", 20, "%", "warn", "原则上", None),
    ("jiaozuo", "UR01", "<=", 20, "%", "warn", "原则上", None),
    ("hebi", "BH01", "<", 250, "m", "fail", None, None),
    ("xinjiang", "BH03", "<=", 100, "m", "warn", "一般", None),
    ("xinjiang", "BH06", "<=", 100, "m", "warn", "严格控制", None),
    ("alxa", "BH06", "<=", 100, "m", "warn", "严格控制", None),
    ("hebi", "BH06", "<=", 100, "m", "warn", "严格控制", None),
    ("xinjiang", "BH04", "<=", 18, "floors", "fail", None, None),
    ("alxa", "BH04", "<=", 12, "floors", "fail", None, None),
    ("hebi", "BH04", "<=", 18, "floors", "fail", None, None),
    ("bayannur", "BH04", "<=", 18, "floors", "fail", None, None),
    ("xinjiang", "BH05", ">=", 70, "%", "fail", None, None),
    ("alxa", "BH05", ">=", 70, "%", "fail", None, None),
    ("hebi", "BH05", ">=", 70, "%", "fail", None, None),
    ("xinjiang", "EN01", ">=", 20, "%", "warn", "力争", 2023),
    ("alxa", "EN01", ">=", 50, "%", "warn", "力争", 2025),
    ("hebi", "EN01", ">=", 50, "%", "warn", "力争", 2025),
    ("jiaozuo", "EN01", ">=", 50, "%", "fail", None, 2025),
    ("alxa", "EN02", ">=", 100, "%", "warn", "推动", None),
    ("alxa", "GB01", ">=", 1, "stars", "fail", None, None),
    ("hebi", "GB01", ">=", 2, "stars", "fail", None, 2030),
    ("jiaozuo", "GB01", ">=", 1, "stars", "fail", None, 2030),
    ("bayannur", "GB01", ">=", 3, "stars", "fail", None, None),
    ("xinjiang", "GB01", ">=", 1, "stars", "fail", None, 2025),
    ("alxa", "GR04", ">=", 36.5, "%", "warn", "力争", 2025),
    ("jiaozuo", "GR04", ">=", 38.9, "%", "fail", None, 2030),
    ("xinjiang", "GR05", ">=", 15, "m2/person", "fail", None, 2030),
    ("hebi", "GR06", ">", 3.5, "km/10k persons", "fail", None, 2030),
    ("jiaozuo", "PM01", ">=", 45, "%", "fail", None, 2030),
    ("xinjiang", "DN01", "between", (6000, 10000), "persons/km2", "fail", None, None),
    ("hebi", "DN01", "between", (6000, 10000), "persons/km2", "fail", None, None),
    ("xinjiang", "DN02", "<=", 0.8, "ratio", "fail", None, None),
    ("hebi", "DN02", "between", (0.6, 0.8), "ratio", "fail", None, None),
    *[
        (name, "LC01", "<=", 1000, "m", "fail", None, year)
        for name, year in (
            ("xinjiang", 2030),
            ("alxa", None),
            ("jiaozuo", None),
            ("bayannur", None),
        )
    ],
]


@pytest.mark.parametrize(
    ("name", "code", "comparison", "limit", "unit", "severity", "wording", "year"),
    EXPECTED,
    ids=[f"{e[1]}-{e[0]}" for e in EXPECTED],
)
def test_limits_as_the_plans_state_them(
    name, code, comparison, limit, unit, severity, wording, year
):
    rule = load_profile(name, year=2030).rules[code]
    assert rule.comparison == comparison
    if comparison == "between":
        assert (rule.limit_low, rule.limit) == limit
    else:
        assert rule.limit == limit
        assert rule.limit_low is None
    assert (rule.unit, rule.severity, rule.wording, rule.year) == (unit, severity, wording, year)
    if wording is not None:
        assert wording in rule.source.quote


def test_hebi_plaza_is_one_hectare():
    rule = load_profile("hebi").rules["SQ01"]
    assert (rule.comparison, rule.limit, rule.unit) == ("<=", 1.0, "ha")
    assert load_profile("national").rules["SQ01"].limit == 2.0


def test_alxa_new_housing_is_at_most_12_floors():
    rule = load_profile("alxa").rules["BH04"]
    assert (rule.limit, rule.unit) == (12.0, "floors")
    assert "最高不超过12层" in rule.source.quote
    assert load_profile("hebi").rules["BH04"].limit == 18.0


def test_hebi_floor_area_ratio_is_between_0_6_and_0_8():
    rule = load_profile("hebi").rules["DN02"]
    assert (rule.comparison, rule.limit_low, rule.limit) == ("between", 0.6, 0.8)
    assert rule.passes(0.7) and rule.passes(0.6) and rule.passes(0.8)
    assert not rule.passes(0.59) and not rule.passes(0.81)
    xj = load_profile("xinjiang").rules["DN02"]
    assert (xj.comparison, xj.limit_low, xj.limit) == ("<=", None, 0.8)
    assert xj.passes(0.3)  # no lower bound in Xinjiang


@pytest.mark.parametrize(
    ("year", "limit", "quote"),
    [
        (2025, 40.0, "城市可渗透地面面积比例不低于40%"),
        (2030, 45.0, "到2030年城市建成区可渗透面积占比达45%"),
    ],
)
def test_hebi_permeable_surface_per_target_year(year, limit, quote):
    rule = load_profile("hebi", year=year).rules["PM01"]
    assert (rule.year, rule.limit, rule.comparison) == (year, limit, ">=")
    assert rule.source.quote == quote
    assert [(t.year, t.limit) for t in rule.targets] == [(2025, 40.0), (2030, 45.0)]


@pytest.mark.parametrize(("year", "limit"), [(2025, 39.5), (2030, 40.0)])
def test_hebi_green_ratio_per_target_year(year, limit):
    rule = load_profile("hebi", year=year).rules["GR04"]
    assert (rule.year, rule.limit) == (year, limit)


def test_default_year_is_the_nearest_target_not_yet_passed():
    today = date(2026, 11, 21)
    years = [t.year for t in load_profile("hebi", year=2030).rules["PM01"].targets]
    assert choose_year(years, today=today) == 2030
    assert choose_year(years, today=date(2025, 3, 1)) == 2025
    assert choose_year(years, today=date(2031, 1, 1)) == 2030  # every target passed: the latest
    rule = load_profile("hebi", year=choose_year(years, today=today)).rules["PM01"]
    assert (rule.year, rule.limit) == (2030, 45.0)
    assert choose_year(years, 2023) == 2025  # an earlier year asked: the next target


def test_gb01_tiers_follow_each_plan():
    def tiers(name: str) -> list[tuple[int, float, float, bool]]:
        rule = load_profile(name).rules["GB01"]
        return [
            (
                t["stars"],
                t.get("min_floor_area_m2", 0) + t.get("min_district_floor_area_m2", 0),
                t.get("min_height_m", 0) + t.get("above_height_m", 0),
                t.get("investors") is not None,
            )
            for t in rule.params["tiers"]
        ]

    # public-welfare (any investor), public ≥ 20,000 m², a 居住小区 of ≥ 50,000 m², every
    # civil building of a 城市新建区 or 绿色生态城区: one star
    assert tiers("alxa") == [
        (1, 0, 0, False),
        (1, 20000, 0, False),
        (1, 50000, 0, False),
        (1, 0, 0, False),
    ]
    alxa = load_profile("alxa").rules["GB01"].params["tiers"]
    assert "residential" in alxa[2]["uses"] and "hospital" in alxa[1]["uses"]
    assert alxa[2]["district_kinds"] == [
        "residential"
    ]  # the district's floor area, not a building's
    assert alxa[3]["district_kinds"] == ["new_urban", "eco"] and "厂房" in alxa[3]["except_uses"]
    # government-invested public-welfare, large public buildings: two stars (2030)
    assert tiers("hebi") == [(2, 0, 0, True), (2, 20000, 0, False)]
    # the same scope, one star (2030)
    assert tiers("jiaozuo") == [(1, 0, 0, True), (1, 20000, 0, False)]
    # super-high-rise (over 100 m, 100 m itself excluded): three stars
    assert tiers("bayannur") == [(3, 0, 100, False)]
    assert load_profile("bayannur").rules["GB01"].params["tiers"][0]["above_height_m"] == 100
    assert load_profile("bayannur").rules["GB01"].params["tiers"][0]["uses"] is None


def test_life_circle_names_the_facility_kinds():
    for name in ("xinjiang", "alxa", "jiaozuo", "bayannur"):
        params = load_profile(name).rules["LC01"].params
        kinds = ["school", "clinic", "market", "community_centre", "elderly_care", "sports"]
        assert params["kinds"] == kinds
    assert "LC01" not in load_profile("hebi").rules  # the Hebi plan states no life circle
