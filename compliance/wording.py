"""English counts and unit labels with the right number: 1 point, 2 points.

Chinese needs no plural; English does.  Every English sentence that puts a
count before a noun or a unit goes through :func:`count_en` or
:func:`unit_label_en`, so that a reviewer never reads "1 points".
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_en", "noun_en", "unit_label_en", "unit_labels_en"]

#: Plural unit labels (with their leading space) and their singular, for a value of 1.
SINGULAR_UNITS = {
    " points": " point",
    " floors": " floor",
    " stars": " star",
    " persons/km2": " persons/km2",  # a rate: never singular
}

#: Irregular plurals of the nouns the messages count.
_IRREGULAR = {"person": "persons", "community": "communities", "facility": "facilities"}


def noun_en(n: float, singular: str, plural: str | None = None) -> str:
    """The noun for ``n`` things: ``singular`` when ``n`` is 1, else its plural."""
    if n == 1:
        return singular
    if plural is not None:
        return plural
    return _IRREGULAR.get(singular, singular + "s")


def count_en(n: float, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun, thousands separated: ``1 building``, ``1,204 buildings``."""
    number = f"{int(n):,}" if float(n).is_integer() else f"{n:,}"
    return f"{number} {noun_en(n, singular, plural)}"


def unit_label_en(value_text: str, label: str) -> str:
    """The English unit label after a printed value: `` point`` after ``1``, else ``label``."""
    if value_text.strip() in ("1", "1.0") and label in SINGULAR_UNITS:
        return SINGULAR_UNITS[label]
    return label


def unit_labels_en(value_texts: np.ndarray, label: str) -> np.ndarray:
    """:func:`unit_label_en` over an array of printed values."""
    if label not in SINGULAR_UNITS or SINGULAR_UNITS[label] == label:
        return np.full(len(value_texts), label, dtype=object)
    one = np.isin(np.char.strip(np.asarray(value_texts, dtype=str)), ["1", "1.0"])
    return np.where(one, SINGULAR_UNITS[label], label).astype(object)
