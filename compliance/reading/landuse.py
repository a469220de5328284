"""Land-use codes: the 2023 national classification and GB 50137-2011 letters.

Both systems occur in real planning data.  The 2023 classification
(《国土空间调查、规划、用途管制用地用海分类指南》) uses 2-, 4- and 6-digit codes
(``07`` residential, ``0701`` urban housing, ``1401`` park green, ``1402``
protective green, ``1403`` plaza); GB 50137-2011 uses letters (``R``, ``R2``,
``G1``, ``G2``, ``G3`` …).  All functions here are vectorised over a
:class:`pandas.Series` of codes and return a Series aligned with it.
"""

from __future__ import annotations

import pandas as pd

#: 2023 first-level classes that are construction land (建设用地): 06 agricultural
#: facilities, 07 residential, 08 public services, 09 commercial, 10 industrial
#: and mining, 11 storage, 12 transport, 13 utilities, 15 special, 16 reserved.
CONSTRUCTION_PREFIXES_2023 = ("06", "07", "08", "09", "10", "11", "12", "13", "15", "16")
#: GB 50137-2011 letters of construction land.
CONSTRUCTION_LETTERS = ("R", "A", "B", "M", "W", "S", "U", "H")


#: A 2023 code: first-level class 01–24, then two or four more digits.
CODE_2023 = r"(?:0[1-9]|1\d|2[0-4])(?:\d{2}){0,2}"
#: A GB 50137-2011 code: a class letter, then up to three digits (``R2``, ``H14``, ``E1``).
CODE_GB50137 = r"[RABMWSUGHE]\d{0,3}"


def normalize_codes(codes: pd.Series) -> pd.Series:
    """Canonical text form of land-use codes.

    Folds full-width and other compatibility characters to plain ones (NFKC:
    ``"０７０１"`` → ``"0701"``, ``"Ｒ２"`` → ``"R2"``), removes every blank
    (spaces inside a code too, the ideographic space included), upper-cases
    letters and restores the leading zero that numeric storage drops
    (``701`` → ``"0701"``, ``70101`` → ``"070101"``).  Missing values stay
    missing (``<NA>``).
    """
    text = codes.astype("string").str.normalize("NFKC")
    text = text.str.replace(r"\s+", "", regex=True).str.upper()
    text = text.str.replace(r"\.0$", "", regex=True)  # 701.0 read from a float column
    odd_digits = text.str.fullmatch(r"\d+") & (text.str.len() % 2 == 1)
    return text.where(~odd_digits.fillna(False), "0" + text)


def is_residential(codes: pd.Series) -> pd.Series:
    """Residential land (居住用地) as the green-space rules count it: ``0701…`` or ``R…``."""
    c = normalize_codes(codes)
    return (c.str.startswith("0701") | c.str.fullmatch(r"R\d*")).fillna(False).astype(bool)


def green_kind(codes: pd.Series) -> pd.Series:
    """Green-space kind of a land-use code: ``park``, ``protective`` or missing.

    ``1401`` / ``G1`` is park green (公园绿地), ``1402`` / ``G2`` protective green
    (防护绿地).  Plazas (``1403`` / ``G3``) are open space, not green.
    """
    c = normalize_codes(codes)
    kind = pd.Series(pd.NA, index=codes.index, dtype="string")
    kind = kind.mask(c.str.startswith("1401").fillna(False) | (c == "G1").fillna(False), "park")
    kind = kind.mask(
        c.str.startswith("1402").fillna(False) | (c == "G2").fillna(False), "protective"
    )
    return kind


def is_construction(codes: pd.Series) -> pd.Series:
    """Construction land (建设用地) that breaks an ecological corridor.

    2023 classes 06–13, 15, 16 and the GB 50137 letters R, A, B, M, W, S, U, H.
    Green and open space (14 / G), water, farmland and forest are not.
    """
    c = normalize_codes(codes)
    by_number = c.str[:2].isin(CONSTRUCTION_PREFIXES_2023) & c.str.fullmatch(r"\d{2,}")
    by_letter = c.str[:1].isin(CONSTRUCTION_LETTERS) & c.str.fullmatch(r"[A-Z]\d*")
    return (by_number.fillna(False) | by_letter.fillna(False)).astype(bool)


def unclassified(codes: pd.Series) -> pd.Series:
    """Codes that are neither 2023 codes nor GB 50137 letters: no land use can be read from them.

    Parameters
    ----------
    codes : pandas.Series
        Land-use codes as read (any text).

    Returns
    -------
    pandas.Series of bool
        True where a code is given (not missing, not blank) and, once
        normalised (:func:`normalize_codes`), matches neither
        :data:`CODE_2023` nor :data:`CODE_GB50137`.  Such a parcel counts as
        no land use (not residential, not green, not construction): the
        reader warns about them, naming the codes.
    """
    c = normalize_codes(codes)
    known = c.str.fullmatch(CODE_2023) | c.str.fullmatch(CODE_GB50137)
    given = c.notna() & (c != "")
    return (given & ~known.fillna(False)).fillna(False).astype(bool)
