"""Every profile over the real sample places: each rule evaluated, or not_evaluated and why."""

from __future__ import annotations

import pytest
from helpers import ROOT

import compliance

PLACES = {
    "nanjing_xinjiekou": {"impervious": ROOT / "sample_data/rasters/nanjing_impervious.tif"},
    "jiangxi_guixi": {},
    "shenzhen_longgang": {},
    "beijing_haidian": {},
    "beijing_cau": {},
    "shanghai_central_roads": {},
}


@pytest.fixture(scope="module", params=list(PLACES))
def scheme(request: pytest.FixtureRequest) -> compliance.Scheme:
    place = request.param
    return compliance.read_scheme(
        ROOT / "sample_data" / place / "scheme.gpkg", rasters=PLACES[place]
    )


@pytest.mark.parametrize("name", compliance.list_profiles())
def test_every_rule_is_evaluated_or_says_why_not(scheme, name):
    profile = compliance.load_profile(name)
    result = compliance.evaluate(scheme, profile)
    s = result.summary.set_index("rule_id")
    assert sorted(s.index) == sorted(profile.rules)
    assert set(s["status"]) <= {"fail", "warn", "pass", "not_evaluated", "excepted"}
    missing = s[s["status"] == "not_evaluated"]
    assert (missing["note"].str.len() > 0).all(), "a not_evaluated rule must say why"
    assert (missing["checked"] == 0).all()
    evaluated = s[s["status"] != "not_evaluated"]
    assert (evaluated["checked"] > 0).all()
    f = result.findings
    assert f.loc[f["status"] != "not_evaluated", "geometry"].notna().all()
    assert f["message"].str.contains(r"依据|参照").all()  # 参照: a rule inherited from national
