"""Reading a designer's CAD drawing (DXF) as a scheme's layers.

A site plan (总平面图) exported to DXF has no layers of features with fields:
it has CAD layers of polylines, hatches, texts and blocks.  Reading one:

- **CAD layers → contract layers** by name: the contract's names and the
  recognised Chinese names (:data:`compliance.reading.fields.LAYER_ALIASES`:
  规划范围/用地红线 → ``boundary``, 地块/用地 → ``parcels``, 道路中心线 and
  道路红线 → ``roads``, 建筑/建筑轮廓 → ``buildings``, 绿地 → ``green_spaces``,
  广场 → ``squares`` …), the drawing names of :data:`DXF_LAYER_ALIASES`
  (现状建筑 → existing ``buildings``), a name with a code prefix
  (``ZP-建筑``, ``总图|绿地``: the part after the last ``-``, ``_``, ``|``,
  ``$`` or space), and the mapping file's ``layers`` (which wins).  Several CAD
  layers may make one contract layer (建筑 and 现状建筑 both give buildings).
  A drawing named as a contract layer (``squares.dxf`` in a folder) is that
  layer, whatever its CAD layers.
- **Geometry**: closed polylines, circles and hatches become polygons
  (hatches with their holes, arcs and bulges flattened to 0.1 m); open lines
  stay lines.  A layer that holds only polygons (buildings, plazas …) turns a
  polyline whose ends meet into a polygon and drops open lines with a
  warning; a 道路红线 layer gives road land from its closed outlines, and its
  open edge lines (two kerbs, not a centreline) are not read, with a note.
  Blocks (``INSERT``) are exploded; what they draw on layer ``0`` takes the
  block reference's layer, as CAD programs draw it.
- **Texts and block attributes** become attributes of the polygon they lie
  in (the smallest one, so a building's label is the building's, not its
  parcel's): floors (``20F``, ``20层``, ``1#住宅 20F``), height (``H=99m``,
  ``高度99米``), use (住宅 → residential, 商业 → commercial, 厂房 → factory …),
  land-use codes (``R2``, ``0701``, ``二类居住用地``), green-space kind (公园 →
  park), name (the label without those).  A text that lies in no polygon
  within 30 m of a road centreline is that road's label: its red-line width
  (``红线宽60m``, ``W=60m``, ``60m``), class (主干路 …) and name (迎宾大道).
  A block's attributes (``ATTRIB``) belong to the polygons the block
  draws; their tags are field names recognised as in any layer (层数,
  用途, 名称 …) and win over labels.
- **Buildings** of a scheme drawing are proposed (``is_new``) unless on an
  existing-building layer (现状建筑, 保留建筑, or the mapping file's
  ``dxf: existing_buildings``) or labelled 现状/保留.
- **CRS**: a DXF has none.  It is the ``--source-crs`` option's (or the
  mapping file's ``source_crs``); else recognised when every easting carries
  a 3-degree zone number (``38 5xx xxx`` m → CGCS2000 / 3-degree Gauss-Kruger
  zone 38, EPSG:4526; zones 25–45 are EPSG:4513–4533), said in a note; else
  an :class:`~compliance.errors.InputError` naming the option.

ezdxf reads the drawing (GDAL's DXF driver loses block attribute tags and
decodes R2007+ drawings by their code page).  Entities are visited once in
Python (ezdxf builds Python objects anyway); everything after that — polygons,
the text-in-polygon join, the parsing of labels — is vectorised.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from .contract import LAYERS, LINE, POLYGON
from .fields import LAYER_ALIASES, VALUE_NAMES, FieldMap, contract_layer, resolve_fields
from .sources import DWG_ADVICE, Container, one_line

#: CAD layer names of drawings beyond :data:`LAYER_ALIASES`: contract layer, existing?
DXF_LAYER_ALIASES: dict[str, tuple[str, bool]] = {
    **dict.fromkeys(
        ("现状建筑", "现状建筑物", "现状房屋", "原有建筑", "保留建筑", "已建建筑"),
        ("buildings", True),
    ),
    **dict.fromkeys(
        ("新建建筑", "规划建筑", "拟建建筑", "建筑外轮廓", "建筑单体", "单体", "楼栋"),
        ("buildings", False),
    ),
    **dict.fromkeys(
        ("绿化", "绿化用地", "景观绿地", "集中绿地", "公共绿地"), ("green_spaces", False)
    ),
    **dict.fromkeys(("广场铺装", "硬质广场", "铺装广场"), ("squares", False)),
    **dict.fromkeys(("中心线", "道路中线"), ("roads", False)),
    **dict.fromkeys(("建设用地红线", "用地界线", "用地边界", "规划红线"), ("boundary", False)),
}

#: CAD layers whose closed outlines are road land and whose open lines are kerbs, not centrelines.
ROAD_EDGE_LAYERS = ("道路红线", "道路边线", "红线", "道路用地")

#: Labels of building use → the ``use`` values the rules know.
USE_WORDS: tuple[tuple[str, str], ...] = (
    ("住宅", "residential"),
    ("公寓", "apartments"),
    ("宿舍", "dormitory"),
    ("别墅", "house"),
    ("商业", "commercial"),
    ("商铺", "retail"),
    ("商场", "retail"),
    ("办公", "office"),
    ("写字楼", "office"),
    ("酒店", "hotel"),
    ("宾馆", "hotel"),
    ("厂房", "factory"),
    ("工业", "industrial"),
    ("仓库", "warehouse"),
    ("仓储", "warehouse"),
    ("幼儿园", "kindergarten"),
    ("学校", "school"),
    ("小学", "school"),
    ("中学", "school"),
    ("医院", "hospital"),
    ("卫生", "hospital"),
    ("行政", "government"),
    ("政府", "government"),
    ("文化", "civic"),
)

#: Where zone-numbered 3-degree Gauss-Kruger eastings lie: zone × 10⁶ + (this range), m.
GK_FALSE_EASTING_RANGE_M = (200_000.0, 800_000.0)
#: Northings of CGCS2000 Gauss-Kruger coordinates in China, m.
CHINA_NORTHING_RANGE_M = (0.0, 6_500_000.0)
#: 3-degree zones with a zone-number-prefixed CGCS2000 EPSG code: zone → 4513 + (zone − 25).
GK3_ZONES = range(25, 46)
#: Chord tolerance of arcs, bulges and circles when flattened, m.
FLATTEN_M = 0.1
#: Nesting depth of blocks followed.
MAX_BLOCK_DEPTH = 8

_FLOORS = re.compile(r"(?<![\d.\-Bb])(?<!地下)(\d{1,3})\s*(?:F|f|层)(?![A-Za-z])")
_HEIGHT = re.compile(
    r"(?:(?:H|h|高度|建筑高度|高)\s*[=:：]?\s*(\d+(?:\.\d+)?)\s*(?:m|M|米)?)"
    r"|(?:(?<![\d.])(\d+(?:\.\d+)?)\s*(?:m|M|米)(?![²2\w]))"
)
#: How far from a centreline its label (name, red-line width) may lie, m.
ROAD_LABEL_M = 30.0
#: A red-line width in a road label: ``红线宽60m``, ``红线 60米``, ``W=60m``, ``60m``.
_WIDTH = re.compile(
    r"(?:(?:道路)?红线(?:宽度?)?|路幅|W|宽度?)?\s*[=:：]?\s*(\d+(?:\.\d+)?)\s*(?:m|M|米)(?![²2\w])"
)
_WIDTH_TOKEN = re.compile(
    r"(?:(?:道路)?红线(?:宽度?)?|路幅|W|宽度?)?\s*[=:：]?\s*\d+(?:\.\d+)?\s*(?:m|M|米)(?![²2\w])"
)
#: A land-use label: a GB 50137-2011 code (R2, B1, G1, S41 …) or a 2023 code (0701,
#: 140101), alone or before its Chinese name; not a parcel number (DK01, A-1).
_LAND_USE = re.compile(
    r"^\s*((?:[RABMWSUGHE]\d{0,3}[a-z]?)|(?:(?:0[1-9]|1\d|2[0-4])\d{2}(?:\d{2})?))"
    r"\s*(?:[\u4e00-\u9fff（(].*)?$"
)


@dataclass
class DxfLayer:
    """One contract layer read from a drawing.

    Attributes
    ----------
    name : str
        The contract layer.
    inner : str
        The CAD layers it was read from, joined with ``+``.
    source_name : str
        The first of those CAD layers.
    how : str
        ``contract``, ``recognised`` or ``mapping``.
    frame : geopandas.GeoDataFrame
        Features with contract fields (``id`` is the entity handle), in the
        drawing's CRS.
    notes : list of str
    crs_from : str
        How the CRS was set (``--source-crs``, ``zone number 38``).
    """

    name: str
    inner: str
    source_name: str
    how: str
    frame: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    crs_from: str = ""


@dataclass
class Drawing:
    """A drawing read: its contract layers, notes and what was not read."""

    layers: dict[str, DxfLayer] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    not_read: list[dict[str, str]] = field(default_factory=list)
    crs: CRS | None = None


def _key(name: str) -> str:
    return name.strip().casefold()


def _tail(name: str) -> str:
    """A CAD layer name without its code prefix: ``ZP-建筑`` → ``建筑``."""
    return re.split(r"[-_|$\s]+", name.strip())[-1]


def cad_layer_role(name: str, field_map: FieldMap | None) -> tuple[str | None, str, bool]:
    """The contract layer a CAD layer stands for, how it was known, and whether it is existing.

    Parameters
    ----------
    name : str
        The CAD layer's name.
    field_map : FieldMap, optional
        Its ``layers`` and ``dxf.existing_buildings`` are consulted first.

    Returns
    -------
    (layer, how, existing) : tuple
        ``layer`` is None for a CAD layer not recognised (texts, hatching,
        dimensions …).
    """
    existing_names = {_key(n) for n in (field_map.dxf_existing_buildings if field_map else ())}
    for cand in dict.fromkeys((name, _tail(name))):
        layer, how = contract_layer(cand, field_map)
        if how == "mapping":
            return layer, how, layer == "buildings" and _key(name) in existing_names
        k = _key(cand)
        if k in {_key(a): a for a in DXF_LAYER_ALIASES}:
            target, existing = next(v for a, v in DXF_LAYER_ALIASES.items() if _key(a) == k)
            return target, "recognised", existing or _key(name) in existing_names
        if layer is not None:
            return layer, how, layer == "buildings" and _key(name) in existing_names
    if _key(name) in existing_names:
        return "buildings", "mapping", True
    return None, "", False


# --------------------------------------------------------------------------- reading


def _load(shown: Path, container: Container | None, rel: str) -> Any:
    import ezdxf
    from ezdxf import recover

    try:
        if container is not None:
            data = container.read(rel)
        else:
            with shown.open("rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise InputError(f"{shown}: cannot be read ({one_line(exc)})") from exc
    if data[:4] == b"AC10" or data[:6] == b"AC1.50":
        raise InputError(f"{shown}: a DWG drawing saved under a .dxf name; {DWG_ADVICE}")
    try:
        doc, _auditor = recover.read(io.BytesIO(data))
    except (ezdxf.DXFError, OSError, ValueError, UnicodeError) as exc:
        raise InputError(
            f"{shown}: cannot be read as a DXF drawing ({one_line(exc)}); save it again as "
            f"DXF from your CAD program"
        ) from exc
    return doc


@dataclass
class _Collected:
    layer: list[str] = field(default_factory=list)
    geom: list[Any] = field(default_factory=list)
    handle: list[str] = field(default_factory=list)
    block: list[int] = field(default_factory=list)
    text_layer: list[str] = field(default_factory=list)
    text_xy: list[tuple[float, float]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    attrib_block: list[int] = field(default_factory=list)
    attrib_tag: list[str] = field(default_factory=list)
    attrib_value: list[str] = field(default_factory=list)
    attrib_xy: list[tuple[float, float]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


_GEO_TYPES = {
    "LINE",
    "LWPOLYLINE",
    "POLYLINE",
    "HATCH",
    "CIRCLE",
    "ARC",
    "ELLIPSE",
    "SPLINE",
    "SOLID",
    "TRACE",
    "3DFACE",
    "MPOLYGON",
}


def _text_position(e: Any) -> tuple[float, float]:
    dxf = e.dxf
    if e.dxftype() in ("TEXT", "ATTRIB") and (dxf.get("halign", 0) or dxf.get("valign", 0)):
        p = dxf.get("align_point") or dxf.insert
    else:
        p = dxf.insert
    return float(p[0]), float(p[1])


def _collect(doc: Any) -> _Collected:
    from ezdxf.addons import geo

    out = _Collected()
    counter = [0]

    def visit(e: Any, inherit: str | None, block: int, handle: str, depth: int) -> None:
        t = e.dxftype()
        layer = e.dxf.get("layer", "0")
        if inherit is not None and layer == "0":
            layer = inherit
        own = e.dxf.get("handle") or handle
        if t == "INSERT":
            if depth >= MAX_BLOCK_DEPTH:
                return
            counter[0] += 1
            bid = counter[0]
            for a in e.attribs:
                out.attrib_block.append(bid)
                out.attrib_tag.append(str(a.dxf.tag))
                out.attrib_value.append(str(a.dxf.text).strip())
                out.attrib_xy.append(_text_position(a))
            try:
                children = list(e.virtual_entities())
            except Exception:  # a block ezdxf cannot explode (non-uniform scaling of text …)
                out.skipped["INSERT"] = out.skipped.get("INSERT", 0) + 1
                return
            for v in children:
                visit(v, layer, bid, own, depth + 1)
        elif t in ("TEXT", "MTEXT"):
            text = e.plain_text() if t == "TEXT" else e.plain_text(split=False)
            text = " ".join(str(text).split())
            if text:
                out.text_layer.append(layer)
                out.text_xy.append(_text_position(e))
                out.text.append(text)
        elif t in _GEO_TYPES:
            try:
                g = shapely.geometry.shape(geo.proxy(e, distance=FLATTEN_M).__geo_interface__)
            except Exception:  # degenerate entities: a polyline of one vertex, an empty hatch
                out.skipped[t] = out.skipped.get(t, 0) + 1
                return
            out.layer.append(layer)
            out.geom.append(g)
            out.handle.append(str(own))
            out.block.append(block)
        else:
            out.skipped[t] = out.skipped.get(t, 0) + 1

    for e in doc.modelspace():
        visit(e, None, 0, "", 0)
    return out


# --------------------------------------------------------------------------- CRS


def zone_crs(x: np.ndarray, y: np.ndarray) -> tuple[CRS, int] | None:
    """The CGCS2000 3-degree Gauss-Kruger CRS whose zone number every easting carries.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates of the drawing, m.

    Returns
    -------
    (pyproj.CRS, int) or None
        EPSG:4513–4533 and the zone (25–45) when every easting is
        ``zone × 10⁶ + 200 000…800 000`` m of one zone and every northing lies
        in China (0–6,500 km); else None.
    """
    if not len(x):
        return None
    zones = np.floor(x / 1e6)
    if zones.min() != zones.max():
        return None
    zone = int(zones[0])
    rest = x - zone * 1e6
    lo, hi = GK_FALSE_EASTING_RANGE_M
    ylo, yhi = CHINA_NORTHING_RANGE_M
    if zone not in GK3_ZONES or rest.min() < lo or rest.max() > hi:
        return None
    if y.min() < ylo or y.max() > yhi:
        return None
    return CRS.from_epsg(4513 + zone - 25), zone


def _drawing_crs(
    shown: Path, geoms: np.ndarray, source_crs: str | None
) -> tuple[CRS, str, list[str]]:
    if source_crs is not None:
        crs = CRS.from_user_input(source_crs)
        return (
            crs,
            "--source-crs",
            [f"{shown}: a DXF has no CRS; read in {crs.name} (--source-crs)"],
        )
    xy = shapely.get_coordinates(geoms)
    found = zone_crs(xy[:, 0], xy[:, 1])
    if found is None:
        x = xy[:, 0]
        raise InputError(
            f"{shown}: a DXF drawing has no CRS and its eastings ({x.min():,.0f}–{x.max():,.0f}) "
            f"carry no 3-degree zone number; give the CRS with --source-crs (e.g. --source-crs "
            f"EPSG:4547) or source_crs: in the mapping file"
        )
    crs, zone = found
    epsg = crs.to_epsg()
    return (
        crs,
        f"zone number {zone} in the eastings",
        [
            f"{shown}: a DXF has no CRS; its eastings carry the 3-degree zone number {zone}, "
            f"read as {crs.name} (EPSG:{epsg}); give --source-crs if the drawing is in "
            f"another datum (Xian 1980, Beijing 1954) or a local grid"
        ],
    )


# --------------------------------------------------------------------------- labels


def _use_of(text: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    for word, value in USE_WORDS:  # a handful of words, each vectorised over the labels
        hit = out.isna() & text.str.contains(word, regex=False).fillna(False)
        out[hit] = value
    return out


def _parse_labels(text: pd.Series, layer: str) -> pd.DataFrame:
    """Contract fields of one layer read from its labels, one row per label."""
    t = text.astype("string")
    cols = set(LAYERS[layer].fields)
    out = pd.DataFrame(index=text.index)
    rest = t
    if "floors" in cols:
        out["floors"] = pd.to_numeric(t.str.extract(_FLOORS, expand=False), errors="coerce")
        rest = rest.str.replace(_FLOORS, " ", regex=True)
    if "height_m" in cols:
        h = t.str.extract(_HEIGHT)
        out["height_m"] = pd.to_numeric(h[0].fillna(h[1]), errors="coerce")
        rest = rest.str.replace(_HEIGHT, " ", regex=True)
    if "use" in cols:
        out["use"] = _use_of(t)
    if "is_new" in cols:
        existing = t.str.contains("现状|保留|已建", regex=True).fillna(False)
        new = t.str.contains("新建|拟建|规划", regex=True).fillna(False)
        out["is_new"] = pd.Series(pd.NA, index=t.index, dtype="boolean").mask(existing, False)
        out["is_new"] = out["is_new"].mask(new & ~existing, True)
    if "land_use" in cols:
        from .fields import LAND_USE_NAMES

        code = t.str.extract(_LAND_USE, expand=False)
        named = t.str.strip().map(LAND_USE_NAMES).astype("string")
        out["land_use"] = code.fillna(named)
        rest = rest.mask(out["land_use"].notna(), "")
    if "kind" in cols and layer == "green_spaces":
        park = t.str.contains("公园", regex=False).fillna(False)
        protective = t.str.contains("防护", regex=False).fillna(False)
        kind = pd.Series(pd.NA, index=t.index, dtype="string")
        out["kind"] = kind.mask(protective, "protective").mask(park, "park")
    if "name" in cols:
        name = rest.str.strip(" :：;；,，")
        name = name.str.replace(r"\s+", " ", regex=True)
        meaningful = name.str.contains(r"[\u4e00-\u9fffA-Za-z#]", regex=True).fillna(False)
        out["name"] = name.where(meaningful)
    return out


# --------------------------------------------------------------------------- the drawing


def read_drawing(
    shown: Path,
    *,
    container: Container | None = None,
    rel: str = "",
    field_map: FieldMap | None = None,
    source_crs: str | None = None,
    as_layer: str | None = None,
) -> Drawing:
    """Read a DXF drawing's CAD layers as contract layers.

    Parameters
    ----------
    shown : pathlib.Path
        The drawing (as named in messages).
    container : Container, optional
        The zip archive it is in; ``rel`` is its path inside.
    rel : str
    field_map : FieldMap, optional
        ``layers`` maps CAD layer names; ``dxf.existing_buildings`` names
        CAD layers of existing buildings.
    source_crs : str, optional
        WKT or authority string of the drawing's CRS; else recognised from
        the eastings' zone number.
    as_layer : str, optional
        Read every CAD layer as this contract layer (a drawing named
        ``squares.dxf`` in a folder).

    Returns
    -------
    Drawing
        Contract layers with geometries in the drawing's CRS (metres).

    Raises
    ------
    InputError
        The file is a DWG or not a readable DXF; no CAD layer is recognised;
        the CRS is neither given nor recognisable.
    """
    doc = _load(shown, container, rel)
    got = _collect(doc)
    drawing = Drawing()
    names = sorted(set(got.layer) | set(got.text_layer))
    roles: dict[str, tuple[str | None, str, bool]] = {}
    for n in names:  # CAD layers, a few dozen
        roles[n] = (as_layer, "contract", False) if as_layer else cad_layer_role(n, field_map)
    layer_s = pd.Series(got.layer, dtype=object)
    geoms = np.array(got.geom, dtype=object) if got.geom else np.empty(0, dtype=object)
    target = layer_s.map(lambda n: roles[n][0]) if len(layer_s) else layer_s
    counts = layer_s.value_counts()
    for n in names:
        if roles[n][0] is None:
            drawn = int(counts.get(n, 0))
            if drawn:
                drawing.not_read.append(
                    {
                        "file": f"{shown} CAD layer '{n}'",
                        "reason": f"{drawn} entities on a CAD layer not recognised; map it under "
                        f"layers: in the mapping file to read it",
                    }
                )
    recognised = target.notna().to_numpy(dtype=bool) if len(target) else np.zeros(0, bool)
    if not recognised.any():
        found = ", ".join(f"{n} ({int(counts.get(n, 0))})" for n in names[:12]) or "none"
        raise InputError(
            f"{shown}: no CAD layer named as a scheme layer (规划范围, 地块, 道路中心线, 建筑, "
            f"绿地, 广场 …); CAD layers found: {found}; map them in a mapping file "
            f"(--field-map) under layers:"
        )
    crs, crs_from, crs_notes = _drawing_crs(shown, geoms[recognised], source_crs)
    drawing.crs = crs
    drawing.notes.extend(crs_notes)

    feat = gpd.GeoDataFrame(
        {
            "cad_layer": layer_s[recognised].to_numpy(),
            "layer": target[recognised].to_numpy(),
            "id": np.array(got.handle, dtype=object)[recognised],
            "block": np.array(got.block, dtype=np.int64)[recognised],
        },
        geometry=list(geoms[recognised]),
        crs=crs,
    )
    layer_notes: dict[str, list[str]] = {}
    feat = _shape(feat, roles, layer_notes)
    feat = _drop_duplicate_outlines(feat, layer_notes)
    feat = _attach_attribs(feat, got, field_map)
    texts = gpd.GeoDataFrame(
        {"text": got.text, "cad_layer": got.text_layer},
        geometry=shapely.points(np.array(got.text_xy).reshape(-1, 2)) if got.text else [],
        crs=crs,
    )
    feat, used = _attach_labels(feat, texts)
    if len(texts):
        drawing.notes.append(
            f"{shown}: {used} of {len(texts)} texts lie inside a polygon of a scheme layer and "
            f"were read as its attributes"
            + ("; the others are not read" if used < len(texts) else "")
        )
    for name, group in feat.groupby("layer", sort=False):
        cad = list(dict.fromkeys(group["cad_layer"]))
        hows = {roles[c][1] for c in cad}
        how = (
            "mapping" if "mapping" in hows else ("contract" if "contract" in hows else "recognised")
        )
        frame = gpd.GeoDataFrame(
            group.drop(columns=["layer", "block"]).reset_index(drop=True),
            geometry="geometry",
            crs=crs,
        )
        frame = frame.dropna(axis=1, how="all")
        for c in frame.columns:  # text as GDAL gives it: object, None where missing
            if isinstance(frame[c].dtype, pd.StringDtype):
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        if "geometry" not in frame.columns:
            continue
        notes = [f"layer '{c}' of {shown.name} read as {name}" for c in cad]
        notes += layer_notes.get(str(name), [])
        notes += _label_notes(frame, str(name))
        drawing.layers[str(name)] = DxfLayer(
            name=str(name),
            inner="+".join(cad),
            source_name=cad[0],
            how=how,
            frame=frame,
            notes=notes,
            crs_from=crs_from,
        )
    skipped = {k: v for k, v in got.skipped.items() if k not in ("DIMENSION", "POINT")}
    if skipped:
        drawing.notes.append(
            f"{shown}: entities not read as features: "
            + ", ".join(f"{v} {k}" for k, v in sorted(skipped.items()))
        )
    return drawing


def _shape(
    feat: gpd.GeoDataFrame,
    roles: dict[str, tuple[str | None, str, bool]],
    notes: dict[str, list[str]],
) -> gpd.GeoDataFrame:
    """Polygons from closed outlines where the layer holds polygons; open lines kept or dropped."""
    g = feat.geometry.to_numpy()
    tid = shapely.get_type_id(g)
    is_line = tid == 1
    closed = is_line & shapely.is_closed(g) & (shapely.get_num_coordinates(g) >= 4)
    polygon_only = (
        feat["layer"].map(lambda n: set(LAYERS[n].geometry) <= set(POLYGON)).to_numpy(dtype=bool)
    )
    edge = feat["cad_layer"].map(lambda n: _tail(n) in ROAD_EDGE_LAYERS or n in ROAD_EDGE_LAYERS)
    edge = edge.to_numpy(dtype=bool) & (feat["layer"] == "roads").to_numpy(dtype=bool)
    make_poly = closed & (polygon_only | edge)
    if make_poly.any():
        coords, idx = shapely.get_coordinates(g[make_poly], return_index=True)
        rings = shapely.linearrings(coords, indices=idx)
        g = g.copy()
        g[make_poly] = shapely.polygons(rings)
    tid = shapely.get_type_id(g)
    is_point = np.isin(tid, [0, 4])
    open_line = np.isin(tid, [1, 5]) & (polygon_only | edge)
    drop = open_line | is_point
    for mask, what in (
        (
            open_line & edge,
            "open lines (kerbs, not centrelines; draw closed "
            "road-land outlines or a 道路中心线 layer)",
        ),
        (open_line & ~edge, "open lines (not closed outlines) dropped"),
        (is_point, "points dropped"),
    ):
        if mask.any():
            per = feat.loc[mask, "cad_layer"].value_counts()
            for cad, n in per.items():
                layer = str(roles[str(cad)][0])
                notes.setdefault(layer, []).append(f"{layer}: CAD layer '{cad}': {int(n)} {what}")
    is_new = feat["layer"] == "buildings"
    existing = feat["cad_layer"].map(lambda n: roles[n][2]).to_numpy(dtype=bool)
    out = feat.set_geometry(gpd.GeoSeries(g, index=feat.index, crs=feat.crs))
    out["is_new"] = pd.Series(pd.NA, index=feat.index, dtype="boolean").mask(is_new, ~existing)
    return out[~drop]


def _drop_duplicate_outlines(
    feat: gpd.GeoDataFrame, notes: dict[str, list[str]]
) -> gpd.GeoDataFrame:
    """One feature where a drawing has two of the same shape (a hatch over its outline).

    Shapes are compared on a 1 cm grid, per contract layer; a block's own
    polygon (which carries its attributes) is the one kept.
    """
    if feat.empty:
        return feat
    geoms = feat.geometry.to_numpy()
    try:
        snapped = shapely.normalize(shapely.set_precision(geoms, 0.01))
    except shapely.errors.GEOSException:  # an invalid outline: compared as drawn
        snapped = shapely.normalize(geoms)
    key = pd.Series(shapely.to_wkb(snapped), index=feat.index)
    order = feat.assign(_key=key).sort_values("block", ascending=False, kind="stable")
    dup = order.duplicated(["layer", "_key"])
    if not dup.any():
        return feat
    for layer, n in order.loc[dup, "layer"].value_counts().items():
        notes.setdefault(str(layer), []).append(
            f"{layer}: {int(n)} shapes drawn twice (e.g. a hatch over its outline) read once"
        )
    return feat.loc[order.index[~dup.to_numpy()]].sort_index()


def _attach_attribs(
    feat: gpd.GeoDataFrame, got: _Collected, field_map: FieldMap | None
) -> gpd.GeoDataFrame:
    """Block attributes (tag → value) onto the polygons the block draws, tags as field names."""
    if not got.attrib_block:
        return feat
    att = pd.DataFrame(
        {"block": got.attrib_block, "tag": got.attrib_tag, "value": got.attrib_value}
    )
    att = att[att["value"] != ""]
    wide = att.drop_duplicates(["block", "tag"]).pivot(index="block", columns="tag", values="value")
    out = feat.copy()
    for name in out["layer"].unique():  # contract layers, a handful
        sel = (out["layer"] == name) & (out["block"] > 0)
        if not sel.any():
            continue
        res = resolve_fields(
            list(wide.columns),
            str(name),
            (*LAYERS[str(name)].fields, "id"),
            where="",
            field_map=field_map,
        )
        cols = {src: dst for dst, src in res.sources.items() if dst != "id"}
        if not cols:
            continue
        vals = wide[list(cols)].rename(columns=cols)
        joined = out.loc[sel, ["block"]].join(vals, on="block")
        for c in vals.columns:
            out.loc[sel, f"attrib_{c}"] = joined[c].to_numpy()
    return out


def _attach_labels(feat: gpd.GeoDataFrame, texts: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Each text to the smallest polygon it lies in; its fields parsed; attributes win.

    Returns the features and the number of texts read.
    """
    out = feat.copy()
    used = 0
    poly = out[out.geometry.geom_type.isin(POLYGON)]
    if len(texts) and len(poly):
        j = gpd.sjoin(texts, poly[["geometry"]], predicate="within", how="inner")
        j["area"] = poly.geometry.area.reindex(j["index_right"]).to_numpy()
        j = j.sort_values(["area"], kind="stable")
        j = j[~j.index.duplicated(keep="first")]  # each text to its smallest polygon
        j["layer"] = out.loc[j["index_right"], "layer"].to_numpy()
        # a boundary holds every label of the plan: only its own CAD layer's name it
        own = j["cad_layer"].to_numpy() == out.loc[j["index_right"], "cad_layer"].to_numpy()
        j = j[(j["layer"] != "boundary").to_numpy() | own]
        used = len(j)
        for name, group in j.groupby("layer", sort=False):
            parsed = _parse_labels(group["text"], str(name))
            parsed["target"] = group["index_right"].to_numpy()
            _fill(out, parsed.groupby("target").first())  # first non-null per field
        texts = texts.drop(index=j.index)
    lines = out[(out["layer"] == "roads").to_numpy() & out.geometry.geom_type.isin(LINE).to_numpy()]
    if len(texts) and len(lines):
        # a road's name and width are written beside its centreline, not inside anything
        near = gpd.sjoin_nearest(
            texts, lines[["geometry"]], how="inner", max_distance=ROAD_LABEL_M, distance_col="d"
        )
        near = near[~near.index.duplicated(keep="first")]
        used += len(near)
        parsed = _parse_road_labels(near["text"])
        parsed["target"] = near["index_right"].to_numpy()
        _fill(out, parsed.groupby("target").first())
    if "attrib_use" in out.columns:  # 住宅 as an attribute reads as a label does
        words = _use_of(out["attrib_use"].astype("string"))
        out["attrib_use"] = words.where(words.notna(), out["attrib_use"])
    for c in [c for c in out.columns if c.startswith("attrib_")]:
        dst = c.removeprefix("attrib_")
        if dst not in out.columns:
            out[dst] = out[c]
        else:
            out[dst] = out[c].where(out[c].notna(), out[dst])
        out = out.drop(columns=c)
    return out, used


def _fill(out: gpd.GeoDataFrame, first: pd.DataFrame) -> None:
    """Fields read from labels into the features (by index), where not already known."""
    for c in first.columns:
        col = first[c]
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype=col.dtype)
        current = out.loc[first.index, c]
        if c == "is_new":  # a label 现状 / 新建 says more than the CAD layer
            out.loc[first.index, c] = col.where(col.notna(), current)
        else:
            out.loc[first.index, c] = current.where(current.notna(), col)


def _parse_road_labels(text: pd.Series) -> pd.DataFrame:
    """``red_line_width_m``, ``road_class`` and ``name`` from labels beside centrelines."""
    t = text.astype("string")
    out = pd.DataFrame(index=text.index)
    out["red_line_width_m"] = pd.to_numeric(t.str.extract(_WIDTH, expand=False), errors="coerce")
    classes = "|".join(sorted(VALUE_NAMES[("roads", "road_class")], key=len, reverse=True))
    out["road_class"] = t.str.extract(f"({classes})", expand=False)
    rest = t.str.replace(_WIDTH_TOKEN, " ", regex=True).str.replace(classes, " ", regex=True)
    name = rest.str.replace(r"\s+", " ", regex=True).str.strip(" :：;；,，")
    out["name"] = name.where(name.str.contains(r"[\u4e00-\u9fff]", regex=True).fillna(False))
    return out


def _label_notes(frame: pd.DataFrame, layer: str) -> list[str]:
    read = [c for c in LAYERS[layer].fields if c in frame.columns and frame[c].notna().any()]
    if layer == "buildings" and "is_new" in read:
        n_new = int(frame["is_new"].fillna(False).astype(bool).sum())
        note = [f"buildings: {n_new} of {len(frame)} proposed (is_new), the rest existing"]
    else:
        note = []
    read = [c for c in read if c != "is_new"]
    if read:
        note.append(
            f"{layer}: read from texts and block attributes inside the polygons: "
            + ", ".join(f"{c} ({int(frame[c].notna().sum())})" for c in read)
        )
    return note


__all__ = [
    "DXF_LAYER_ALIASES",
    "LAYER_ALIASES",
    "LINE",
    "Drawing",
    "DxfLayer",
    "cad_layer_role",
    "read_drawing",
    "zone_crs",
]
