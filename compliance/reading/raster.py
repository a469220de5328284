"""Zonal statistics of raster inputs over polygons, with partial-pixel weights.

The population raster (persons per cell), the imperviousness raster (share of
each cell that is sealed) and the land-cover raster (class codes) are read
with rasterio and summarised with exactextract, which weights every cell by
the exact fraction of it that a polygon covers.  A polygon cutting a cell in
half counts half of that cell's persons.

CRS: the raster is never resampled.  Polygons (in the scheme's projected metric
CRS) are densified to :data:`DENSIFY_M` and projected into the raster's own CRS
before the cells are weighted, so a raster in EPSG:4326 and one in a
Gauss-Krüger zone give the same sums within the cell-edge effect.  Coverage
fractions are then computed in the raster's grid, which is exact for a
projected raster and, for a geographic raster, exact up to the change of scale
across one cell (far below 0.1 % at the ~100 m cells of population grids).

Every function returns a :class:`pandas.Series` aligned with the input
polygons' index; polygons with no valid (non-nodata) cell under them get NaN,
never 0.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import InputError
from .crs import crs_label
from .scheme import RasterInput

#: Longest segment, in metres, of a polygon edge before it is projected into a
#: raster's CRS, so that edges follow the projection's curvature.
DENSIFY_M = 25.0

#: A raster input: a :class:`~compliance.reading.scheme.RasterInput` or a GeoTIFF path.
RasterLike = RasterInput | str | os.PathLike[str]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _path_of(raster: RasterLike) -> Path:
    return raster.path if isinstance(raster, RasterInput) else Path(os.fspath(raster))


def _open(raster: RasterLike) -> Any:
    """The raster opened with rasterio, or an InputError saying why it cannot be."""
    import rasterio
    from rasterio.errors import RasterioError

    path = _path_of(raster)
    role = raster.role if isinstance(raster, RasterInput) else "raster"
    try:
        src = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise InputError(
            f"{path}: the {role} raster cannot be read ({_one_line(exc)}); give a GeoTIFF"
        ) from exc
    if src.crs is None:
        src.close()
        raise InputError(
            f"{path}: the {role} raster has no CRS; define it (e.g. with gdal_edit.py -a_srs)"
        )
    return src


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Polygonal parts of each geometry as one MultiPolygon (empty when it has none).

    exactextract wants one geometry type per layer; clipping leaves Polygons,
    MultiPolygons and GeometryCollections with stray lines or points.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    flat, flat_owner = parts[polygonal], owner[polygonal]
    nested, nested_owner = shapely.get_parts(parts[~polygonal], return_index=True)
    keep = shapely.get_type_id(nested) == shapely.GeometryType.POLYGON
    flat = np.concatenate([flat, nested[keep]])
    flat_owner = np.concatenate([flat_owner, owner[~polygonal][nested_owner[keep]]])
    out = np.full(len(geoms), shapely.MultiPolygon(), dtype=object)
    if len(flat):
        order = np.argsort(flat_owner, kind="stable")
        shapely.multipolygons(flat[order], indices=flat_owner[order], out=out)
    return out


def _to_raster_crs(polygons: gpd.GeoSeries, raster_crs: CRS) -> gpd.GeoSeries:
    """Polygons projected into a raster's CRS, densified first so edges follow the projection."""
    geoms = polygons.geometry
    if CRS.from_user_input(polygons.crs).equals(raster_crs):
        return geoms.set_crs(raster_crs, allow_override=True)
    if CRS.from_user_input(polygons.crs).is_projected:
        dense = shapely.segmentize(geoms.to_numpy(), DENSIFY_M)
        geoms = gpd.GeoSeries(dense, index=geoms.index, crs=geoms.crs)
    return geoms.to_crs(raster_crs)


def _zonal(raster: RasterLike, polygons: gpd.GeoSeries, ops: Sequence[str]) -> pd.DataFrame:
    """exactextract operations per polygon, as a frame aligned with ``polygons``.

    Raises
    ------
    InputError
        The raster cannot be read or has no CRS, the polygons have no CRS, or
        no polygon overlaps the raster's extent.
    """
    from exactextract import exact_extract

    if polygons.crs is None:
        raise InputError("polygons without a CRS cannot be laid over a raster; set their CRS")
    columns = list(ops)
    if polygons.empty:
        return pd.DataFrame({op: pd.Series(dtype=float) for op in columns}, index=polygons.index)
    path = _path_of(raster)
    role = raster.role if isinstance(raster, RasterInput) else "raster"
    src = _open(raster)
    try:
        raster_crs = CRS.from_user_input(src.crs.to_wkt())
        geoms = _to_raster_crs(polygons, raster_crs)
        left, bottom, right, top = src.bounds
        extent = shapely.box(left, bottom, right, top)
        overlaps = shapely.intersects(geoms.to_numpy(), extent)
        if not overlaps.any():
            minx, miny, maxx, maxy = geoms.total_bounds
            raise InputError(
                f"{path}: the {role} raster ({crs_label(raster_crs)}, extent "
                f"{left:.6g} {bottom:.6g} {right:.6g} {top:.6g}) does not overlap the "
                f"polygons (extent {minx:.6g} {miny:.6g} {maxx:.6g} {maxy:.6g} in the "
                "raster's CRS); check that the raster covers the scheme and that its CRS is right"
            )
        multi = as_multipolygons(geoms.to_numpy())
        frame = gpd.GeoDataFrame({"_pos": np.arange(len(geoms))}, geometry=multi, crs=raster_crs)
        inside = frame[overlaps & ~shapely.is_empty(multi)]
        if inside.empty:  # the overlapping geometries hold no polygon (lines, points)
            return pd.DataFrame(index=polygons.index, columns=columns, dtype=object)
        with warnings.catch_warnings():
            # The polygons are in the raster's CRS (projected above); exactextract
            # compares WKT strings and may still warn about an equivalent definition.
            warnings.filterwarnings("ignore", message="Spatial reference system", module="exact")
            out = exact_extract(src, inside, columns, include_cols=["_pos"], output="pandas")
    except InputError:
        raise
    except Exception as exc:  # GDAL and exactextract raise several error types
        raise InputError(
            f"{path}: zonal statistics over the {role} raster failed ({_one_line(exc)})"
        ) from exc
    finally:
        src.close()
    result = pd.DataFrame(index=pd.RangeIndex(len(geoms)), columns=columns, dtype=object)
    for op in columns:  # a handful of operations, not features
        result[op] = pd.Series(list(out[op]), index=out["_pos"].to_numpy(), dtype=object)
    result.index = polygons.index
    return result


def _cell_area(raster: RasterLike) -> float:
    src = _open(raster)
    try:
        return float(abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d))
    finally:
        src.close()


def zonal_sum(raster: RasterLike, polygons: gpd.GeoSeries) -> pd.Series:
    """Sum of cell values under each polygon, each cell weighted by the share covered.

    For a population raster (persons per cell) this is the number of persons
    in each polygon, assuming persons spread evenly within a cell: a polygon
    covering half a cell gets half its persons (exactextract ``sum``).

    Parameters
    ----------
    raster : RasterInput or path
        A single-band GeoTIFF with a CRS; nodata cells are left out.
    polygons : geopandas.GeoSeries
        Polygons or MultiPolygons with a CRS (normally the scheme's projected
        metric CRS).  They are densified to :data:`DENSIFY_M` metres and
        projected into the raster's CRS; the raster is never resampled.

    Returns
    -------
    pandas.Series
        ``zonal_sum`` (raster units × cells, e.g. persons), float, aligned with
        ``polygons``; NaN where no valid cell lies under the polygon.

    Raises
    ------
    InputError
        The raster cannot be read or has no CRS, or no polygon overlaps it.
    """
    stats = _zonal(raster, polygons, ["sum", "count"])
    total = pd.to_numeric(stats["sum"], errors="coerce").astype(float)
    count = pd.to_numeric(stats["count"], errors="coerce").astype(float)
    return total.where(count > 0).rename("zonal_sum")


def zonal_mean(raster: RasterLike, polygons: gpd.GeoSeries) -> pd.Series:
    """Coverage-weighted mean of cell values under each polygon, nodata left out.

    Parameters
    ----------
    raster : RasterInput or path
        A single-band GeoTIFF with a CRS.
    polygons : geopandas.GeoSeries
        Polygons with a CRS; projected into the raster's CRS as in :func:`zonal_sum`.

    Returns
    -------
    pandas.Series
        ``zonal_mean`` in the raster's units, aligned with ``polygons``; NaN
        where no valid cell lies under the polygon.

    Raises
    ------
    InputError
        The raster cannot be read or has no CRS, or no polygon overlaps it.
    """
    stats = _zonal(raster, polygons, ["mean", "count"])
    mean = pd.to_numeric(stats["mean"], errors="coerce").astype(float)
    count = pd.to_numeric(stats["count"], errors="coerce").astype(float)
    return mean.where(count > 0).rename("zonal_mean")


def class_share(raster: RasterLike, polygons: gpd.GeoSeries, classes: Sequence[float]) -> pd.Series:
    """Share of each polygon's area whose cells hold one of the given classes.

    Parameters
    ----------
    raster : RasterInput or path
        A single-band land-cover GeoTIFF of class codes with a CRS, e.g. ESA
        WorldCover 2020/2021 (10 tree cover, 20 shrubland, 30 grassland,
        40 cropland, 50 built-up, 60 bare, 70 snow, 80 water, 90 wetland,
        95 mangroves, 100 moss).
    polygons : geopandas.GeoSeries
        Polygons with a CRS; projected into the raster's CRS as in :func:`zonal_sum`.
    classes : sequence of number
        Class codes counted.

    Returns
    -------
    pandas.Series
        ``class_share``, 0–1, aligned with ``polygons``: coverage-weighted
        area of cells in ``classes`` ÷ coverage-weighted area of valid cells
        (nodata cells are in neither); NaN where no valid cell lies under the
        polygon.

    Raises
    ------
    InputError
        The raster cannot be read or has no CRS, or no polygon overlaps it.
    """
    stats = _zonal(raster, polygons, ["unique", "frac"])
    pairs = pd.DataFrame(
        {"_row": np.arange(len(stats)), "unique": stats["unique"].to_numpy(), "frac": stats["frac"]}
    )
    pairs["unique"] = pairs["unique"].map(_as_list)
    pairs["frac"] = pairs["frac"].map(_as_list)
    long = pairs.explode(["unique", "frac"]).dropna(subset=["unique"])
    counted = long["unique"].astype(float).isin([float(c) for c in classes])
    share = long["frac"].astype(float).where(counted, 0.0).groupby(long["_row"]).sum()
    out = share.reindex(np.arange(len(stats)))
    return pd.Series(out.to_numpy(dtype=float), index=polygons.index, name="class_share")


def _as_list(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return list(np.asarray(value).ravel())


def covered_share(raster: RasterLike, polygons: gpd.GeoSeries) -> pd.Series:
    """Share of each polygon's area lying over valid (non-nodata) raster cells.

    Parameters
    ----------
    raster : RasterInput or path
        A single-band GeoTIFF with a CRS.
    polygons : geopandas.GeoSeries
        Polygons with a CRS; projected into the raster's CRS as in :func:`zonal_sum`.

    Returns
    -------
    pandas.Series
        ``covered_share``, 0–1, aligned with ``polygons``: the covered cell
        fractions of valid cells × cell area ÷ polygon area, both in the
        raster's CRS.  Below 1 where the polygon reaches beyond the raster or
        over nodata cells, so that a sum from the raster undercounts there.

    Raises
    ------
    InputError
        The raster cannot be read or has no CRS, or no polygon overlaps it.
    """
    stats = _zonal(raster, polygons, ["count"])
    count = pd.to_numeric(stats["count"], errors="coerce").astype(float).fillna(0.0)
    src = _open(raster)
    try:
        raster_crs = CRS.from_user_input(src.crs.to_wkt())
    finally:
        src.close()
    geoms = _to_raster_crs(polygons, raster_crs)
    area = shapely.area(geoms.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(count.to_numpy() * _cell_area(raster) / area, 0.0, 1.0)
    return pd.Series(share, index=polygons.index, name="covered_share")


def impervious_percent(raster: RasterLike, polygons: gpd.GeoSeries) -> tuple[pd.Series, str]:
    """Coverage-weighted mean imperviousness under each polygon, in %.

    Parameters
    ----------
    raster : RasterInput or path
        Single-band GeoTIFF of the impervious (sealed) share of each cell,
        either as a fraction 0–1 or as a percentage 0–100 (e.g. Copernicus
        HRL Imperviousness Density).  The scale is read from the data: when no
        valid cell under the polygons exceeds 1, the values are fractions.
    polygons : geopandas.GeoSeries
        Polygons with a CRS; projected into the raster's CRS as in :func:`zonal_sum`.

    Returns
    -------
    percent : pandas.Series
        ``impervious_pct``, 0–100, aligned with ``polygons``; NaN where no
        valid cell lies under the polygon.
    scale : str
        ``"fraction 0–1"`` or ``"percent 0–100"``: how the values were read.

    Raises
    ------
    InputError
        The raster cannot be read, has no CRS, does not overlap the polygons,
        or holds values outside 0–100.
    """
    stats = _zonal(raster, polygons, ["mean", "max", "min", "count"])
    count = pd.to_numeric(stats["count"], errors="coerce").astype(float)
    valid = count > 0
    mean = pd.to_numeric(stats["mean"], errors="coerce").astype(float).where(valid)
    top = pd.to_numeric(stats["max"], errors="coerce").astype(float).where(valid).max()
    low = pd.to_numeric(stats["min"], errors="coerce").astype(float).where(valid).min()
    if (pd.notna(top) and top > 100.0) or (pd.notna(low) and low < 0.0):
        raise InputError(
            f"{_path_of(raster)}: the impervious raster holds values from {low:g} to {top:g}; "
            "expected the impervious share of each cell, 0–1 or 0–100 (set nodata for the rest)"
        )
    as_fraction = pd.isna(top) or top <= 1.0
    factor = 100.0 if as_fraction else 1.0
    scale = "fraction 0–1" if as_fraction else "percent 0–100"
    return (mean * factor).rename("impervious_pct"), scale
