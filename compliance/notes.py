"""Notes of a run in both languages.

A note says something about how the input was read or how the run went (a
field read under another name, a layer reprojected, an exception that
matched no rule).  It is a :class:`Note`: the English text itself, as a
``str`` (so logs, ``run.json`` and scripts that read ``result.notes`` keep
working), with its Chinese twin in :attr:`Note.zh`.  Outputs pick the text
of their language with :func:`note_text`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Note", "note_text", "notes_text"]


class Note(str):
    """A note: the English text (the string itself) and its Chinese twin.

    Parameters
    ----------
    en : str
        The note in English.
    zh : str
        The same note in Chinese, as a reviewer would write it.

    Examples
    --------
    >>> n = Note("parcels: field DLBM read as land_use", "地块图层：字段 DLBM 读作 land_use")
    >>> n == "parcels: field DLBM read as land_use", n.zh
    (True, '地块图层：字段 DLBM 读作 land_use')
    """

    zh: str

    def __new__(cls, en: str, zh: str) -> Note:
        obj = super().__new__(cls, en)
        obj.zh = zh
        return obj

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return (str(self), self.zh)

    @property
    def en(self) -> str:
        """The note in English."""
        return str(self)


def note_text(note: str, lang: str = "zh") -> str:
    """The text of a note in ``lang`` (``zh`` or ``en``).

    A plain ``str`` note (from a caller of the library that appended its own)
    is returned as it is in either language.
    """
    if lang == "zh" and isinstance(note, Note):
        return note.zh
    return str(note)


def notes_text(notes: Iterable[str], lang: str = "zh") -> list[str]:
    """The texts of several notes in ``lang`` (:func:`note_text`)."""
    return [note_text(n, lang) for n in notes]


def layer_zh(name: str) -> str:
    """A contract layer as a Chinese note names it: ``地块图层 parcels``; other names as given."""
    from .rules.checks.common import LAYER_ZH  # the checks import the reading modules

    zh = LAYER_ZH.get(name)
    return f"{zh} {name}" if zh else f"图层 {name}"
