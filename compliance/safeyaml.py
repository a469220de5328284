"""YAML read with limits, so that a small hostile file cannot exhaust memory.

A "billion laughs" file of a kilobyte (an anchor holding ten aliases of an
anchor holding ten aliases …) expands to billions of nodes when a reader
walks it: PyYAML builds it with shared references, then any copy (pandas, a
validation, a print) grows without end.  Every YAML the checker reads from a
user (exceptions, field map, batch manifest; the rule catalogue can use it
too) goes through :func:`load_yaml_text` or :func:`load_yaml_file`, which
refuse, before anything is built:

* a file larger than :data:`MAX_BYTES`;
* more than :data:`MAX_ALIASES` aliases (``*name``): hand-written files of
  the checker need a few at most;
* a document whose nodes, with every alias expanded, exceed
  :data:`MAX_NODES`, or an alias inside its own anchor (a cycle).

PyYAML's safe loader only (no Python objects), in its pure-Python form so the
aliases can be counted as they are composed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ComplianceError, InputError

#: Largest YAML file read, bytes (a manifest of thousands of schemes is a few hundred KB).
MAX_BYTES = 16 * 1024 * 1024
#: Most aliases (``*name``) in one file.
MAX_ALIASES = 100
#: Most nodes of a document with every alias expanded.
MAX_NODES = 2_000_000


class _LimitError(yaml.YAMLError):
    pass


class _CountingLoader(yaml.SafeLoader):
    """PyYAML's safe loader counting the aliases it composes."""

    max_aliases = MAX_ALIASES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                mark = self.peek_event().start_mark
                raise _LimitError(
                    f"line {mark.line + 1}: more than {self.max_aliases} aliases (*name); "
                    "a file of the checker needs a few at most"
                )
        return super().compose_node(parent, index)


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes of the document with every alias expanded; raises past ``limit`` or on a cycle."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:  # recursion depth: the document's nesting
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise _LimitError(
                f"line {node.start_mark.line + 1}: an alias refers to the anchor it is in (a cycle)"
            )
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        on_path.discard(key)
        if total > limit:
            raise _LimitError(
                f"more than {limit:,} values once its aliases are expanded "
                "(a 'billion laughs' file?)"
            )
        sizes[key] = total
        return total

    return size(root)


def compose_yaml_text(
    text: str,
    source: str | Path,
    *,
    error: type[ComplianceError] = InputError,
    max_aliases: int = MAX_ALIASES,
    max_nodes: int = MAX_NODES,
) -> yaml.Node | None:
    """The YAML node tree of ``text`` (lines in its marks), within the limits.

    Parameters
    ----------
    text : str
        The document.
    source : str or pathlib.Path
        Named in error messages (the file).
    error : type of ComplianceError
        Raised on a limit or a syntax error (:class:`~compliance.errors.InputError`
        by default; the rule catalogue passes its ``RuleFileError``).
    max_aliases, max_nodes : int
        See :data:`MAX_ALIASES`, :data:`MAX_NODES`.

    Returns
    -------
    yaml.Node or None
        None for an empty document.

    Raises
    ------
    ComplianceError
        Of class ``error``: the text is not YAML (file and line named), has
        too many aliases, a cycle, or expands beyond ``max_nodes``.
    """
    if len(text) > MAX_BYTES:
        raise error(
            f"{source}: the YAML file is larger than {MAX_BYTES // (1024 * 1024)} MB; "
            "it cannot be a file for the checker"
        )
    loader = _CountingLoader(text)
    loader.max_aliases = max_aliases
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, max_nodes)
    except _LimitError as exc:
        raise error(f"{source}: refused: {exc}") from None
    except RecursionError:
        raise error(f"{source}: refused: the YAML is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{source}:{mark.line + 1}" if mark else str(source)
        raise error(f"{at}: not valid YAML ({' '.join(str(exc).split())})") from exc
    finally:
        loader.dispose()
    return node


def construct(node: yaml.Node | None) -> Any:
    """Python data (dicts, lists, scalars) of a node from :func:`compose_yaml_text`."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml_text(
    text: str, source: str | Path, *, error: type[ComplianceError] = InputError
) -> Any:
    """Like ``yaml.safe_load(text)``, within the limits; see :func:`compose_yaml_text`."""
    node = compose_yaml_text(text, source, error=error)
    try:
        return construct(node)
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from exc


def load_yaml_file(path: str | Path, *, error: type[ComplianceError] = InputError) -> Any:
    """Read a UTF-8 YAML file within the limits (size checked before reading).

    Raises
    ------
    ComplianceError
        Of class ``error``: missing, unreadable, not UTF-8, too large, or
        refused by :func:`compose_yaml_text`.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise error(
                f"{p}: the YAML file is larger than {MAX_BYTES // (1024 * 1024)} MB; "
                "it cannot be a file for the checker"
            )
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise error(f"{p}: cannot be read ({exc.strerror or exc})") from exc
    return load_yaml_text(text, p, error=error)
