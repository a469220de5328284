"""Path rules: what a run reads never lies inside what it replaces or deletes.

``compliance check`` replaces ``--out`` as a whole (with ``--force``), and
``compliance batch`` replaces each scheme's folder ``OUT/<name>/`` and
rewrites its own files (``batch_summary.csv`` …).  Any input of the run — the
scheme, rasters, field map, exceptions file, rule catalogue folder, manifest
and every path the manifest names — that is such an output or lies inside
one would be deleted with it, so the run is refused with one line (exit 2)
before anything is read or written.

A path is compared in two forms: as given (made absolute, its folder's
symbolic links followed, its own name kept) and fully resolved (a symbolic
link followed to its target).  Either inside an output is refused: deleting
the output would delete the link, or what it points to.

Output names are checked too: a name holding a line break or another control
character, or longer than the file system allows (with room for the
temporary folder's ``.NAME.xxxxxxxx.tmp``), is refused in one line rather
than failing half-way with an operating-system error.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError

#: Characters a temporary folder adds to an output's name: ``.`` NAME ``.xxxxxxxx.tmp``.
TEMP_NAME_EXTRA = 16
#: Longest path, bytes (Linux ``PATH_MAX``), when the system does not say.
DEFAULT_PATH_MAX = 4096
#: Longest file name, bytes, when the system does not say.
DEFAULT_NAME_MAX = 255


def _forms(path: str | Path) -> set[Path]:
    """The path as given (absolute, folder's links followed) and fully resolved."""
    p = Path(path).expanduser()
    absolute = Path(os.path.abspath(p))
    given = absolute.parent.resolve() / absolute.name if absolute.name else absolute.resolve()
    return {given, absolute.resolve()}


def is_within(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (either form of each; no I/O but links).

    Parameters
    ----------
    path, folder : str or pathlib.Path
        Relative paths are taken from the current directory.

    Returns
    -------
    bool
    """
    folders = _forms(folder)
    return any(f == p or f in p.parents for p in _forms(path) for f in folders)


def input_inside_output(
    inputs: Iterable[tuple[str, str | Path]], outputs: Iterable[tuple[str, str | Path]]
) -> tuple[str, Path, str, Path] | None:
    """The first input that is an output or lies inside one, else None.

    Parameters
    ----------
    inputs : iterable of (label, path)
        What the run reads: ``("scheme", path)``, ``("field map", path)`` …
    outputs : iterable of (label, path)
        What the run replaces or deletes as a whole.

    Returns
    -------
    tuple of (str, pathlib.Path, str, pathlib.Path) or None
        Input label and path, output label and path.
    """
    outs = [(label, Path(p)) for label, p in outputs]
    for in_label, given in inputs:
        for out_label, out in outs:
            if is_within(given, out):
                return in_label, Path(given), out_label, out
    return None


def refuse_inputs_inside(
    inputs: Iterable[tuple[str, str | Path | None]],
    outputs: Iterable[tuple[str, str | Path]],
    *,
    fix: str = "choose another --out",
) -> None:
    """Raise when an input is an output of the run or lies inside one.

    Parameters
    ----------
    inputs : iterable of (label, path or None)
        What the run reads; None entries (an option not given) are skipped.
    outputs : iterable of (label, path)
        What the run replaces or deletes.
    fix : str
        The advice ending the message.

    Raises
    ------
    OutputError
        Naming the input and the output: ``out: the output directory contains
        the field map out/map.yaml; replacing it would delete the input: …``.
    """
    given = [(label, p) for label, p in inputs if p is not None]
    hit = input_inside_output(given, outputs)
    if hit is None:
        return
    in_label, in_path, out_label, out_path = hit
    if _forms(in_path) & _forms(out_path):
        what = f"is the {in_label}"
    else:
        what = f"contains the {in_label} {in_path}"
    raise OutputError(
        f"{out_path}: the {out_label} {what}; replacing it would delete the input: {fix}"
    )


def _limit(path: Path, name: str, default: int) -> int:
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return int(os.pathconf(folder, name))
            except (OSError, ValueError):
                return default
    return default


def check_output_name(out_dir: str | Path, *, option: str = "--out") -> None:
    """Refuse an output path no file system takes, before any work.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The output folder as given.
    option : str
        The option named in the message.

    Raises
    ------
    OutputError
        A part of the path holds a line break, a tab or another control
        character; the folder's name with the temporary folder's extra
        characters is longer than the file system's longest name; or the
        whole path is longer than its longest path.
    """
    text = str(out_dir)
    bad = next((c for c in text if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise OutputError(
            f"{option} {text!r}: the name holds a control character ({bad!r}, e.g. a line "
            "break); give a name without one"
        )
    absolute = Path(os.path.abspath(text))
    name_max = _limit(absolute.parent, "PC_NAME_MAX", DEFAULT_NAME_MAX)
    for part in absolute.parts[1:]:
        size = len(os.fsencode(part))
        room = TEMP_NAME_EXTRA if part == absolute.name else 0
        if size + room > name_max:
            raise OutputError(
                f"{option}: the name '{part[:40]}…' is {size} bytes long; the file system "
                f"takes names of up to {name_max - room} bytes here; give a shorter name"
            )
    path_max = _limit(absolute.parent, "PC_PATH_MAX", DEFAULT_PATH_MAX)
    if len(os.fsencode(str(absolute))) + TEMP_NAME_EXTRA + 40 > path_max:
        raise OutputError(
            f"{option}: the path is {len(os.fsencode(str(absolute)))} bytes long; the file "
            f"system takes paths of up to {path_max} bytes; give a shorter one"
        )
