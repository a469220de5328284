"""The units of rule limits and measured values: one record per unit.

Every unit a rule can state its limit in, or a measure can produce, is one
:class:`UnitSpec` here: its code (as written in rule files and in the
``unit`` column of the findings), its Chinese and English labels, the
decimals it is printed with, and its :mod:`pint` definition, from which its
dimension follows.  The catalogue refuses, at load time, a rule whose unit is
not here or does not fit its measure (the same dimension); a limit stated in
another unit of the same dimension (``10000 m2`` for a rule in ``ha``) is
converted with pint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pint


@dataclass(frozen=True)
class UnitSpec:
    """One unit of the catalogue.

    Attributes
    ----------
    code : str
        The unit as rule files and findings write it: ``m``, ``km2``, ``%``.
    zh : str
        Chinese label as printed after a number, with its leading space
        (``" 平方公里"``; ``"%"`` and the ratio take none).
    en : str
        English label as printed after a number, with its leading space
        (``" km²"``).
    en_plain : str
        English label in plain ASCII for one-line messages (``" km2"``).
    decimals : int
        Digits after the decimal point when printed.
    pint : str
        Its definition for :mod:`pint` (``"km**2"``, ``"person / km**2"``);
        the dimension follows from it.
    """

    code: str
    zh: str
    en: str
    en_plain: str
    decimals: int
    pint: str

    @property
    def dimension(self) -> str:
        """The unit's pint dimensionality, e.g. ``[length] ** 2``."""
        return str(_quantity(self.pint).dimensionality)

    def convert(self, value: float, to: UnitSpec) -> float:
        """``value`` in this unit expressed in unit ``to`` (same dimension).

        Raises
        ------
        ValueError
            The two units are not of the same dimension.
        """
        if self.code == to.code:
            return value
        if self.dimension != to.dimension:
            raise ValueError(
                f"unit '{self.code}' ({self.dimension}) cannot be converted to "
                f"'{to.code}' ({to.dimension})"
            )
        q = (value * _quantity(self.pint)).to(_quantity(to.pint).units)
        return float(q.magnitude / _quantity(to.pint).magnitude)


UNITS: dict[str, UnitSpec] = {
    u.code: u
    for u in (
        UnitSpec("m", " 米", " m", " m", 1, "m"),
        UnitSpec("m2", " 平方米", " m²", " m2", 0, "m**2"),
        UnitSpec("ha", " 公顷", " ha", " ha", 2, "hectare"),
        UnitSpec("km2", " 平方公里", " km²", " km2", 2, "km**2"),
        UnitSpec("persons/km2", " 人/平方公里", " persons/km²", " persons/km2", 0, "person/km**2"),
        UnitSpec("km/km2", " 公里/平方公里", " km/km²", " km/km2", 2, "km/km**2"),
        UnitSpec("%", "%", "%", "%", 1, "percent"),
        UnitSpec("floors", " 层", " floors", " floors", 0, "storey"),
        UnitSpec("ratio", "", "", "", 2, "dimensionless"),
        UnitSpec("m2/person", " 平方米/人", " m²/person", " m2/person", 1, "m**2/person"),
        UnitSpec(
            "km/10k persons",
            " 公里/万人",
            " km/10k persons",
            " km/10k persons",
            2,
            "km/(10000 person)",
        ),
        UnitSpec("stars", " 星", " stars", " stars", 0, "star"),
        UnitSpec("points", " 处", " points", " points", 0, "site"),
    )
}


def unit(code: str) -> UnitSpec:
    """The record of a unit code.

    Raises
    ------
    KeyError
        The code is not in :data:`UNITS`; the message lists the known codes.
    """
    try:
        return UNITS[code]
    except KeyError:
        raise KeyError(f"unit '{code}' is unknown (known: {', '.join(UNITS)})") from None


@cache
def _registry() -> pint.UnitRegistry:
    import pint

    reg: pint.UnitRegistry = pint.UnitRegistry()
    reg.define("person = [persons]")
    reg.define("storey = [storeys]")
    reg.define("star = [stars]")
    reg.define("site = [sites]")
    return reg


@cache
def _quantity(definition: str) -> pint.Quantity:
    return _registry().Quantity(definition)
