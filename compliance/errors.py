"""Exceptions of the compliance checker.

One root, :class:`ComplianceError`, with built-in parents so callers can catch
``ValueError`` or ``FileNotFoundError`` as usual.  Every message says what was
expected, what was found and how to fix it, on one line: the CLI prints it as
is and exits with status 2.
"""

from __future__ import annotations


class ComplianceError(Exception):
    """Root of every error the checker raises on purpose."""


class InputError(ComplianceError, ValueError):
    """The scheme (input layers, fields, CRS) cannot be used as given."""


class RuleFileError(ComplianceError, ValueError):
    """A rule file in ``rules/`` is malformed, or a profile is unknown."""


class OutputError(ComplianceError, OSError):
    """The output directory cannot be written."""
