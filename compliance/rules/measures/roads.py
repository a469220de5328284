"""Measures of roads: red-line width (道路红线宽度)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd


def strip_width_m(polygons: gpd.GeoSeries) -> pd.Series:
    """Width of road-land polygons measured across their centreline, in metres.

    The polygon is taken as a strip of constant width ``w`` along a centreline
    of length ``L``: area ``A = w·L`` and perimeter ``P ≈ 2(L + w)``, so
    ``w = (P − √(P² − 16A)) / 4``.  Exact for rectangles and for networks of
    equal-width strips (a cross of two 40 m roads measures 40 m); an estimate
    for tapering polygons.  This is the red-line (道路红线) width when the
    polygon is the road land between red lines, never the carriageway.

    Parameters
    ----------
    polygons : geopandas.GeoSeries
        Road-land Polygons or MultiPolygons, projected metric CRS.

    Returns
    -------
    pandas.Series
        ``width_m`` aligned with ``polygons``.
    """
    area = polygons.area.to_numpy()
    perim = polygons.length.to_numpy()
    disc = np.clip(perim**2 - 16.0 * area, 0.0, None)
    return pd.Series((perim - np.sqrt(disc)) / 4.0, index=polygons.index, name="width_m")
