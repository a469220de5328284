"""Outputs GDAL writes through Arrow: the same files as written feature by feature."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from compliance.outputs.files import as_arrow_writes


def test_object_columns_written_as_feature_by_feature(tmp_path: Path) -> None:
    values = [2030, None, np.nan, "x", 1.5, np.int64(7), True, pd.NA, "  spaced "]
    df = gpd.GeoDataFrame(
        {
            "year": pd.Series(values, dtype=object),
            "text": [f"t{i}" for i in range(len(values))],
            "measured": np.linspace(0, 1, len(values)),
        },
        geometry=[shapely.Point(118.7, 32.0)] * (len(values) - 1) + [None],
        crs=4326,
    )
    options = {"driver": "GeoJSON", "layer_options": {"RFC7946": "YES"}}
    pyogrio.write_dataframe(df, tmp_path / "a.geojson", layer="f", **options)
    pyogrio.write_dataframe(
        as_arrow_writes(df), tmp_path / "b.geojson", layer="f", use_arrow=True, **options
    )
    written = (tmp_path / "a.geojson").read_bytes()
    assert (tmp_path / "b.geojson").read_bytes() == written
    assert b'"year": "2030"' in written and b'"year": null' in written
    # without the conversion Arrow writes the integers as numbers
    pyogrio.write_dataframe(df, tmp_path / "c.geojson", layer="f", use_arrow=True, **options)
    assert (tmp_path / "c.geojson").read_bytes() != written
    assert df["year"].iloc[0] == 2030  # the frame given is not changed
