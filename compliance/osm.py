"""Importing an OpenStreetMap-derived GeoPackage as a scheme (方案).

The source is a GeoPackage laid out as the extracts in ``shared/data/<place>/``
(layers ``roads``, ``buildings``, ``landuse``, ``green``, ``squares``,
``extent``, ``boundary``, ``centre`` …, OSM keys kept verbatim as columns, see
``shared/data/SOURCES.md``).  :func:`import_osm` turns it into a scheme
GeoPackage with the contract layers of ``spec/CONTRACT.md``:

================  ==============  ==========================================
scheme layer      from OSM layer  fields
================  ==============  ==========================================
``boundary``      ``extent``      ``kind`` = ``"extent"``, ``name``, ``note``,
                                  ``population`` (empty)
``parcels``       ``landuse``     ``land_use`` (2023 code, :data:`LANDUSE_CODES`),
                                  ``osm_landuse``, ``name``, ``osm_id``
``roads``         ``roads``       ``road_class``, ``red_line_width_m``,
                                  ``width_source``, ``is_new``, ``lanes``,
                                  ``oneway``, ``name``, ``osm_id``
``squares``       ``squares``     ``hard_area_m2`` (empty), ``name``, ``osm_id``
``green_spaces``  ``green``       ``kind`` (``park`` / ``green``), ``name``,
                                  ``osm_id``
``buildings``     ``buildings``   ``floors``, ``height_m``, ``use``,
                                  ``is_new``, ``name``, ``osm_id``
================  ==============  ==========================================

Every layer but ``boundary`` also keeps ``osm_type`` (way / relation) beside
``osm_id``; ``osm_id`` is not unique where clipping cut a way in pieces.

OSM has no urban clusters (组团) and no ecological corridors, so the scheme has
no ``clusters`` and no ``corridors`` layer and the rules on them report
``not_evaluated``.  OSM carries almost no road widths: red-line widths are
mostly estimated from the road class or the lane count, and such values are
marked (``width_source`` starting with ``estimated``) so every finding resting
on them says so.

The output keeps the source's EPSG:4326; the checker chooses the metric CRS.
Imported data stays © OpenStreetMap contributors under ODbL 1.0 (each written
layer's GeoPackage description says so).
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .errors import InputError, OutputError

#: CRS of the source extracts and of the scheme written.
OSM_CRS = "EPSG:4326"

#: Attribution written as the description of every output layer.
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0; converted by compliance.osm"

#: OSM layers the importer reads (any one of them makes a usable source).
OSM_LAYERS = ("roads", "buildings", "landuse", "green", "squares", "extent")

#: OSM ``landuse=*`` → 2023 land-use code (《国土空间调查、规划、用途管制用地用海分类指南》).
#: Only values whose class is clear are mapped, chiefly construction land (which
#: matters for corridor width).  Every other value (``grass``, ``forest``,
#: ``meadow``, ``farmland``, ``construction``, ``brownfield``, ``garages``,
#: ``institutional`` …) keeps an empty ``land_use``: the class cannot be told
#: reliably from the tag (urban ``grass`` is green space, not 04 草地) and a
#: wrong code is worse than none.  The OSM value stays in ``osm_landuse``.
LANDUSE_CODES: dict[str, str] = {
    "residential": "0701",  # 城镇住宅用地
    "commercial": "0901",  # 商业用地 (OSM commercial includes offices, 0902 商务金融用地)
    "retail": "0901",  # 商业用地
    "industrial": "1001",  # 工业用地
    "quarry": "1002",  # 采矿用地
    "education": "0804",  # 教育用地
    "school": "0804",
    "university": "0804",
    "college": "0804",
    "railway": "1201",  # 铁路用地
    "port": "1204",  # 港口码头用地
    "military": "1501",  # 军事设施用地
    "religious": "1503",  # 宗教用地
    "cemetery": "1506",  # 殡葬用地
}

#: Estimated red-line width (道路红线宽度) by OSM ``highway`` class, metres.
#: Planning-practice estimates of a typical Chinese urban red line for the
#: class, NOT values of any standard; used only when a way has neither a
#: parsable ``width`` nor ``lanes``, and marked ``estimated:class``.  Classes
#: not listed here (footway, path, steps, cycleway, pedestrian, track,
#: bridleway, corridor, platform, construction, proposed, road, busway …) get
#: no red-line width.
ROAD_CLASS_RED_LINE_M: dict[str, float] = {
    "motorway": 60.0,
    "trunk": 50.0,
    "primary": 45.0,
    "secondary": 36.0,
    "tertiary": 24.0,
    "unclassified": 16.0,
    "residential": 16.0,
    "living_street": 12.0,
    "service": 10.0,
    "motorway_link": 12.0,
    "trunk_link": 12.0,
    "primary_link": 12.0,
    "secondary_link": 10.0,
    "tertiary_link": 8.0,
}

#: Width of one traffic lane, m (lane-count estimate).
LANE_WIDTH_M = 3.5
#: Sidewalks and planting strips on both sides together (2 × 5 m), m.
SIDE_STRIPS_M = 10.0
#: Central median added when the road has 4 lanes or more in total, m.
MEDIAN_M = 2.0
#: Total lanes from which a median is assumed.
MEDIAN_FROM_LANES = 4
#: Classes whose one-way ways are taken as one carriageway of a dual
#: carriageway: the road's total lanes are twice the way's ``lanes``.
DUAL_CARRIAGEWAY_CLASSES = ("motorway", "trunk", "primary", "secondary")

#: ``width_source`` values written on ``roads``.
WIDTH_FROM_TAG = "estimated:osm-width"
WIDTH_FROM_LANES = "estimated:lanes"
WIDTH_FROM_CLASS = "estimated:class"
WIDTH_NONE = "none"

_EXPECTED = (
    "an OpenStreetMap-derived GeoPackage with layers roads, buildings, landuse, green, "
    "squares, extent (as shared/data/<place>/<place>.gpkg)"
)
_METRES = r"^(\d+(?:\.\d+)?)\s*(?:m|metres?|meters?)?$"


# --------------------------------------------------------------------------- parsing


def _text(gdf: pd.DataFrame, column: str) -> pd.Series:
    """A column as stripped text; all missing when the layer lacks it."""
    if column not in gdf.columns:
        return pd.Series(pd.NA, index=gdf.index, dtype="string")
    text = gdf[column].astype("string").str.strip()
    return text.mask(text == "")


def parse_metres(values: pd.Series) -> pd.Series:
    """OSM length values in metres as floats.

    Parameters
    ----------
    values : pandas.Series
        Tag values such as ``"12"``, ``"12.5"``, ``"12 m"``, ``"12m"``.

    Returns
    -------
    pandas.Series
        Metres (float), aligned with ``values``; NaN where the value is
        missing, not a plain metric number (``"40'"``, ``"3;4"``, ``"12,5"``,
        feet) or not positive.
    """
    text = values.astype("string").str.strip().str.lower()
    number = text.str.extract(_METRES, expand=False)
    metres = pd.to_numeric(number, errors="coerce").astype(float)
    return metres.where(metres > 0)


def estimate_red_line_width_m(
    highway: pd.Series,
    width: pd.Series,
    lanes: pd.Series,
    oneway: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Red-line width of OSM ways, m, and where it comes from.

    In order of preference, for classes listed in :data:`ROAD_CLASS_RED_LINE_M`:

    1. the ``width`` tag when it parses as metres (``estimated:osm-width``):
       OSM ``width`` is usually the carriageway, so the red line is taken as
       that width + 2 × 5 m sidewalks and planting strips;
    2. from ``lanes`` (``estimated:lanes``): total lanes = ``lanes``, doubled
       for a one-way way of class motorway, trunk, primary or secondary (taken
       as one carriageway of a dual carriageway); red line =
       total × 3.5 m + 2 × 5 m sidewalks and planting strips + 2 m median when
       the total is 4 lanes or more;
    3. the class estimate of :data:`ROAD_CLASS_RED_LINE_M`
       (``estimated:class``), a planning-practice figure, not a standard.

    Ways of any other class (footways, paths, steps, tracks, construction …)
    get NaN and ``none``.

    Parameters
    ----------
    highway, width, lanes, oneway : pandas.Series
        The OSM tags, aligned; missing values allowed.

    Returns
    -------
    red_line_width_m : pandas.Series
        Float, metres, NaN where no width applies.
    width_source : pandas.Series
        ``estimated:osm-width``, ``estimated:lanes``, ``estimated:class`` or ``none``.
    """
    cls = highway.astype("string").str.strip().str.lower()
    class_m = cls.map(ROAD_CLASS_RED_LINE_M).astype(float)
    in_table = class_m.notna().to_numpy()
    tagged_m = parse_metres(width).to_numpy()
    lane_text = lanes.astype("string").str.strip()
    lane_count = pd.to_numeric(lane_text.str.extract(r"^(\d+)$", expand=False), errors="coerce")
    per_way = lane_count.astype(float).where(lane_count > 0).to_numpy(dtype=float)
    one_way = oneway.astype("string").str.strip().str.lower().isin(["yes", "true", "1", "-1"])
    dual = (one_way & cls.isin(DUAL_CARRIAGEWAY_CLASSES)).fillna(False).to_numpy(dtype=bool)
    total = per_way * np.where(dual, 2.0, 1.0)
    from_lanes = (
        total * LANE_WIDTH_M + SIDE_STRIPS_M + np.where(total >= MEDIAN_FROM_LANES, MEDIAN_M, 0.0)
    )
    conditions = [
        in_table & ~np.isnan(tagged_m),
        in_table & ~np.isnan(per_way),
        in_table,
    ]
    width_m = np.select(
        conditions, [tagged_m + SIDE_STRIPS_M, from_lanes, class_m.to_numpy()], np.nan
    )
    source = np.select(conditions, [WIDTH_FROM_TAG, WIDTH_FROM_LANES, WIDTH_FROM_CLASS], WIDTH_NONE)
    return (
        pd.Series(width_m, index=highway.index, dtype=float, name="red_line_width_m"),
        pd.Series(source, index=highway.index, dtype="string", name="width_source"),
    )


# --------------------------------------------------------------------------- layers


def _frame(src: gpd.GeoDataFrame, columns: dict[str, pd.Series | object]) -> gpd.GeoDataFrame:
    """A new layer from computed columns, on the source's geometries."""
    data = {
        name: (value.to_numpy() if isinstance(value, pd.Series) else value)
        for name, value in columns.items()
    }
    return gpd.GeoDataFrame(data, geometry=src.geometry.to_numpy(), crs=src.crs)


def _ids(src: gpd.GeoDataFrame) -> dict[str, pd.Series | object]:
    return {"osm_type": _text(src, "osm_type"), "osm_id": _numeric_id(src)}


def _numeric_id(src: gpd.GeoDataFrame) -> pd.Series:
    if "osm_id" not in src.columns:
        return pd.Series(pd.NA, index=src.index, dtype="Int64")
    return pd.to_numeric(src["osm_id"], errors="coerce").astype("Int64")


def parcels_from_landuse(landuse: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``parcels`` from OSM ``landuse`` polygons.

    ``land_use`` is the 2023 code of :data:`LANDUSE_CODES` (``residential`` →
    ``0701`` …), empty for values without a clear class; ``osm_landuse`` keeps
    the OSM value.  No population: OSM has none.
    """
    value = _text(landuse, "landuse").str.lower()
    return _frame(
        landuse,
        {
            "land_use": value.map(LANDUSE_CODES).astype("string"),
            "osm_landuse": value,
            "name": _text(landuse, "name"),
            **_ids(landuse),
        },
    )


def green_spaces_from_green(green: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``green_spaces`` from OSM ``green`` polygons.

    ``kind`` is ``park`` where the extract's derived ``is_park`` is true
    (leisure park / nature_reserve / recreation_ground, public gardens), else
    ``green``.  Protective green (防护绿地) cannot be told apart in OSM, so no
    feature gets ``protective``.
    """
    is_park = _text(green, "is_park").str.lower().isin(["true", "1", "yes"])
    kind = np.where(is_park.fillna(False).to_numpy(dtype=bool), "park", "green")
    return _frame(green, {"kind": kind, "name": _text(green, "name"), **_ids(green)})


def roads_from_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``roads`` from OSM ``highway=*`` lines.

    ``road_class`` is the ``highway`` value; ``red_line_width_m`` (m) and
    ``width_source`` come from :func:`estimate_red_line_width_m`; ``is_new``
    is False (OSM maps what exists).  ``lanes`` and ``oneway`` are the tags.
    """
    highway = _text(roads, "highway")
    width_m, source = estimate_red_line_width_m(
        highway, _text(roads, "width"), _text(roads, "lanes"), _text(roads, "oneway")
    )
    return _frame(
        roads,
        {
            "road_class": highway,
            "red_line_width_m": width_m,
            "width_source": source,
            "is_new": False,
            "name": _text(roads, "name"),
            "lanes": _text(roads, "lanes"),
            "oneway": _text(roads, "oneway"),
            **_ids(roads),
        },
    )


def squares_from_squares(squares: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``squares`` from OSM plazas; ``hard_area_m2`` empty (OSM has no paved share).

    The checker then measures the polygon's area and says so.
    """
    return _frame(
        squares,
        {"hard_area_m2": np.nan, "name": _text(squares, "name"), **_ids(squares)},
    )


def buildings_from_buildings(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``buildings`` from OSM ``building=*`` polygons.

    ``floors`` from ``building:levels`` (NaN when missing, unparsable or
    negative); ``height_m`` from ``height`` when it parses as metres; ``use``
    from ``building:use``, else ``building`` unless that is the bare ``yes``;
    ``is_new`` False.
    """
    floors = pd.to_numeric(_text(buildings, "building:levels"), errors="coerce").astype(float)
    building = _text(buildings, "building")
    use = _text(buildings, "building:use").fillna(building.mask(building.str.lower() == "yes"))
    return _frame(
        buildings,
        {
            "floors": floors.where(floors >= 0),
            "height_m": parse_metres(_text(buildings, "height")),
            "use": use,
            "is_new": False,
            "name": _text(buildings, "name"),
            **_ids(buildings),
        },
    )


def boundary_from_extent(extent: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``boundary`` from the extract's ``extent`` (the study area), ``kind`` = ``extent``.

    ``population`` stays empty: the only figure in an extract is the GeoNames
    city total of its ``centre`` layer, which covers far more than the extent.
    """
    return _frame(
        extent,
        {
            "kind": "extent",
            "name": _text(extent, "name"),
            "note": "study area of the OpenStreetMap extract; " + _text(extent, "note").fillna(""),
            "population": np.nan,
        },
    )


#: Scheme layer ← (OSM layer, converter, columns the OSM layer must have).
CONVERSIONS = {
    "boundary": ("extent", boundary_from_extent, ()),
    "parcels": ("landuse", parcels_from_landuse, ("landuse",)),
    "roads": ("roads", roads_from_roads, ("highway",)),
    "squares": ("squares", squares_from_squares, ()),
    "green_spaces": ("green", green_spaces_from_green, ()),
    "buildings": ("buildings", buildings_from_buildings, ()),
}


# --------------------------------------------------------------------------- files


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _source_layers(source: Path) -> list[str]:
    if not source.exists():
        raise InputError(
            f"{source}: no such file; expected {_EXPECTED}; give the path of such a file"
        )
    if not source.is_file():
        raise InputError(f"{source}: is a folder; expected {_EXPECTED}; give the .gpkg file")
    try:
        return [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(
            f"{source}: cannot be read ({_one_line(exc)}); expected {_EXPECTED}; "
            f"check that the file is a complete GeoPackage"
        ) from exc


def _read_layer(source: Path, layer: str, required: tuple[str, ...]) -> gpd.GeoDataFrame:
    where = f"{source} layer '{layer}'"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(source, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise InputError(
            f"{where}: cannot be read ({_one_line(exc)}); check the GeoPackage"
        ) from exc
    if gdf.crs is None:
        raise InputError(f"{where}: has no CRS; expected EPSG:4326; define it in the file")
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{where}: no column {', '.join(missing)}; expected the OSM keys as columns "
            f"(see shared/data/SOURCES.md); re-export the layer with them"
        )
    geoms = gdf.geometry.array
    gdf = gdf[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(OSM_CRS)):
        gdf = gdf.to_crs(OSM_CRS)
    return gdf.reset_index(drop=True)


def _remove(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        p.unlink(missing_ok=True)


def import_osm(source: str | Path, dest: str | Path, *, overwrite: bool = False) -> Path:
    """Convert an OpenStreetMap-derived GeoPackage into a scheme GeoPackage.

    Parameters
    ----------
    source : str or pathlib.Path
        GeoPackage laid out as ``shared/data/<place>/<place>.gpkg``: layers
        ``roads``, ``buildings``, ``landuse``, ``green``, ``squares``,
        ``extent`` (any may be missing), OSM keys as columns, in EPSG:4326
        (layers in another CRS are reprojected to EPSG:4326; a layer without a
        CRS is an error).  Only read, never modified.
    dest : str or pathlib.Path
        Scheme GeoPackage to write (``.gpkg``), in EPSG:4326; the checker
        reprojects to its metric CRS.  Missing parent folders are created.
    overwrite : bool, default False
        Replace ``dest`` if it exists.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    InputError
        ``source`` is missing or unreadable or holds none of the OSM layers;
        a layer lacks its key column (``highway``, ``landuse``) or a CRS;
        ``dest`` exists and ``overwrite`` is False; ``dest`` is not a
        ``.gpkg`` or is ``source`` itself.
    OutputError
        ``dest`` cannot be written.

    Notes
    -----
    Layers written (see the module docstring for fields): ``boundary`` from
    ``extent`` (the study area; not the county polygons of the source's
    ``boundary`` layer, and without the ``centre`` layer's GeoNames city
    population), ``parcels``, ``roads``, ``squares``, ``green_spaces``,
    ``buildings``; a layer is left out when its OSM layer is missing or empty.
    Never ``clusters`` or ``corridors``: OSM has none.  Null and empty
    geometries are dropped; multi-part geometries are kept whole.

    Road ``red_line_width_m`` is in metres and mostly an estimate
    (:func:`estimate_red_line_width_m`); ``width_source`` says which, and
    values starting with ``estimated`` make the checker mark its findings as
    estimated.  ``floors`` is a count, ``height_m`` metres, ``hard_area_m2``
    square metres (left empty).

    The output is written to a temporary file beside ``dest`` and renamed into
    place when complete, so a failure leaves no partial file.
    """
    source, dest = Path(source), Path(dest)
    if dest.suffix.lower() != ".gpkg":
        raise InputError(
            f"{dest}: the scheme is written as a GeoPackage; give a DEST ending in .gpkg"
        )
    names = _source_layers(source)
    if dest.exists():
        if dest.resolve() == source.resolve():
            raise InputError(
                f"{dest}: is the source file; the importer never modifies its source; "
                f"give another DEST"
            )
        if not overwrite:
            raise InputError(
                f"{dest}: already exists; remove it or give another DEST "
                f"(overwrite=True in Python replaces it)"
            )
    if not any(n in names for n in OSM_LAYERS):
        found = ", ".join(names) or "no layer"
        raise InputError(
            f"{source}: has none of the layers {', '.join(OSM_LAYERS)} (found: {found}); "
            f"expected {_EXPECTED}"
        )

    layers: dict[str, gpd.GeoDataFrame] = {}
    for scheme_layer, (osm_layer, convert, required) in CONVERSIONS.items():  # six layers
        if osm_layer not in names:
            continue
        src = _read_layer(source, osm_layer, required)
        if not src.empty:
            layers[scheme_layer] = convert(src)
    if not layers:
        raise InputError(f"{source}: every OSM layer is empty; expected {_EXPECTED} with features")

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{dest.parent}: cannot create the folder ({_one_line(exc)})") from exc
    tmp = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:12]}.tmp.gpkg")
    try:
        for name, gdf in layers.items():  # six layers at most
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", DESCRIPTION=ATTRIBUTION)
        os.replace(tmp, dest)
    except Exception as exc:
        _remove(tmp)
        raise OutputError(f"{dest}: cannot be written ({_one_line(exc)})") from exc
    return dest
