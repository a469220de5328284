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
