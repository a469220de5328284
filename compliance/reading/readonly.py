"""Reading a GeoPackage without writing to it or beside it.

A GeoPackage is an SQLite database.  Opening one in SQLite, even to read,
can write: a database in WAL mode gets its ``-wal`` and ``-shm`` files
created beside it, and a pending ``-wal`` (left by QGIS or another program
still open, or killed) is checkpointed into the ``.gpkg`` and deleted when
the last connection closes; a hot ``-journal`` is rolled back into it.  The
input would change under the reviewer's hands.

So a GeoPackage that has a ``-wal`` or ``-journal`` beside it, or is in WAL
mode, is read from a private copy of the database and its journal in a
temporary folder (removed when the reading ends): the pending changes are
read, as SQLite would show them, and the input stays byte-identical.  Other
GeoPackages are opened read-only, which writes nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: Suffixes of SQLite's journals beside a database.
JOURNALS = ("-wal", "-journal")
#: File suffixes of SQLite databases read through GDAL.
SQLITE_SUFFIXES = (".gpkg", ".sqlite")

_COPIES: ContextVar[dict[Path, Path] | None] = ContextVar("compliance_private_copies", default=None)
_FOLDER: ContextVar[Path | None] = ContextVar("compliance_private_folder", default=None)


def needs_private_copy(path: str | Path) -> bool:
    """Whether opening this database in SQLite could write to it or beside it.

    True for a GeoPackage (or SQLite file) with a ``-wal`` or ``-journal``
    beside it, or whose header says WAL mode (bytes 18–19 equal to 2).
    """
    p = Path(path)
    if p.suffix.lower() not in SQLITE_SUFFIXES or not p.is_file():
        return False
    if any(p.with_name(p.name + j).exists() for j in JOURNALS):
        return True
    try:
        with p.open("rb") as fh:
            head = fh.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and head[19] == 2


@contextmanager
def private_copies() -> Iterator[None]:
    """While open, :func:`readable` copies databases into one temporary folder, removed after."""
    if _COPIES.get() is not None:  # nested: the outer one owns the folder
        yield
        return
    copies_token = _COPIES.set({})
    folder_token = _FOLDER.set(None)
    try:
        yield
    finally:
        folder = _FOLDER.get()
        _COPIES.reset(copies_token)
        _FOLDER.reset(folder_token)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def readable(path: str | Path) -> str | Path:
    """The path to open ``path`` from without writing to it: itself, or a private copy.

    Inside :func:`private_copies`, a database that :func:`needs_private_copy`
    is copied once (with its ``-wal`` / ``-journal``) and the copy returned;
    outside, ``path`` itself (unchanged: a GDAL virtual path such as
    ``/vsizip//abs/scheme.zip/a.shp`` keeps its double slash).
    """
    p = Path(path)
    copies = _COPIES.get()
    if copies is None or not needs_private_copy(p):
        return path
    key = p.resolve()
    if key in copies:
        return copies[key]
    folder = _FOLDER.get()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="compliance-read-"))
        _FOLDER.set(folder)
    target = folder / str(len(copies)) / p.name
    target.parent.mkdir()
    shutil.copyfile(p, target)
    for journal in JOURNALS:
        side = p.with_name(p.name + journal)
        if side.is_file():
            shutil.copyfile(side, target.with_name(target.name + journal))
    copies[key] = target
    return target
