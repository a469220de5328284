"""Choice of the measuring CRS.

Every length and area is measured in a projected metric CRS chosen once per
run: the CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554, central meridians
75°E…135°E, false easting 500 000 m, no zone prefix) whose central meridian is
nearest the centre of the data; outside China's zones, the UTM zone of the
centre.  Compare osmnx's ``projection.project_gdf``.
"""

from __future__ import annotations

import math

from pyproj import CRS

#: EPSG code of the 3-degree CGCS2000 Gauss-Krüger zone with central meridian 75°E.
GK3_FIRST_EPSG = 4534
#: Central meridians of the zones EPSG:4534 … EPSG:4554, degrees east.
GK3_FIRST_CM_DEG = 75
GK3_LAST_CM_DEG = 135


def gauss_kruger_epsg(lon_deg: float) -> int | None:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone holding a longitude.

    Parameters
    ----------
    lon_deg : float
        Longitude in degrees east (WGS 84 / CGCS2000).

    Returns
    -------
    int or None
        4534 … 4554 (central meridian ``3 * round(lon / 3)``), or None when the
        longitude lies outside 73.5°E … 136.5°E, the span of those zones.
    """
    if not math.isfinite(lon_deg):
        return None
    cm = 3 * round(lon_deg / 3)
    if cm < GK3_FIRST_CM_DEG or cm > GK3_LAST_CM_DEG:
        return None
    return GK3_FIRST_EPSG + (cm - GK3_FIRST_CM_DEG) // 3


def utm_crs(lon_deg: float, lat_deg: float) -> CRS:
    """WGS 84 / UTM zone holding a point (EPSG:326xx north, 327xx south)."""
    zone = int((lon_deg + 180) // 6) % 60 + 1
    return CRS.from_epsg((32600 if lat_deg >= 0 else 32700) + zone)


def choose_metric_crs(lon_deg: float, lat_deg: float) -> CRS:
    """The projected metric CRS the checker measures in, for data centred here.

    Parameters
    ----------
    lon_deg, lat_deg : float
        Centre of the data in degrees (EPSG:4326).

    Returns
    -------
    pyproj.CRS
        The CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534–4554) when the centre
        lies in China's longitudes (73.5°E–136.5°E, latitude 0°–60°N), else the
        WGS 84 UTM zone of the centre.
    """
    epsg = gauss_kruger_epsg(lon_deg)
    if epsg is not None and 0.0 <= lat_deg <= 60.0:
        return CRS.from_epsg(epsg)
    return utm_crs(lon_deg, lat_deg)


def crs_label(crs: CRS) -> str:
    """Short human label of a CRS, e.g. ``EPSG:4547 CGCS2000 / 3-degree Gauss-Kruger CM 114E``."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} {crs.name}" if epsg else crs.name


#: Largest relative error of lengths a measuring CRS may make at the data's centre:
#: 0.1 % (1 m in a kilometre).  A CGCS2000 3-degree Gauss-Krüger zone stays within
#: 0.03 % across its zone, UTM within 0.1 % (scale 0.9996 on its central meridian).
MAX_LENGTH_ERROR = 0.001
#: Largest relative error of areas: 0.2 % (two lengths' errors).
MAX_AREA_ERROR = 0.002


def scale_errors(crs: CRS, lon_deg: float, lat_deg: float) -> tuple[float, float, float]:
    """Relative errors of lengths and areas a projected CRS makes at a point.

    Parameters
    ----------
    crs : pyproj.CRS
        A projected CRS.
    lon_deg, lat_deg : float
        The point in degrees (EPSG:4326; the datum shift is immaterial here).

    Returns
    -------
    tuple of float
        ``(meridional, parallel, areal)`` scale minus one (``0.0012`` is
        0.12 % too long), from :meth:`pyproj.Proj.get_factors`; ``inf`` where
        the CRS cannot project the point.
    """
    from pyproj import Proj

    try:
        f = Proj(crs).get_factors(lon_deg, lat_deg)
        values = (f.meridional_scale - 1.0, f.parallel_scale - 1.0, f.areal_scale - 1.0)
    except Exception:  # pyproj raises several kinds for a point the projection cannot take
        return (math.inf, math.inf, math.inf)
    return tuple(v if math.isfinite(v) else math.inf for v in values)  # type: ignore[return-value]


def measuring_crs_problem(crs: CRS, lon_deg: float, lat_deg: float) -> str | None:
    """Why a CRS cannot measure data centred at a point, or None when it can.

    Lengths must be within :data:`MAX_LENGTH_ERROR` and areas within
    :data:`MAX_AREA_ERROR` of their true size at the data's centre (scale
    factors of the projection there): Web Mercator (EPSG:3857) measures a
    plaza at 35°N 50 % too large; a Gauss-Krüger zone two zones away, 0.3 %.
    """
    meridional, parallel, areal = scale_errors(crs, lon_deg, lat_deg)
    length = max(abs(meridional), abs(parallel))
    if not math.isfinite(length) or not math.isfinite(areal):
        return f"it cannot project the data's centre ({lon_deg:.3f}°E, {lat_deg:.3f}°N)"
    if length > MAX_LENGTH_ERROR or abs(areal) > MAX_AREA_ERROR:
        return (
            f"it distorts lengths by {length:.2%} and areas by {abs(areal):.2%} at the data's "
            f"centre ({lon_deg:.3f}°E, {lat_deg:.3f}°N); a measuring CRS may distort lengths "
            f"by at most {MAX_LENGTH_ERROR:.1%} and areas by {MAX_AREA_ERROR:.1%} there"
        )
    return None


def projected_area_of_use(crs: CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use in its own coordinates (minx, miny, maxx, maxy), or None."""
    from pyproj import Transformer

    area = crs.area_of_use
    if area is None or not crs.is_projected or crs.geodetic_crs is None:
        return None
    try:
        to_crs = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        box = to_crs.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
    except Exception:  # an area the projection cannot take whole
        return None
    if not all(math.isfinite(v) for v in box):
        return None
    return (box[0], box[1], box[2], box[3])
