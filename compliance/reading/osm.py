"""Importing an OpenStreetMap-derived GeoPackage as a scheme (方案).

The source is a GeoPackage laid out as the extracts in ``shared/data/<place>/``
(layers ``roads``, ``buildings``, ``landuse``, ``green``, ``squares``,
``amenity``, ``amenity_points``, ``extent``, ``boundary``, ``centre`` …, OSM
keys kept verbatim as columns, see ``shared/data/SOURCES.md``).
:func:`import_osm` turns it into a scheme GeoPackage with the contract layers
of ``spec/CONTRACT.md``:

================  ==============  ==========================================
scheme layer      from OSM layer  fields
================  ==============  ==========================================
``boundary``      ``extent``      ``kind`` (``city`` / ``county`` from the
                                  extract's ``boundary`` divisions, else
                                  ``extent``), ``study_extent``, ``admin``,
                                  ``name``, ``note``, ``population`` (empty)
``parcels``       ``landuse``     ``land_use`` (2023 code, :data:`LANDUSE_CODES`),
                                  ``osm_landuse``, ``name``, ``osm_id``
``roads``         ``roads``       ``road_class``, ``red_line_width_m``,
                                  ``width_source``, ``is_new``, ``lanes``,
                                  ``oneway``, ``name``, ``osm_id``
``squares``       ``squares``     ``place=square`` (and pedestrian areas named
                                  广场): ``hard_area_m2`` (empty), ``name``,
                                  ``osm_id``
``green_spaces``  ``green``       ``kind`` (``park`` / ``green``), ``name``,
                                  ``osm_id``; not playgrounds, pitches,
                                  greenfield (:data:`NOT_GREEN`)
``buildings``     ``buildings``   ``floors``, ``height_m``, ``use``,
                                  ``is_new``, ``name``, ``osm_id``
``facilities``    ``amenity`` …   ``kind`` (table below), ``name``,
                                  ``osm_amenity``, ``osm_tag``, ``osm_id``
================  ==============  ==========================================

Every layer but ``boundary`` also keeps ``osm_type`` (way / relation) beside
``osm_id``; ``osm_id`` is not unique where clipping cut a way in pieces.

``facilities`` holds the everyday facilities of the 15-minute life circle
(十五分钟生活圈, GB 50180-2018 《城市居住区规划设计标准》 附录 B) that OSM
tags tell apart, for rule LC01.  It is built from ``amenity`` (areas),
``amenity_points`` (nodes) and ``green`` (areas, for their ``leisure``).  A
feature's ``kind`` comes from the first of these tags that maps; features
whose tags map to no kind are dropped:

======================  ============================================  ======================
``kind``                OSM tags                                      GB 50180-2018 facility
======================  ============================================  ======================
``school``              ``amenity=school``                            小学 (10 min),
                                                                      初中 (15 min)
``kindergarten``        ``amenity=kindergarten``, ``childcare``       幼儿园、托儿所 (5 min)
``clinic``              ``amenity=clinic``, ``doctors``,              社区卫生服务中心/站、
                        ``hospital``; ``healthcare=clinic``,          门诊部
                        ``doctor``, ``hospital``, ``centre``
``market``              ``amenity=marketplace``;                      菜市场或生鲜超市
                        ``shop=supermarket``
``community_centre``    ``amenity=community_centre``                  社区服务中心/站
``elderly_care``        ``amenity=nursing_home``;                     养老院、老年养护院、
                        ``amenity=social_facility`` with              老年人日间照料中心
                        ``social_facility=nursing_home`` or
                        ``assisted_living``, or with
                        ``social_facility:for=senior``
``sports``              ``leisure=sports_centre``, ``sports_hall``,   运动场地、健身场地
                        ``stadium``, ``pitch``, ``track``,
                        ``fitness_centre``, ``fitness_station``
======================  ============================================  ======================

The tables are :data:`AMENITY_FACILITY_KINDS`, :data:`SOCIAL_FACILITY_KINDS`,
:data:`HEALTHCARE_FACILITY_KINDS`, :data:`SHOP_FACILITY_KINDS` and
:data:`LEISURE_FACILITY_KINDS`.  Tags are read from the layer's columns
(``amenity``, ``healthcare``, ``leisure`` …) and, where a column is missing
or empty, from the ``tags`` JSON text.  Not mapped on purpose: ``university``
and ``college`` (no residential facility), ``pharmacy``, ``townhall`` (a
district government is no 社区服务中心) and every other amenity.  OSM does
not tell a kindergarten tagged ``amenity=school`` (五老村幼儿园 in Nanjing)
from a school, nor a community clinic from a large hospital: the kinds follow
the tags.  A facility mapped both as an area and as a node appears twice,
which changes no nearest distance.  Geometries stay as mapped: MultiPolygons
from ``amenity`` and ``green``, Points from ``amenity_points``.

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
import re
import uuid
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ..errors import InputError, OutputError

#: CRS of the source extracts and of the scheme written.
OSM_CRS = "EPSG:4326"

#: Attribution written as the description of every output layer.
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0; converted by compliance.reading.osm"

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
    "park": "1401",  # 公园绿地 (landuse=park: park green, counted by GR02 / GR05)
}

#: OSM green features that are not green space (绿地) under CJJ/T 85-2017: sports
#: grounds and playgrounds standing alone, and greenfield (land awaiting building).
NOT_GREEN = {
    "leisure": ("playground", "pitch", "track", "sports_centre", "stadium", "fitness_station"),
    "landuse": ("greenfield", "brownfield", "construction"),
}

#: OSM layers the ``facilities`` layer is built from (areas, nodes, green areas).
FACILITY_LAYERS = ("amenity", "amenity_points", "green")

#: OSM ``amenity=*`` → life-circle facility kind (GB 50180-2018 附录 B).
AMENITY_FACILITY_KINDS: dict[str, str] = {
    "school": "school",  # 小学、初中 (10- and 15-minute circles)
    "kindergarten": "kindergarten",  # 幼儿园 (5-minute circle)
    "childcare": "kindergarten",  # 托儿所 (5-minute circle)
    "clinic": "clinic",  # 社区卫生服务中心/站
    "doctors": "clinic",  # 门诊部
    "hospital": "clinic",
    "marketplace": "market",  # 菜市场
    "community_centre": "community_centre",  # 社区服务中心/站
    "nursing_home": "elderly_care",  # 养老院 (deprecated OSM tag, still mapped)
}

#: ``social_facility=*`` of an ``amenity=social_facility`` → kind; so is any
#: such facility with ``social_facility:for=senior``.
SOCIAL_FACILITY_KINDS: dict[str, str] = {
    "nursing_home": "elderly_care",  # 养老院、老年养护院
    "assisted_living": "elderly_care",
}

#: OSM ``healthcare=*`` → kind (when ``amenity`` gives none).
HEALTHCARE_FACILITY_KINDS: dict[str, str] = {
    "clinic": "clinic",
    "doctor": "clinic",
    "hospital": "clinic",
    "centre": "clinic",
}

#: OSM ``shop=*`` → kind.
SHOP_FACILITY_KINDS: dict[str, str] = {"supermarket": "market"}  # 生鲜超市

#: OSM ``leisure=*`` → kind.
LEISURE_FACILITY_KINDS: dict[str, str] = {
    "sports_centre": "sports",  # 多功能运动场地、健身房
    "sports_hall": "sports",
    "stadium": "sports",
    "pitch": "sports",
    "track": "sports",
    "fitness_centre": "sports",
    "fitness_station": "sports",  # 室外综合健身场地 (5-minute circle)
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


def _tag(gdf: pd.DataFrame, key: str) -> pd.Series:
    """An OSM tag as stripped text: its column, else its value in the ``tags`` JSON text.

    The JSON is searched with a regular expression (``"key": "value"``), a
    vectorised string operation; a value holding an escaped quote is cut at it.
    """
    values = _text(gdf, key)
    if "tags" in gdf.columns:
        pattern = '"' + re.escape(key) + r'"\s*:\s*"([^"]*)"'
        found = gdf["tags"].astype("string").str.extract(pattern, expand=False).str.strip()
        values = values.fillna(found.mask(found == ""))
    return values


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
    (leisure park / nature_reserve / recreation_ground, public gardens) or
    the feature is ``landuse=park``, else ``green``.  Features of
    :data:`NOT_GREEN` (``leisure`` playground, pitch, track, sports_centre,
    stadium, fitness_station; ``landuse`` greenfield, brownfield,
    construction) are left out: CJJ/T 85-2017 does not count them as green
    space.  Protective green (防护绿地) cannot be told apart in OSM, so no
    feature gets ``protective``.
    """
    is_park = _text(green, "is_park").str.lower().isin(["true", "1", "yes"]).fillna(False)
    is_park |= (_tag(green, "landuse").str.lower() == "park").fillna(False)
    out = np.zeros(len(green), dtype=bool)
    for key, values in NOT_GREEN.items():  # two keys
        out |= _tag(green, key).str.lower().isin(values).fillna(False).to_numpy(dtype=bool)
    kind = np.where(is_park.to_numpy(dtype=bool), "park", "green")
    layer = _frame(green, {"kind": kind, "name": _text(green, "name"), **_ids(green)})
    return layer[~out].reset_index(drop=True)


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

    A plaza is ``place=square``, or a ``highway=pedestrian`` area whose name
    says it is one (contains 广场 or "square"); other pedestrian areas are
    pedestrian streets and precincts (步行街), not plazas, and are left out.
    The checker then measures the polygon's area and says so.
    """
    place = _tag(squares, "place").str.lower()
    name = _text(squares, "name").fillna("")
    named = name.str.contains("广场") | name.str.lower().str.contains("square")
    keep = ((place == "square").fillna(False) | named.fillna(False)).to_numpy(dtype=bool)
    layer = _frame(
        squares,
        {"hard_area_m2": np.nan, "name": _text(squares, "name"), **_ids(squares)},
    )
    return layer[keep].reset_index(drop=True)


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


def admin_kind(admin: pd.DataFrame) -> pd.Series:
    """``city`` or ``county`` of county-level divisions (区县), else missing.

    By the six-digit division code (``adcode``, GB/T 2260): the last two
    digits 01–20 are a district of a prefecture-level city (市辖区, ``city``),
    21–80 a county or banner (县、旗, ``county``), 81–99 a county-level city
    (县级市, ``county``: the county-town clauses speak of both); 00 is a
    whole prefecture, not a county-level division.  Without a code, by the
    name's last character (``district``): 区 → ``city``; 县、旗、市 →
    ``county``.
    """
    code = pd.to_numeric(_text(admin, "adcode"), errors="coerce").astype(float).to_numpy()
    tail = code % 100  # NaN without a code
    kind = pd.Series(pd.NA, index=admin.index, dtype="string")
    kind = kind.mask((tail >= 1) & (tail <= 20), "city")
    kind = kind.mask((tail >= 21) & (tail <= 99), "county")
    name = _text(admin, "district").str.strip()
    last = name.str[-1]
    by_name = last.map({"区": "city", "县": "county", "旗": "county", "市": "county"})
    return kind.fillna(by_name.astype("string")).astype("string")


def boundary_from_extent(
    extent: gpd.GeoDataFrame, admin: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """``boundary`` from the extract's ``extent`` (the study area), its kind from ``admin``.

    ``kind`` is ``city`` when every county-level division of the extract's
    ``boundary`` layer (``admin``) that the extent overlaps is a district of
    a prefecture-level city (市辖区), ``county`` when every one is a county or
    a county-level city (:func:`admin_kind`), else ``extent`` (unknown: the
    checker applies the county-town clauses by assumption and says so).
    ``study_extent`` is ``yes``: the polygon is the edge of the data, not of
    a plan.  ``admin`` names the divisions.  ``population`` stays empty: the
    only figure in an extract is the GeoNames city total of its ``centre``
    layer, which covers far more than the extent.
    """
    kinds = np.full(len(extent), "extent", dtype=object)
    names = np.full(len(extent), "", dtype=object)
    if admin is not None and not admin.empty:
        admin = admin[~(_text(admin, "adcode").str.endswith("00").fillna(False))]
        admin = admin.reset_index(drop=True)
        metric = extent.estimate_utm_crs()
        ext_m = extent.to_crs(metric).geometry.to_numpy()
        adm_m = admin.to_crs(metric).geometry.to_numpy()
        e_i, a_i = shapely.STRtree(adm_m).query(ext_m, predicate="intersects")
        share = shapely.area(shapely.intersection(ext_m[e_i], adm_m[a_i])) / np.maximum(
            shapely.area(ext_m[e_i]), 1e-9
        )
        real = share > 0.001  # slivers along a shared border are not overlap
        e_i, a_i = e_i[real], a_i[real]
        kind = admin_kind(admin).to_numpy(dtype=object)[a_i]
        label = (_text(admin, "city").fillna("") + _text(admin, "district").fillna("")).to_numpy(
            dtype=object
        )[a_i]
        pairs = pd.DataFrame({"e": e_i, "kind": kind, "label": label})
        agree = pairs.groupby("e")["kind"].agg(
            lambda k: k.iloc[0] if k.notna().all() and k.nunique() == 1 else "extent"
        )
        kinds[agree.index.to_numpy(dtype=int)] = agree.to_numpy(dtype=object)
        joined = pairs.groupby("e")["label"].agg("、".join)
        names[joined.index.to_numpy(dtype=int)] = joined.to_numpy(dtype=object)
    return _frame(
        extent,
        {
            "kind": kinds,
            "study_extent": "yes",
            "admin": names,
            "name": _text(extent, "name"),
            "note": "study area of the OpenStreetMap extract; " + _text(extent, "note").fillna(""),
            "population": np.nan,
        },
    )


def facility_kinds(src: gpd.GeoDataFrame) -> tuple[pd.Series, pd.Series]:
    """Life-circle facility kind of OSM features, and the tag it comes from.

    The first tag that maps wins: ``amenity`` (:data:`AMENITY_FACILITY_KINDS`),
    then ``social_facility`` / ``social_facility:for=senior`` of an
    ``amenity=social_facility`` (:data:`SOCIAL_FACILITY_KINDS`), ``healthcare``,
    ``shop``, ``leisure``.  Values are compared lower-case.

    Parameters
    ----------
    src : geopandas.GeoDataFrame
        An OSM layer with tags as columns and/or a ``tags`` JSON text column.

    Returns
    -------
    kind : pandas.Series
        Kind per feature (``string``), missing where no tag maps.
    osm_tag : pandas.Series
        ``key=value`` of the tag that gave the kind, missing likewise.
    """
    amenity = _tag(src, "amenity").str.lower()
    social = _tag(src, "social_facility").str.lower()
    social_for = _tag(src, "social_facility:for").str.lower()
    is_social = (amenity == "social_facility").fillna(False)
    senior = is_social & (social_for == "senior").fillna(False)
    candidates = [  # (kind, tag text) in order of precedence
        (amenity.map(AMENITY_FACILITY_KINDS), "amenity=" + amenity),
        (social.map(SOCIAL_FACILITY_KINDS).where(is_social), "social_facility=" + social),
        (
            pd.Series("elderly_care", index=src.index, dtype="string").where(senior),
            pd.Series("social_facility:for=senior", index=src.index),
        ),
    ]
    for key, table in (
        ("healthcare", HEALTHCARE_FACILITY_KINDS),
        ("shop", SHOP_FACILITY_KINDS),
        ("leisure", LEISURE_FACILITY_KINDS),
    ):
        value = _tag(src, key).str.lower()
        candidates.append((value.map(table), key + "=" + value))
    kind = pd.Series(pd.NA, index=src.index, dtype="string")
    tag = pd.Series(pd.NA, index=src.index, dtype="string")
    for k, t in candidates:  # a handful of tags, not features
        k = k.astype("string")
        take = kind.isna() & k.notna()
        kind = kind.mask(take, k)
        tag = tag.mask(take, t.astype("string"))
    return kind, tag


def facilities_from_osm(layers: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """``facilities`` from OSM amenity areas, amenity nodes and green areas.

    Each feature gets the life-circle ``kind`` of :func:`facility_kinds`
    (table in the module docstring); features without one are dropped.
    ``osm_amenity`` keeps the ``amenity`` value, ``osm_tag`` the tag that gave
    the kind.  Geometries stay as mapped (Points and Polygons together).

    Parameters
    ----------
    layers : list of geopandas.GeoDataFrame
        The source's ``amenity``, ``amenity_points`` and ``green`` layers, any
        of them missing, in one CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``kind``, ``name``, ``osm_amenity``, ``osm_tag``,
        ``osm_type``, ``osm_id``; empty when no feature maps.
    """
    frames = []
    for src in layers:  # three layers at most
        kind, tag = facility_kinds(src)
        frame = _frame(
            src,
            {
                "kind": kind,
                "name": _tag(src, "name"),
                "osm_amenity": _tag(src, "amenity"),
                "osm_tag": tag,
                **_ids(src),
            },
        )
        frames.append(frame[kind.notna().to_numpy()])
    if not frames:
        return gpd.GeoDataFrame(
            {c: [] for c in ("kind", "name", "osm_amenity", "osm_tag", "osm_type", "osm_id")},
            geometry=[],
            crs=OSM_CRS,
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


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
        ``extent``, ``amenity``, ``amenity_points`` (any may be missing; at
        least one of :data:`OSM_LAYERS` must be there), OSM keys as columns
        (or in a ``tags`` JSON column), in EPSG:4326 (layers in another CRS
        are reprojected to EPSG:4326; a layer without a CRS is an error).
        Only read, never modified.
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
    ``extent`` (the study area, its ``kind`` from the county-level divisions
    of the source's ``boundary`` layer it overlaps, :func:`boundary_from_extent`;
    without the ``centre`` layer's GeoNames city population), ``parcels``,
    ``roads``, ``squares``, ``green_spaces``, ``buildings``; a layer is left
    out when its OSM layer is missing or empty.
    ``facilities`` (life-circle facilities, :func:`facilities_from_osm`) from
    ``amenity``, ``amenity_points`` and ``green``, left out when none of their
    features maps to a facility kind.
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
        if src.empty:
            continue
        if scheme_layer == "boundary":
            admin = _read_layer(source, "boundary", ()) if "boundary" in names else None
            layers[scheme_layer] = boundary_from_extent(src, admin)
        else:
            layers[scheme_layer] = convert(src)  # type: ignore[operator]
    if not layers:
        raise InputError(f"{source}: every OSM layer is empty; expected {_EXPECTED} with features")
    facilities = facilities_from_osm(
        [_read_layer(source, n, ()) for n in FACILITY_LAYERS if n in names]
    )
    if not facilities.empty:
        layers["facilities"] = facilities

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{dest.parent}: cannot create the folder ({_one_line(exc)})") from exc
    tmp = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:12]}.tmp.gpkg")
    try:
        for name, gdf in layers.items():  # seven layers at most
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", DESCRIPTION=ATTRIBUTION)
        os.replace(tmp, dest)
    except Exception as exc:
        _remove(tmp)
        raise OutputError(f"{dest}: cannot be written ({_one_line(exc)})") from exc
    return dest
