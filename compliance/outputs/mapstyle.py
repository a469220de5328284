"""What the map and the report share, without folium: rule colours, basemap
choices and the links into ``map.html``.

Kept apart from :mod:`compliance.outputs.map` so that a run without a map
(``--no-map``) and ``report.html`` do not import folium.
"""

from __future__ import annotations

import zlib
from urllib.parse import quote

from ..errors import InputError

#: The basemaps :func:`compliance.outputs.map.render_map` offers (``--basemap``).
#: All are Web Mercator tiles on WGS 84 or CGCS2000 coordinates; no GCJ-02 / BD-09 (offset) tiles.
BASEMAPS: tuple[str, ...] = ("osm", "tianditu", "none")

#: Colour of each rule of the shipped catalogue: fixed, so a rule keeps its
#: colour from run to run and from map to map.  No greens: green is context.
RULE_COLOURS: dict[str, str] = {
    "CL01": "#253494",  # navy
    "CL02": "#17becf",  # cyan
    "EC01": "#e41a1c",  # red
    "EC02": "#ff7f00",  # orange
    "GR01": "#984ea3",  # purple
    "GR02": "#f781bf",  # pink
    "GR03": "#a65628",  # brown
    "RD01": "#377eb8",  # blue
    "SQ01": "#d4a000",  # mustard
}

#: Colours for rule codes not in :data:`RULE_COLOURS`, picked by a CRC32 of the
#: code (stable across runs and Python processes, unlike ``hash``).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#1f77b4",
    "#d62728",
    "#9467bd",
    "#ff9896",
    "#c49c94",
    "#393b79",
)


def rule_colour(rule_id: str) -> str:
    """The colour of a rule, the same as on ``map.html``.

    Parameters
    ----------
    rule_id : str
        A rule code such as ``EC01``.

    Returns
    -------
    str
        ``#rrggbb``: :data:`RULE_COLOURS` for the shipped
        rules, else one of :data:`FALLBACK_COLOURS` picked by
        a CRC32 of the code (stable across runs).
    """
    known = RULE_COLOURS.get(rule_id)
    if known is not None:
        return known
    return FALLBACK_COLOURS[zlib.crc32(rule_id.encode("utf-8")) % len(FALLBACK_COLOURS)]


def validate_basemap(basemap: str, tianditu_key: str | None = None) -> str | None:
    """Check a basemap choice before any work is done; return the Tianditu key to use.

    Parameters
    ----------
    basemap : str
        One of :data:`BASEMAPS`: ``"osm"``, ``"tianditu"`` or ``"none"``.
    tianditu_key : str, optional
        The Tianditu key (``tk``); surrounding blanks are dropped.

    Returns
    -------
    str or None
        The key, stripped, for ``"tianditu"``; None otherwise.

    Raises
    ------
    InputError
        An unknown basemap (GCJ-02 ones included), or ``"tianditu"`` without a key.
    """
    if basemap not in BASEMAPS:
        raise InputError(
            f"basemap must be one of {', '.join(BASEMAPS)}, got {basemap!r}; GCJ-02/BD-09 "
            "basemaps (AMap/Gaode, Baidu, Tencent) are not offered: their offsets misplace findings"
        )
    key = (tianditu_key or "").strip()
    if basemap == "tianditu" and not key:
        raise InputError(
            "the Tianditu basemap needs a key, found none: pass --tianditu-key KEY "
            "(a free browser key from console.tianditu.gov.cn), or use --basemap osm or none"
        )
    return key if basemap == "tianditu" else None


#: Characters ``encodeURIComponent`` leaves as they are, beyond letters, digits and ``-_.~``.
_URI_COMPONENT_SAFE = "!*'()"


def violation_href(rule_id: str, feature_id: str, map_href: str = "map.html") -> str:
    """The link that opens ``map.html`` on one violation, zoomed, with its popup open.

    Parameters
    ----------
    rule_id : str
        The rule's code, e.g. ``"EC01"``.
    feature_id : str
        The finding's ``feature_id``, as in ``findings.geojson``.
    map_href : str
        Address of the map page, relative to the linking page.

    Returns
    -------
    str
        ``map_href#rule=<rule_id>&fid=<feature_id>``, both percent-encoded
        exactly as JavaScript's ``encodeURIComponent`` does (UTF-8; ``*`` and
        ``-_.!~'()`` kept), e.g. ``map.html#rule=EC02&fid=N%2BE``, so the page
        decodes it with ``decodeURIComponent``.
    """
    rule = quote(str(rule_id), safe=_URI_COMPONENT_SAFE)
    fid = quote(str(feature_id), safe=_URI_COMPONENT_SAFE)
    return f"{map_href}#rule={rule}&fid={fid}"
