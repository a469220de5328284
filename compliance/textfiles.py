"""Reading the small text files a user saves by hand: UTF-8, or GBK from Chinese Windows.

Excel on Chinese Windows saves "CSV (逗号分隔)" in the ANSI code page, GBK
(code page 936), without a byte-order mark; Notepad did so too before 2019.
A manifest or an exceptions list saved that way is read as GB18030 (a
superset of GBK) when it is not valid UTF-8, and the caller says so in a
note.  Anything that is neither is refused in one line.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ComplianceError, InputError

#: Largest hand-made text file read (manifest, exceptions list), bytes.
MAX_TEXT_BYTES = 64 * 1024 * 1024


def read_user_text(
    path: str | Path, what: str, *, error: type[ComplianceError] = InputError
) -> tuple[str, str]:
    """The text of a hand-made file and the encoding it was read in.

    Parameters
    ----------
    path : str or pathlib.Path
    what : str
        What the file is, for messages (``"the manifest"``).
    error : type of ComplianceError
        Raised when the file cannot be read.

    Returns
    -------
    text : str
        Without a byte-order mark.
    encoding : str
        ``"UTF-8"`` or ``"GB18030"`` (GBK).

    Raises
    ------
    ComplianceError
        Of class ``error``: missing, unreadable, larger than
        :data:`MAX_TEXT_BYTES`, or neither UTF-8 nor GB18030 text.
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_TEXT_BYTES:
            raise error(
                f"{p}: {what} is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MB; "
                "it cannot be such a file"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: {what} cannot be read ({exc.strerror or exc})") from exc
    if b"\x00" in data:
        raise error(f"{p}: {what} is not a text file (it holds NUL bytes); save it as UTF-8 text")
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as utf8_exc:
        try:
            return data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            raise error(
                f"{p}: {what} is neither UTF-8 nor GBK text (byte {utf8_exc.start}); "
                "save it as UTF-8 (CSV UTF-8 in Excel)"
            ) from None
