"""Numbers written as text, with their units: ``"40米"``, ``"2公顷"``, ``"18层"``, ``"1.5万"``.

Planning tables often hold numbers as text with a unit, or with the Chinese
multiplier 万 (ten thousand).  The contract fields carry their unit in their
name (``red_line_width_m``, ``floor_area_m2``) or are counts (``floors``,
``population``), so a value is converted when its unit is unambiguous and of
the field's dimension, and rejected otherwise.  Units are read by :mod:`pint`
with a registry extended for Chinese units:

=============================  =====================================
text                           unit
=============================  =====================================
``米``, ``m``                  metre
``公里``, ``千米``, ``km``     kilometre
``厘米``, ``毫米``             centimetre, millimetre
``平方米``, ``㎡``, ``m2``     square metre
``公顷``, ``ha``, ``hm2``      hectare (10 000 m²)
``亩``                         mu, 10 000 / 15 m² (666.67 m²)
``平方公里``, ``km2``          square kilometre
``层``                         storeys (a count of its own dimension)
``人``                         persons (a count of its own dimension)
``万`` / ``亿`` before a unit  × 10 000 / × 100 000 000
=============================  =====================================

Full-width digits and symbols (``４０``, ``㎡``, ``％``) are folded with
Unicode NFKC first; thousands separators (``12,000``) are dropped.  A range
(``30-40米``), an approximation (``约40米``) or any other wording is rejected:
the reviewer must decide what the number is.

Plausibility bounds (:data:`BOUNDS`) flag negative and absurd values; those
become missing (NaN) so rules skip them, with a warning per field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pint

Dimension = Literal["length", "area", "storeys", "persons", "count"]

#: The dimension each numeric contract field is written in.  Length fields are
#: converted to metres, area fields to square metres; ``floors`` takes plain
#: numbers or 层, ``population`` plain numbers or 人 (either with 万).
FIELD_DIMENSIONS: dict[str, Dimension] = {
    "red_line_width_m": "length",
    "height_m": "length",
    "floor_area_m2": "area",
    "hard_area_m2": "area",
    "permeable_area_m2": "area",
    "pv_area_m2": "area",
    "roof_area_m2": "area",
    "existing_floor_area_m2": "area",
    "demolished_floor_area_m2": "area",
    "floors": "storeys",
    "population": "persons",
    "green_star": "count",
}

#: What each dimension is called in messages (Chinese with English).
DIMENSION_NAMES: dict[str, str] = {
    "length": "长度 a length in metres",
    "area": "面积 an area in square metres",
    "storeys": "层数 a number of storeys",
    "persons": "人数 a number of persons",
    "count": "数 a plain number",
}

_PINT_DIMENSIONS: dict[str, str] = {
    "length": "[length]",
    "area": "[length] ** 2",
    "storeys": "[storey]",
    "persons": "[person]",
}
_TARGET_UNITS: dict[str, str] = {
    "length": "meter",
    "area": "meter ** 2",
    "storeys": "storey",
    "persons": "person",
}

#: Chinese units added to pint's registry (definition lines in pint syntax).
CHINESE_UNITS: tuple[str, ...] = (
    "storey = [storey] = _ = 层 = storeys = 层楼",
    "person = [person] = _ = 人 = persons = 人口",
    "米 = meter",
    "公尺 = meter",
    "公里 = kilometer",
    "千米 = kilometer",
    "厘米 = centimeter",
    "毫米 = millimeter",
    "平方米 = meter ** 2",
    "平米 = meter ** 2",
    "公顷 = hectare",
    "hm2 = hectare",
    "亩 = 10000 / 15 * meter ** 2",
    "平方公里 = kilometer ** 2",
    "平方千米 = kilometer ** 2",
)

#: Multipliers written before a unit: 1.5万人 = 15 000 persons.
MULTIPLIERS: dict[str, float] = {"万": 1e4, "亿": 1e8}

_NUMBER = re.compile(
    r"^(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"\s*(?P<mult>[万亿])?\s*(?P<unit>.*)$"
)
_POWER = re.compile(r"(?<=[A-Za-z])([23])$")
_UNIT = re.compile(r"^[^\W\d_]+(?:\s+[^\W\d_]+)*[23]?$")
_RANGE = re.compile(r"^(?:-|~|～|至|到|—|–)\s*\d")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """pint's unit registry with the Chinese units of :data:`CHINESE_UNITS` (built once)."""
    import pint

    ureg: pint.UnitRegistry = pint.UnitRegistry(cache_folder=None)
    for line in CHINESE_UNITS:
        ureg.define(line)
    return ureg


@dataclass(frozen=True)
class Parsed:
    """One text value read as a number in a field's unit.

    Attributes
    ----------
    value : float or None
        The number in the field's unit (metres, square metres, a count), or
        None when the text cannot be read.
    unit : str
        The unit written in the text (empty when there was none).
    problem : str
        Why the text was not read (empty when it was).
    """

    value: float | None
    unit: str = ""
    problem: str = ""


def parse_quantity(text: str, dimension: Dimension) -> Parsed:
    """Read one text value as a number of the given dimension.

    Parameters
    ----------
    text : str
        E.g. ``"40米"``, ``"2 公顷"``, ``"18层"``, ``"1.5万"``, ``"12,000"``.
    dimension : {"length", "area", "storeys", "persons", "count"}
        What the field holds; a length is returned in metres, an area in
        square metres, counts as numbers.

    Returns
    -------
    Parsed
        ``value`` is None and ``problem`` says why when the text is not a
        number, its unit is unknown, of another dimension, or it is a range or
        approximation.
    """
    s = unicodedata.normalize("NFKC", text).strip().replace("×10^", "e")
    if not s:
        return Parsed(None, problem="blank")
    m = _NUMBER.match(s)
    if m is None:
        return Parsed(None, problem="not a number")
    number = float(m["num"].replace(",", ""))
    scale = MULTIPLIERS[m["mult"]] if m["mult"] else 1.0
    unit_text = m["unit"].strip()
    written = (m["mult"] or "") + unit_text
    if not unit_text:
        return Parsed(number * scale, unit=written)
    if unit_text == "%":
        return Parsed(None, unit=written, problem="a percentage")
    if _RANGE.match(unit_text):
        return Parsed(None, unit=written, problem="a range, not one number")
    if not _UNIT.match(unit_text):
        return Parsed(None, unit=written, problem=f"unit '{unit_text}' not understood")
    import pint

    ureg = registry()
    try:
        unit = ureg.parse_expression(_POWER.sub(r"**\1", unit_text))
    except (pint.errors.PintError, SyntaxError, TypeError, ValueError, AttributeError):
        return Parsed(None, unit=written, problem=f"unit '{unit_text}' not understood")
    if isinstance(unit, int | float) or not isinstance(unit, ureg.Quantity):
        return Parsed(None, unit=written, problem=f"unit '{unit_text}' not understood")
    q = number * scale * unit
    if dimension == "count":
        if q.dimensionless:
            return Parsed(float(q.to("dimensionless").magnitude), unit=written)
        return Parsed(None, unit=written, problem=f"'{unit_text}' is {_dimension_of(q)}")
    if dimension in ("storeys", "persons") and q.dimensionless:
        return Parsed(float(q.to("dimensionless").magnitude), unit=written)
    if not q.check(_PINT_DIMENSIONS[dimension]):
        return Parsed(None, unit=written, problem=f"'{unit_text}' is {_dimension_of(q)}")
    return Parsed(float(q.to(_TARGET_UNITS[dimension]).magnitude), unit=written)


def _dimension_of(q: pint.Quantity) -> str:
    for name, dim in _PINT_DIMENSIONS.items():
        if q.check(dim):
            return DIMENSION_NAMES[name]
    return f"of dimension {q.dimensionality}"


@dataclass(frozen=True)
class TextNumbers:
    """The outcome of reading a column of numbers, some written as text.

    Attributes
    ----------
    values : pandas.Series
        Floats aligned with the input; NaN where the input was missing or blank.
    parsed : int
        Number of values read from text with a unit (``"40米"``).
    example : str
        One such reading, e.g. ``'40米' → 40.0``.
    bad_position : int or None
        Position of the first value that cannot be read, if any.
    bad_count : int
        Number of values that cannot be read.
    problem : str
        Why the first bad value cannot be read.
    """

    values: pd.Series
    parsed: int = 0
    example: str = ""
    bad_position: int | None = None
    bad_count: int = 0
    problem: str = ""


def parse_column(values: pd.Series, dimension: Dimension) -> TextNumbers:
    """Read a column that may hold numbers as text, each distinct text once.

    Parameters
    ----------
    values : pandas.Series
        Numbers, text or a mix (e.g. an object column read from a Shapefile).
    dimension : {"length", "area", "storeys", "persons", "count"}
        The field's dimension (:data:`FIELD_DIMENSIONS`).

    Returns
    -------
    TextNumbers
        Floats in the field's unit, how many came from text with a unit, and
        the first value that could not be read (callers raise on it).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return TextNumbers(values.astype(float))
    text = values.astype("string").str.strip()
    as_num = pd.to_numeric(text, errors="coerce")
    need = (text.notna() & (text != "") & as_num.isna()).fillna(False).to_numpy(dtype=bool)
    out = as_num.astype(float).to_numpy(copy=True)
    if not need.any():
        return TextNumbers(pd.Series(out, index=values.index))
    pending = text[need].astype(str)
    readings = {s: parse_quantity(s, dimension) for s in pending.unique()}  # distinct texts
    values_of = {s: (np.nan if r.value is None else r.value) for s, r in readings.items()}
    got = pending.map(values_of).astype(float).to_numpy()
    out[need] = got
    bad = np.isnan(got)
    has_unit = {s: bool(r.unit) for s, r in readings.items()}
    with_unit = ~bad & pending.map(has_unit).to_numpy(dtype=bool)
    example = ""
    if with_unit.any():
        first = str(pending.iloc[int(with_unit.nonzero()[0][0])])
        example = f"'{first}' → {readings[first].value}"
    if not bad.any():
        return TextNumbers(
            pd.Series(out, index=values.index), parsed=int(with_unit.sum()), example=example
        )
    first_bad = int(need.nonzero()[0][bad.nonzero()[0][0]])
    return TextNumbers(
        pd.Series(out, index=values.index),
        parsed=int(with_unit.sum()),
        example=example,
        bad_position=first_bad,
        bad_count=int(bad.sum()),
        problem=readings[str(text.iloc[first_bad])].problem,
    )


@dataclass(frozen=True)
class Bounds:
    """Plausible range of a field (inclusive), and per-area limits for polygon layers.

    Attributes
    ----------
    low, high : float
        Values below ``low`` or above ``high`` are absurd.
    low_strict : bool
        ``low`` itself is absurd too (a red line 0 m wide).
    per_area_high : float or None
        Values above this many times the feature's area in m² are absurd
        (persons per m², floor area per m² of footprint); polygons only.
    unit : str
        Unit of the bounds, for messages.
    reason : str
        Why the bounds are where they are.
    """

    low: float
    high: float
    low_strict: bool = False
    per_area_high: float | None = None
    unit: str = ""
    reason: str = ""


#: Plausibility bounds per field.  Chosen wide: they catch typing errors and
#: units misread by a factor of 100 or 1 000, never a real building or road.
BOUNDS: dict[str, Bounds] = {
    "floors": Bounds(1, 200, unit="层", reason="the tallest buildings have about 160 storeys"),
    "height_m": Bounds(
        0, 1000, low_strict=True, unit="m", reason="the tallest buildings are under 1,000 m"
    ),
    "red_line_width_m": Bounds(
        0, 200, low_strict=True, unit="m", reason="the widest avenues are about 120 m"
    ),
    "population": Bounds(
        0,
        2e9,
        per_area_high=5.0,
        unit="人",
        reason="more than 5 persons per m² of the feature; Kowloon Walled City, the densest "
        "place recorded, had about 1.3",
    ),
    "floor_area_m2": Bounds(
        0, 1e9, per_area_high=250.0, unit="m²", reason="a floor-area ratio (容积率) above 250"
    ),
    "existing_floor_area_m2": Bounds(
        0, 1e9, per_area_high=250.0, unit="m²", reason="a floor-area ratio (容积率) above 250"
    ),
    "demolished_floor_area_m2": Bounds(
        0, 1e9, per_area_high=250.0, unit="m²", reason="a floor-area ratio (容积率) above 250"
    ),
    "hard_area_m2": Bounds(
        0, 1e9, per_area_high=1.05, unit="m²", reason="larger than the square itself"
    ),
    "permeable_area_m2": Bounds(
        0, 1e9, per_area_high=1.05, unit="m²", reason="larger than the parcel itself"
    ),
    "roof_area_m2": Bounds(
        0, 1e7, per_area_high=3.0, unit="m²", reason="over three times the footprint"
    ),
    "pv_area_m2": Bounds(
        0, 1e7, per_area_high=3.0, unit="m²", reason="over three times the footprint"
    ),
    "green_star": Bounds(0, 3, unit="星", reason="green-building stars (星级) run from 0 to 3"),
}


def implausible(
    values: pd.Series, bounds: Bounds, area_m2: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Which values are negative or absurd for their field.

    Parameters
    ----------
    values : pandas.Series
        Floats in the field's unit (NaN = missing, never flagged).
    bounds : Bounds
    area_m2 : pandas.Series, optional
        Each feature's area in m² in a metric CRS (polygon layers); enables
        :attr:`Bounds.per_area_high`.

    Returns
    -------
    (too_low, too_high) : tuple of pandas.Series
        Boolean masks aligned with ``values``.
    """
    v = values.astype(float)
    too_low = (v <= bounds.low) if bounds.low_strict else (v < bounds.low)
    too_high = v > bounds.high
    if bounds.per_area_high is not None and area_m2 is not None:
        ok_area = area_m2.astype(float) > 0
        too_high |= ok_area & (v > bounds.per_area_high * area_m2.astype(float))
    return too_low.fillna(False).astype(bool), too_high.fillna(False).astype(bool)
