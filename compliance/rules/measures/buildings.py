"""Measures of buildings: height, storeys, floor area, use, distances between footprints.

Every function takes the ``buildings`` layer of a scheme (footprint Polygons
or MultiPolygons in a projected metric CRS, fields as in
:data:`compliance.reading.scheme.LAYERS`) and returns values aligned with its index.
A value taken from an attribute is data; a value derived from another one
(height from storeys × storey height, storeys from height ÷ storey height,
floor area from footprint × storeys) is an estimate, and the functions say
which through an ``estimated`` mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Building ``use`` values taken as residential (lower case; Chinese as written).
RESIDENTIAL_USES: tuple[str, ...] = (
    "residential",
    "apartments",
    "house",
    "dormitory",
    "detached",
    "terrace",
    "住宅",
    "居住",
)

#: Storey height assumed when converting between height and storeys, m.
DEFAULT_FLOOR_HEIGHT_M = 3.0

#: Text values read as true in boolean fields (as :mod:`compliance.reading.scheme` reads them).
_TRUTHY = ("1", "-1", "true", "yes", "y", "t", "是", "新建")


class Estimate(NamedTuple):
    """Values with a mask of those that rest on an estimate.

    Attributes
    ----------
    values : pandas.Series
        Float values aligned with the input; NaN where neither the attribute
        nor the data to estimate it is present.
    estimated : pandas.Series
        Bool, True where the value was derived rather than read.
    """

    values: pd.Series
    estimated: pd.Series


def numeric_field(buildings: pd.DataFrame, field: str) -> pd.Series:
    """A numeric field as floats aligned with ``buildings`` (NaN when missing or absent)."""
    if field not in buildings.columns:
        return pd.Series(np.nan, index=buildings.index, dtype=float)
    return pd.to_numeric(buildings[field], errors="coerce").astype(float)


def normalised_text(values: pd.Series) -> pd.Series:
    """Text stripped and lower-cased, ``<NA>`` for missing or blank values.

    Parameters
    ----------
    values : pandas.Series
        Any text field (``use``, ``investor``).

    Returns
    -------
    pandas.Series
        ``string`` dtype, aligned with ``values``.
    """
    text = values.astype("string").str.strip().str.lower()
    return text.mask(text == "")


def normalised_uses(uses: Iterable[str]) -> list[str]:
    """``uses`` stripped and lower-cased, as :func:`normalised_text` compares them."""
    return [str(u).strip().lower() for u in uses]


def use_in(buildings: pd.DataFrame, uses: Iterable[str] | None, field: str = "use") -> pd.Series:
    """Whether each building's use (or another text field) is one of ``uses``.

    The comparison is case-insensitive on the stripped text.

    Parameters
    ----------
    buildings : pandas.DataFrame or geopandas.GeoDataFrame
        Buildings with a text ``field``.
    uses : iterable of str or None
        Accepted values; None accepts every building, whatever its use.
    field : str
        The text field: ``use`` (default) or ``investor``.

    Returns
    -------
    pandas.Series
        Bool aligned with ``buildings``; False where the field is missing
        (see :func:`has_text`) unless ``uses`` is None.

    Raises
    ------
    KeyError
        ``uses`` is given and ``buildings`` has no column ``field``.
    """
    if uses is None:
        return pd.Series(True, index=buildings.index)
    text = normalised_text(buildings[field])
    return text.isin(normalised_uses(uses)).fillna(False).astype(bool)


def has_text(buildings: pd.DataFrame, field: str = "use") -> pd.Series:
    """Whether each building has a non-blank value in a text field (False if no such column)."""
    if field not in buildings.columns:
        return pd.Series(False, index=buildings.index)
    return normalised_text(buildings[field]).notna().astype(bool)


def flag(buildings: pd.DataFrame, field: str) -> pd.Series | None:
    """A boolean field (``is_new``, ``solar_thermal``, ``demolished``) as bools.

    Missing values are False.  Text is read as :mod:`compliance.reading.scheme` reads
    it (``1``, ``true``, ``yes``, ``是``, ``新建`` … are true).

    Returns
    -------
    pandas.Series or None
        Bool aligned with ``buildings``; None when the column is absent, so
        that a caller can tell "field absent" from False.
    """
    if field not in buildings.columns:
        return None
    values = buildings[field]
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(values):
        return (values.fillna(0) != 0).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    return text.isin(_TRUTHY).fillna(False).astype(bool)


def storeys_from_height(height_m: pd.Series | np.ndarray, floor_height_m: float) -> np.ndarray:
    """Storeys of a building of a given height: height ÷ storey height, rounded up.

    The quotient is rounded to 6 decimals first, so that 54 m at 3 m gives
    18 storeys, not 19 from floating-point noise.
    """
    q = np.asarray(height_m, dtype=float) / floor_height_m
    return np.ceil(np.round(q, 6))


def height_m(buildings: pd.DataFrame, floor_height_m: float = DEFAULT_FLOOR_HEIGHT_M) -> Estimate:
    """Height of each building, m.

    The ``height_m`` attribute; else ``floors`` × ``floor_height_m``
    (estimated).

    Parameters
    ----------
    buildings : pandas.DataFrame or geopandas.GeoDataFrame
        Buildings with ``height_m`` (m) and/or ``floors`` (storeys above ground).
    floor_height_m : float
        Storey height assumed for the estimate, m (3 m is common for housing).

    Returns
    -------
    Estimate
        ``values`` in metres (NaN when both fields are missing) and the
        ``estimated`` mask.
    """
    attr = numeric_field(buildings, "height_m")
    from_floors = numeric_field(buildings, "floors") * floor_height_m
    estimated = attr.isna() & from_floors.notna()
    return Estimate(attr.fillna(from_floors).rename("height_m"), estimated.rename("estimated"))


def storeys(buildings: pd.DataFrame, floor_height_m: float = DEFAULT_FLOOR_HEIGHT_M) -> Estimate:
    """Storeys (floors above ground) of each building.

    The ``floors`` attribute; else ``height_m`` ÷ ``floor_height_m`` rounded
    up (estimated, :func:`storeys_from_height`).

    Parameters
    ----------
    buildings : pandas.DataFrame or geopandas.GeoDataFrame
        Buildings with ``floors`` and/or ``height_m`` (m).
    floor_height_m : float
        Storey height assumed for the estimate, m.

    Returns
    -------
    Estimate
        ``values`` in storeys (NaN when both fields are missing) and the
        ``estimated`` mask.
    """
    attr = numeric_field(buildings, "floors")
    from_height = pd.Series(
        storeys_from_height(numeric_field(buildings, "height_m"), floor_height_m),
        index=buildings.index,
    )
    estimated = attr.isna() & from_height.notna()
    return Estimate(attr.fillna(from_height).rename("floors"), estimated.rename("estimated"))


def floor_area_m2(
    buildings: gpd.GeoDataFrame, floor_height_m: float = DEFAULT_FLOOR_HEIGHT_M
) -> Estimate:
    """Gross floor area (建筑面积) of each building, m².

    The ``floor_area_m2`` attribute; else the footprint area × storeys
    (:func:`storeys`, itself possibly estimated from height), estimated.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprint Polygons or MultiPolygons in a projected CRS with metre
        units, with ``floor_area_m2`` (m²), ``floors`` and/or ``height_m`` (m).
    floor_height_m : float
        Storey height for storeys estimated from height, m.

    Returns
    -------
    Estimate
        ``values`` in m² (NaN when neither the attribute nor storeys are
        known) and the ``estimated`` mask.
    """
    attr = numeric_field(buildings, "floor_area_m2")
    levels = storeys(buildings, floor_height_m).values
    from_footprint = buildings.geometry.area * levels
    estimated = attr.isna() & from_footprint.notna()
    return Estimate(
        attr.fillna(from_footprint).rename("floor_area_m2"), estimated.rename("estimated")
    )


class Nearest(NamedTuple):
    """For each geometry, the nearest other one.

    Attributes
    ----------
    distance_m : numpy.ndarray
        Shortest distance between the geometries, m; NaN where there is none.
    position : numpy.ndarray
        Position of the nearest geometry in the target array; -1 where none.
    """

    distance_m: np.ndarray
    position: np.ndarray


def nearest_other_m(geoms: gpd.GeoSeries | np.ndarray) -> Nearest:
    """Distance from each footprint to the nearest other footprint of the same set, m.

    Distances are between the geometries (0 when they touch), not between
    centroids: exact for any polygons.  An STRtree query; a geometry equal to
    the one asked about is not its own neighbour.

    Parameters
    ----------
    geoms : geopandas.GeoSeries or numpy.ndarray of shapely geometries
        Footprints in a projected metric CRS.

    Returns
    -------
    Nearest
        ``distance_m`` (NaN for a lone geometry) and the position of the
        nearest other one (-1 for a lone geometry).
    """
    arr = np.asarray(geoms.to_numpy() if isinstance(geoms, gpd.GeoSeries) else geoms)
    n = len(arr)
    distance = np.full(n, np.nan)
    index = np.full(n, -1, dtype=int)
    if n < 2:
        return Nearest(distance, index)
    tree = shapely.STRtree(arr)
    pairs, dist = tree.query_nearest(arr, all_matches=False, return_distance=True, exclusive=True)
    distance[pairs[0]] = dist
    index[pairs[0]] = pairs[1]
    return Nearest(distance, index)


def nearest_m(geoms: gpd.GeoSeries | np.ndarray, targets: gpd.GeoSeries | np.ndarray) -> Nearest:
    """Distance from each geometry to the nearest target, m (0 inside or touching).

    Parameters
    ----------
    geoms : geopandas.GeoSeries or numpy.ndarray
        Footprints in a projected metric CRS.
    targets : geopandas.GeoSeries or numpy.ndarray
        Polygons (e.g. height-control zones) in the same CRS.

    Returns
    -------
    Nearest
        ``distance_m`` (NaN when there is no target) and the position of the
        nearest target (-1 when none).
    """
    arr = np.asarray(geoms.to_numpy() if isinstance(geoms, gpd.GeoSeries) else geoms)
    tgt = np.asarray(targets.to_numpy() if isinstance(targets, gpd.GeoSeries) else targets)
    distance = np.full(len(arr), np.nan)
    index = np.full(len(arr), -1, dtype=int)
    if len(arr) == 0 or len(tgt) == 0:
        return Nearest(distance, index)
    pairs, dist = shapely.STRtree(tgt).query_nearest(arr, all_matches=False, return_distance=True)
    distance[pairs[0]] = dist
    index[pairs[0]] = pairs[1]
    return Nearest(distance, index)


def zone_of(zones: gpd.GeoSeries | gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> np.ndarray:
    """The zone each building lies in, by its representative point.

    A point on the border of two zones goes to the first of them.

    Parameters
    ----------
    zones : geopandas.GeoSeries or geopandas.GeoDataFrame
        Polygons (renewal units, boundary) in a projected metric CRS.
    buildings : geopandas.GeoDataFrame
        Footprints in the same CRS.

    Returns
    -------
    numpy.ndarray
        Position (0-based) of the zone in ``zones`` for each building, -1
        for a building in no zone.
    """
    points = buildings.geometry.representative_point().to_numpy()
    out = np.full(len(points), -1, dtype=int)
    if len(points) == 0 or len(zones) == 0:
        return out
    tree = shapely.STRtree(zones.geometry.to_numpy())
    b, z = tree.query(points, predicate="intersects")
    order = np.lexsort((z, b))  # by building, then zone: first zone wins
    b, z = b[order], z[order]
    first = np.r_[True, b[1:] != b[:-1]]
    out[b[first]] = z[first]
    return out


#: District kinds (``districts.kind``) by what the plans call them; a value is
#: compared case-insensitively on the stripped text.  A district without a kind
#: is a residential district (居住小区).
DISTRICT_KINDS: dict[str, tuple[str, ...]] = {
    "residential": (
        "居住小区",
        "小区",
        "居住区",
        "住宅小区",
        "residential",
        "residential_district",
    ),
    "new_urban": ("城市新建区", "新建区", "新区", "new_urban", "new_urban_area"),
    "eco": ("绿色生态城区", "生态城区", "eco", "green_eco_district", "eco_district"),
}


def district_kind(districts: pd.DataFrame) -> pd.Series:
    """The kind of each district: ``residential``, ``new_urban``, ``eco`` or ``<NA>``.

    From ``kind`` by :data:`DISTRICT_KINDS`; a district without a ``kind``
    (no field, or blank) is ``residential``; an unknown kind is ``<NA>``.
    """
    out = pd.Series("residential", index=districts.index, dtype="string")
    if "kind" not in districts.columns:
        return out
    text = normalised_text(districts["kind"])
    lookup = {v.lower(): k for k, values in DISTRICT_KINDS.items() for v in values}
    mapped = text.str.lower().map(lookup).astype("string")
    return mapped.where(text.notna(), out)


def district_floor_areas(
    districts: gpd.GeoDataFrame, floor_area: Estimate, pairs: np.ndarray
) -> pd.DataFrame:
    """Gross floor area (建筑面积) of each district, m², and whether it is complete.

    A district's ``floor_area_m2`` attribute when given; else the sum of the
    floor areas of the buildings whose representative point lies in it (all
    buildings, new or not: a 居住小区 of 5万平方米 is counted whole).

    Parameters
    ----------
    districts : geopandas.GeoDataFrame
        Polygons or MultiPolygons in a projected metric CRS, optional
        ``floor_area_m2`` (m²).
    floor_area : Estimate
        Floor area of each building, m² (:func:`floor_area_m2`).
    pairs : numpy.ndarray of int, shape (2, k)
        Which building lies in which district (:func:`building_districts`).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``districts``: ``floor_area_m2`` (m²; the sum of the known
        values, a lower bound when some are missing), ``complete`` (no
        building inside lacks a floor area, or the attribute was given) and
        ``estimated`` (rests on an estimated building floor area).
    """
    n = len(districts)
    given = numeric_field(districts, "floor_area_m2").to_numpy(dtype=float)
    total: np.ndarray = np.zeros(n)
    missing = np.zeros(n, dtype=bool)
    estimated = np.zeros(n, dtype=bool)
    bi, di = pairs
    if len(bi):
        values = floor_area.values.to_numpy(dtype=float)[bi]
        total = np.bincount(di, weights=np.nan_to_num(values), minlength=n).astype(float)
        missing = np.bincount(di, weights=np.isnan(values), minlength=n) > 0
        est = floor_area.estimated.to_numpy(dtype=bool)[bi]
        estimated = np.bincount(di, weights=est, minlength=n) > 0
    has = ~np.isnan(given)
    return pd.DataFrame(
        {
            "floor_area_m2": np.where(has, given, total),
            "complete": has | ~missing,
            "estimated": ~has & estimated,
        },
        index=districts.index,
    )


def building_districts(buildings: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> np.ndarray:
    """Pairs (building position, district position): the district holds the building.

    A building lies in a district when its representative point
    (``point_on_surface``) is inside it; one building may lie in several
    overlapping districts.

    Returns
    -------
    numpy.ndarray of int, shape (2, k)
        Row 0 building positions, row 1 district positions.
    """
    if len(buildings) == 0 or len(districts) == 0:
        return np.zeros((2, 0), dtype=np.int64)
    points = shapely.point_on_surface(buildings.geometry.to_numpy())
    tree = shapely.STRtree(districts.geometry.to_numpy())
    return np.asarray(tree.query(points, predicate="within"), dtype=np.int64)
