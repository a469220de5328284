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
  (hatches with their holes, arcs and bulges flattened, a vertex every 4°); open lines
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

GDAL's DXF driver reads the drawing (through pyogrio, like every other
format, ``/vsizip/`` included): blocks exploded entity by entity, hatches as
polygons, arcs and bulges flattened, texts as points, old drawings decoded by
their code page (``ANSI_936`` is GBK) and AutoCAD 2007+ drawings as UTF-8.
Block attributes with their tags come from a second read with blocks not
exploded, only when the drawing has any.  Everything after — polygons, the
text-in-polygon join, the parsing of labels — is vectorised: no Python loop
over entities.  ezdxf, tried first, took 10 s where GDAL takes 0.6 s on a
drawing of 15,000 entities (5,000 buildings with labels, 5,000 lines).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ..errors import InputError
from ..notes import Note, layer_zh
from ..wording import count_en
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


#: GDAL's DXF driver: blocks exploded entity by entity (each keeps the block
#: reference's handle, and what it draws on layer 0 takes the reference's layer).
_GDAL_DXF = {"DXF_INLINE_BLOCKS": "TRUE", "DXF_MERGE_BLOCK_GEOMETRIES": "FALSE"}
_ACADVER = re.compile(rb"\$ACADVER\s*\r?\n\s*1\s*\r?\n\s*(AC\d{4})")


def _head(shown: Path, container: Container | None, rel: str) -> bytes:
    try:
        if container is not None:
            with container.open(rel) as fh:
                return fh.read(65536)
        with shown.open("rb") as fh:
            return fh.read(65536)
    except OSError as exc:
        raise InputError(f"{shown}: cannot be read ({one_line(exc)})") from exc


@dataclass
class _Collected:
    """What a drawing holds: shapes, texts and block attributes, as arrays."""

    layer: np.ndarray
    geom: np.ndarray
    handle: np.ndarray
    block: np.ndarray  # the block reference's handle for what a block draws, else ""
    text_layer: list[str]
    text_xy: np.ndarray
    text: list[str]
    attribs: pd.DataFrame  # block (handle), tag, value
    skipped: dict[str, int]


def _read_entities(shown: Path, container: Container | None, rel: str) -> _Collected:
    """Read a drawing's model space with GDAL's DXF driver (vectorised, C++).

    Drawings of AutoCAD 2007 and later are UTF-8 whatever their
    ``$DWGCODEPAGE`` says; older ones are decoded by their code page
    (``ANSI_936`` is GBK).
    """
    head = _head(shown, container, rel)
    if head[:4] == b"AC10" or head[:6] == b"AC1.50":
        raise InputError(f"{shown}: a DWG drawing saved under a .dxf name; {DWG_ADVICE}")
    version = _ACADVER.search(head)
    options = dict(_GDAL_DXF)
    if version is not None and version.group(1) >= b"AC1021":
        options["DXF_ENCODING"] = "UTF-8"
    path = container.gdal(rel) if container is not None else str(shown)
    columns = ["Layer", "PaperSpace", "SubClasses", "EntityHandle", "Text"]
    pyogrio.set_gdal_config_options(options)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ents = pyogrio.read_dataframe(path, layer="entities", encoding="UTF-8", columns=columns)
            is_attrib = ents["SubClasses"].astype("string").str.contains("AcDbAttribute")
            attribs = pd.DataFrame(columns=["block", "tag", "value"])
            if is_attrib.fillna(False).any():
                pyogrio.set_gdal_config_options({"DXF_INLINE_BLOCKS": "FALSE"})
                refs = pyogrio.read_dataframe(
                    path,
                    layer="entities",
                    encoding="UTF-8",
                    columns=["EntityHandle", "BlockAttributes"],
                    read_geometry=False,
                )
                refs = refs[refs["BlockAttributes"].notna()]
                pairs = refs.explode("BlockAttributes")
                split = pairs["BlockAttributes"].astype(str).str.split(" ", n=1, expand=True)
                if len(split):
                    attribs = pd.DataFrame(
                        {
                            "block": pairs["EntityHandle"].astype(str).to_numpy(),
                            "tag": split[0].to_numpy(),
                            "value": split[1].fillna("").str.strip().to_numpy()
                            if 1 in split.columns
                            else "",
                        }
                    )
    except InputError:
        raise
    except Exception as exc:  # GDAL's errors for a file that is no DXF
        raise InputError(
            f"{shown}: cannot be read as a DXF drawing ({one_line(exc)}); save it again as "
            f"DXF from your CAD program"
        ) from exc
    finally:
        pyogrio.set_gdal_config_options({k: None for k in (*_GDAL_DXF, "DXF_ENCODING")})
    paper = pd.to_numeric(ents["PaperSpace"], errors="coerce").fillna(0).to_numpy() != 0
    if paper.any():  # the sheet (title block, viewports), not the plan
        ents, is_attrib = ents[~paper], is_attrib[~paper]
    layer = ents["Layer"].fillna("0").astype(str).to_numpy()
    handle = ents["EntityHandle"].fillna("").astype(str).to_numpy()
    geoms = np.asarray(ents.geometry.array, dtype=object)
    text = ents["Text"].astype("string")
    sub = ents["SubClasses"].fillna("").astype(str)
    is_text = (
        sub.str.contains("AcDbText|AcDbMText").to_numpy() & ~is_attrib.fillna(False).to_numpy()
    )
    point = np.isin(shapely.get_type_id(geoms), [0, 4])
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    labels = is_text & point & text.notna().to_numpy()
    shapes = ~is_text & ~point & ~missing & ~is_attrib.fillna(False).to_numpy()
    words = text[labels].str.split().str.join(" ").fillna("").tolist()
    keep_text = np.array([bool(w) for w in words], dtype=bool)
    blocks = set(attribs["block"])
    block = np.where(np.isin(handle, list(blocks)), handle, "")
    skipped = {"points": int((point & ~is_text).sum()), "empty": int(missing.sum())}
    xy = shapely.get_coordinates(geoms[labels])[:, :2] if labels.any() else np.empty((0, 2))
    return _Collected(
        layer=layer[shapes],
        geom=geoms[shapes],
        handle=handle[shapes],
        block=block[shapes],
        text_layer=list(layer[labels][keep_text]),
        text_xy=xy[keep_text],
        text=[w for w in words if w],
        attribs=attribs,
        skipped={k: v for k, v in skipped.items() if v},
    )


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
            [
                Note(
                    f"{shown}: a DXF has no CRS; read in {crs.name} (--source-crs)",
                    f"{shown}：DXF 图纸未定义坐标系，按 {crs.name} 读取（--source-crs）",
                )
            ],
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
            Note(
                f"{shown}: a DXF has no CRS; its eastings carry the 3-degree zone number {zone}, "
                f"read as {crs.name} (EPSG:{epsg}); give --source-crs if the drawing is in "
                f"another datum (Xian 1980, Beijing 1954) or a local grid",
                f"{shown}：DXF 图纸未定义坐标系，其 Y 坐标（东坐标）带 3 度带带号 {zone}，按 "
                f"{crs.name}（EPSG:{epsg}）读取；如图纸为西安 1980、北京 1954 坐标系或地方坐标系，"
                f"请用 --source-crs 指定",
            )
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
    got = _read_entities(shown, container, rel)
    drawing = Drawing()
    names = sorted(set(got.layer) | set(got.text_layer))
    roles: dict[str, tuple[str | None, str, bool]] = {}
    for n in names:  # CAD layers, a few dozen
        roles[n] = (as_layer, "contract", False) if as_layer else cad_layer_role(n, field_map)
    layer_s = pd.Series(got.layer, dtype=object)
    geoms = got.geom
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
            "id": got.handle[recognised],
            "block": got.block[recognised],
        },
        geometry=list(geoms[recognised]),
        crs=crs,
    )
    layer_notes: dict[str, list[str]] = {}
    feat = _shape(feat, roles, layer_notes)
    feat = _drop_duplicate_outlines(feat, layer_notes)
    feat = _attach_attribs(feat, got, field_map, shown)
    texts = gpd.GeoDataFrame(
        {"text": got.text, "cad_layer": got.text_layer},
        geometry=shapely.points(got.text_xy) if got.text else [],
        crs=crs,
    )
    feat, used = _attach_labels(feat, texts)
    if len(texts):
        drawing.notes.append(
            Note(
                f"{shown}: {used} of {count_en(len(texts), 'text')} "
                f"{'lies' if used == 1 else 'lie'} inside a polygon of a scheme layer and "
                f"{'was' if used == 1 else 'were'} read as its attributes"
                + ("; the others are not read" if used < len(texts) else ""),
                f"{shown}：{len(texts):,} 个文字中 {used:,} 个位于方案图层的多边形内，已读作其属性"
                + ("；其余未读取" if used < len(texts) else ""),
            )
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
        notes: list[str] = [
            Note(
                f"layer '{c}' of {shown.name} read as {name}",
                f"{shown.name} 的 CAD 图层 {c} 读作{layer_zh(str(name))}",
            )
            for c in cad
        ]
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
    if got.skipped:
        drawing.notes.append(
            Note(
                f"{shown}: entities not read as features: "
                + ", ".join(f"{v} {k}" for k, v in sorted(got.skipped.items())),
                f"{shown}：以下图元未读作要素："
                + "、".join(f"{k} {v:,} 个" for k, v in sorted(got.skipped.items())),
            )
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
    for mask, what, what_zh in (
        (
            open_line & edge,
            "open lines (kerbs, not centrelines; draw closed "
            "road-land outlines or a 道路中心线 layer)",
            "未闭合的线（道路边线，不是中心线；请绘制闭合的道路用地轮廓或道路中心线图层）",
        ),
        (open_line & ~edge, "open lines (not closed outlines) dropped", "未闭合的线，已舍去"),
        (is_point, "points dropped", "点，已舍去"),
    ):
        if mask.any():
            per = feat.loc[mask, "cad_layer"].value_counts()
            for cad, n in per.items():
                layer = str(roles[str(cad)][0])
                notes.setdefault(layer, []).append(
                    Note(
                        f"{layer}: CAD layer '{cad}': {int(n)} {what}",
                        f"{layer_zh(layer)}：CAD 图层 {cad} 有 {int(n):,} 个{what_zh}",
                    )
                )
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
    snapped = shapely.normalize(
        shapely.transform(feat.geometry.to_numpy(), lambda c: np.round(c, 2))
    )
    key = pd.Series(shapely.to_wkb(snapped), index=feat.index)
    order = feat.assign(_key=key).sort_values("block", ascending=False, kind="stable")
    dup = order.duplicated(["layer", "_key"])
    if not dup.any():
        return feat
    for layer, n in order.loc[dup, "layer"].value_counts().items():
        notes.setdefault(str(layer), []).append(
            Note(
                f"{layer}: {int(n)} shapes drawn twice (e.g. a hatch over its outline) read once",
                f"{layer_zh(str(layer))}：{int(n):,} 个重复绘制的图形（如轮廓上的填充）只读取一次",
            )
        )
    return feat.loc[order.index[~dup.to_numpy()]].sort_index()


def _attach_attribs(
    feat: gpd.GeoDataFrame, got: _Collected, field_map: FieldMap | None, shown: Path
) -> gpd.GeoDataFrame:
    """Block attributes (tag → value) onto the polygons the block draws, tags as field names."""
    att = got.attribs
    if att.empty:
        return feat
    att = att[att["value"] != ""]
    wide = att.drop_duplicates(["block", "tag"]).pivot(index="block", columns="tag", values="value")
    out = feat.copy()
    for name in out["layer"].unique():  # contract layers, a handful
        sel = (out["layer"] == name) & (out["block"] != "")
        if not sel.any():
            continue
        res = resolve_fields(
            list(wide.columns),
            str(name),
            (*LAYERS[str(name)].fields, "id"),
            where=f"{shown} block attributes",
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
        note: list[str] = [
            Note(
                f"buildings: {n_new} of {len(frame)} proposed (is_new), the rest existing",
                f"建筑图层 buildings：{len(frame):,} 栋中新建 {n_new:,} 栋（is_new），其余为现状",
            )
        ]
    else:
        note = []
    read = [c for c in read if c != "is_new"]
    if read:
        note.append(
            Note(
                f"{layer}: read from texts and block attributes inside the polygons: "
                + ", ".join(f"{c} ({int(frame[c].notna().sum())})" for c in read),
                f"{layer_zh(layer)}：以下属性取自多边形内的文字和块属性："
                + "、".join(f"{c}（{int(frame[c].notna().sum()):,} 个）" for c in read),
            )
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
