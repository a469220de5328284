"""Per-rule cases as data: every rule code has tests/rules/cases/<CODE>.yaml.

Each case draws a few features in local metres (WKT, origin 0, 0), runs the
one rule as a profile of the catalogue states it, and checks the rule's
status and failed count and, per feature, its status and measured value.
The expected values are worked out by hand from the geometry (each case's
``description`` says how), not copied from the checker's output.

Placement: geometries are shifted by (X0, Y0) = (520,000, 3,950,000) m into
EPSG:4547 (CGCS2000 / 3-degree Gauss-Krüger CM 114E), as the demo scheme;
see :func:`helpers.local_layer`.

Case file format::

    code: CL01
    cases:
      - name: six_km2_passes            # unique in the file
        description: a 2 km × 3 km cluster: 6 km² ≤ 50 km²
        profile: national               # optional, default national
        year: 2030                      # optional, the rule's target year
        params: {min_area_m2: 0}        # optional, rule parameter overrides
        layers:
          clusters:
            - {id: c1, geometry: "POLYGON ((0 0, 2000 0, 2000 3000, 0 3000, 0 0))"}
        expect:
          status: pass                  # rule level: pass / fail / warn / not_evaluated
          failed: 0                     # rule level: findings failing or warning
          checked: 1                    # rule level: findings, optional
          features:                     # optional, per finding
            - {feature_id: c1, status: pass, measured: 6.0, tolerance: 1.0e-9}
        xfail: "why the checker is wrong here"   # optional
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from helpers import local_layer, profile_rules, run_rule
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from compliance.rules.catalogue import list_profiles

CASES_DIR = Path(__file__).resolve().parent / "rules" / "cases"

Status = Literal["pass", "fail", "warn", "not_evaluated"]


class FeatureExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature_id: str
    status: Status | None = None
    measured: float | None = None
    tolerance: float = Field(1e-6, ge=0)
    #: words the Chinese / English message must contain (what a reviewer pastes)
    message_has: list[str] = Field(default_factory=list)
    message_en_has: list[str] = Field(default_factory=list)


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    failed: int | None = Field(None, ge=0)
    checked: int | None = Field(None, ge=0)
    features: list[FeatureExpect] = Field(default_factory=list)

    @model_validator(mode="after")
    def _says_something(self) -> Expect:
        if self.status is None and not self.features:
            raise ValueError("expect needs a rule-level 'status' or per-feature 'features'")
        return self

    @property
    def outcome(self) -> Status:
        """The rule's outcome this case expects: its status, else the worst feature's."""
        if self.status is not None:
            return self.status
        states = {f.status for f in self.features}
        return "fail" if "fail" in states else "warn" if "warn" in states else "pass"


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = Field(min_length=10)
    profile: str = "national"
    year: int | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    layers: dict[str, list[dict[str, Any]]]
    expect: Expect
    xfail: str | None = None


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}[0-9]{2}$")
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> CaseFile:
        names = [c.name for c in self.cases]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"case names repeated: {', '.join(dup)}")
        return self


def load_case_files() -> dict[str, CaseFile]:
    """Every case file, by code; the file's stem must be its code."""
    out: dict[str, CaseFile] = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        try:
            data = CaseFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise ValueError(f"{path}: {exc}") from None
        assert data.code == path.stem, f"{path.name} declares code {data.code}"
        out[data.code] = data
    return out


CASE_FILES = load_case_files()


def _params() -> list[Any]:
    out = []
    for code, cf in CASE_FILES.items():
        for case in cf.cases:
            marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
            out.append(pytest.param(code, case, id=f"{code}-{case.name}", marks=marks))
    return out


def catalogue_codes() -> set[str]:
    """Every rule code any profile of the catalogue carries, in any target year."""
    return {
        code
        for name in list_profiles()
        for year in (None, 2025, 2030)
        for code in profile_rules(name, year).rules
    }


@pytest.mark.parametrize(("code", "case"), _params())
def test_rule_case(code: str, case: Case) -> None:
    layers = {name: local_layer(records) for name, records in case.layers.items()}
    result = run_rule(code, layers, profile=case.profile, year=case.year, params=case.params)
    summary = result.summary.set_index("rule_id").loc[code]
    findings = result.findings
    expect = case.expect
    got = findings[["feature_id", "status", "measured"]].to_dict("records")
    where = f"{code} {case.name}: findings {got}; note {summary['note']!r}"
    if expect.status is not None:
        assert summary["status"] == expect.status, where
    if expect.failed is not None:
        assert int(summary["failed"]) == expect.failed, where
    if expect.checked is not None:
        assert int(summary["checked"]) == expect.checked, where
    for fe in expect.features:
        rows = findings[findings["feature_id"].astype(str) == fe.feature_id]
        assert len(rows) == 1, f"expected one finding for {fe.feature_id}; {where}"
        row = rows.iloc[0]
        if fe.status is not None:
            assert row["status"] == fe.status, f"{fe.feature_id}: {where}"
        if fe.measured is not None:
            measured = float(row["measured"])
            assert not math.isnan(measured), f"{fe.feature_id} not measured; {where}"
            assert measured == pytest.approx(fe.measured, abs=fe.tolerance, rel=0), (
                f"{fe.feature_id}: measured {measured!r}, by hand {fe.measured!r}; {where}"
            )
        for words in fe.message_has:
            assert words in row["message"], f"{fe.feature_id}: {words!r} not in {row['message']!r}"
        for words in fe.message_en_has:
            assert words in row["message_en"], (
                f"{fe.feature_id}: {words!r} not in {row['message_en']!r}"
            )


def test_every_code_of_every_profile_has_passing_and_failing_cases() -> None:
    """A code added to any profile without its case file (one pass, one fail) fails here."""
    codes = catalogue_codes()
    missing = sorted(codes - set(CASE_FILES))
    assert not missing, f"rule codes without tests/rules/cases/<CODE>.yaml: {missing}"
    for code in sorted(codes):
        outcomes = {c.expect.outcome for c in CASE_FILES[code].cases if not c.xfail}
        assert "pass" in outcomes, f"{code}: no passing case"
        assert outcomes & {"fail", "warn"}, f"{code}: no failing case"


def test_every_case_file_is_about_a_catalogue_rule() -> None:
    """No case file for a code no profile carries; each case's profile carries its code."""
    codes = catalogue_codes()
    assert set(CASE_FILES) <= codes, sorted(set(CASE_FILES) - codes)
    for code, cf in CASE_FILES.items():
        for case in cf.cases:
            rules = profile_rules(case.profile, case.year).rules
            assert code in rules, f"{code} {case.name}: profile {case.profile} lacks {code}"
