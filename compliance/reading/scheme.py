"""Reading a scheme (方案): one GeoPackage with layers, or a folder of vector files.

The layers and fields are those of ``spec/CONTRACT.md``; Chinese layer and
field names are recognised or mapped (:mod:`compliance.reading.fields`).  Reading
checks each layer's CRS, geometry types and numeric fields (numbers written as
text with units are converted, :mod:`compliance.reading.quantities`), repairs invalid
geometries with ``make_valid``, drops what cannot be used with a warning, and
brings every layer into one projected metric CRS chosen for the data
(:func:`compliance.reading.crs.choose_metric_crs`).

Real planning data is messy; what reading does about each kind of mess:

- no CRS, a CRS that cannot be transformed, coordinates a CRS in degrees
  cannot hold, a truncated or corrupt GeoPackage, a layer with no feature of
  its geometry type, text that is not a number in a numeric field:
  :class:`~compliance.errors.InputError` (one line, the CLI exits 2);
- layers in different CRSs: reprojected, with a note;
- invalid geometries (self-intersection, bow-tie): repaired with
  ``make_valid``; unclosed rings: closed; null and empty geometries, features
  of a type the layer cannot hold, zero-area slivers: dropped; negative or
  absurd values: ignored (NaN) — each with a warning;
- Z and M coordinates: dropped (measured in 2-D), multi-part features: kept;
- a Shapefile without ``.cpg`` whose text is GBK: read as GB18030; without
  ``.shx``: the index rebuilt in a temporary copy; without ``.dbf``: refused
  (the fields cannot be recovered);
- an empty layer: treated as absent, with a note.

Input files are only ever opened for reading; nothing is written beside them.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from ..errors import InputError
from .contract import LAYERS, POLYGON, LayerSpec
from .crs import choose_metric_crs, crs_label
from .fields import (
    FieldMap,
    contract_layer,
    load_field_map,
    resolve_fields,
    translate_values,
)
from .quantities import BOUNDS, DIMENSION_NAMES, FIELD_DIMENSIONS, implausible, parse_column

#: Raster roles and the file stems a scheme folder may hold them under.
RASTER_ROLES: dict[str, tuple[str, ...]] = {
    "population": ("population",),  # persons per cell
    "impervious": ("impervious", "imperviousness"),  # impervious share per cell, 0–1 or 0–100
    "landcover": ("landcover", "land_cover"),  # land-cover class codes
}
RASTER_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class RasterInput:
    """A raster input: where it is and what it is, checked when the scheme is read.

    Attributes
    ----------
    role : str
        ``population`` (persons per cell), ``impervious`` (impervious share
        per cell) or ``landcover`` (class codes).
    path : pathlib.Path
    crs : pyproj.CRS
        The raster's own CRS: zonal statistics project the polygons into it,
        the raster itself is never resampled.
    nodata : float or None
    """

    role: str
    path: Path
    crs: CRS
    nodata: float | None


def _open_raster(role: str, path: Path) -> RasterInput:
    import rasterio
    from rasterio.errors import RasterioIOError

    if role not in RASTER_ROLES:
        raise InputError(
            f"{path}: unknown raster role '{role}' (expected {', '.join(RASTER_ROLES)})"
        )
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    f"{path}: the {role} raster has no CRS; "
                    "define it (e.g. with gdal_edit.py -a_srs)"
                )
            crs = CRS.from_user_input(src.crs.to_wkt())
            nodata = src.nodata
    except RasterioIOError as exc:
        raise InputError(f"{path}: cannot be read as a raster ({_one_line(exc)})") from exc
    return RasterInput(role=role, path=path, crs=crs, nodata=nodata)


VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".geoparquet")

#: China's extent in degrees (longitude 73°E–136°E, latitude 3°N–54°N, the
#: South China Sea included): data centred outside it under a Chinese profile
#: is probably in the wrong CRS or the wrong place (:func:`far_from_china`).
CHINA_LON_DEG = (73.0, 136.0)
CHINA_LAT_DEG = (3.0, 54.0)

#: Polygons smaller than this after projection are slivers, m².
SLIVER_AREA_M2 = 0.01

#: Bytes of a .dbf scanned for its text encoding when it has no .cpg.
DBF_SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass
class Scheme:
    """A scheme's layers, all in one projected metric CRS.

    Attributes
    ----------
    layers : dict of str to geopandas.GeoDataFrame
        Contract layers present in the input, each with a ``feature_id`` column
        (the input's ``id`` field or a recognised id field such as ``DKBH``,
        else its GeoPackage FID, else the row number) and 2-D geometries of the
        layer's types in :attr:`crs`.  Empty layers are left out.
    crs : pyproj.CRS
        The measuring CRS (metres).
    source : str
        Path the scheme was read from.
    repaired : dict of str to int
        Number of invalid geometries repaired with ``make_valid``, per layer.
    dropped_empty : dict of str to int
        Number of null or empty geometries dropped, per layer.
    notes : list of str
        What reading did that a reviewer should know and that is not a fault
        of the data (reprojections, recognised field names, encodings).
    warnings : list of str
        Faults in the data that reading worked around, one line each naming
        file, layer, feature and problem (invalid geometries repaired,
        features dropped, implausible values ignored).  Counted in the summary.
    rasters : dict of str to RasterInput
        Raster inputs by role (``population``, ``impervious``, ``landcover``).
    centre_lonlat : tuple of float or None
        Centre of the data's bounding box in degrees (EPSG:4326 longitude,
        latitude); see :func:`far_from_china`.
    layer_sources : dict of str to str
        Where each layer was read from (file, and layer inside it).
    """

    layers: dict[str, gpd.GeoDataFrame]
    crs: CRS
    source: str = ""
    rasters: dict[str, RasterInput] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    dropped_empty: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    centre_lonlat: tuple[float, float] | None = None
    layer_sources: dict[str, str] = field(default_factory=dict)

    def layer(self, name: str) -> gpd.GeoDataFrame | None:
        """The named layer, or None when the scheme has no such layer or it is empty."""
        gdf = self.layers.get(name)
        if gdf is None or gdf.empty:
            return None
        return gdf

    @property
    def crs_label(self) -> str:
        """The measuring CRS as printed in every output."""
        return crs_label(self.crs)


def far_from_china(scheme: Scheme) -> bool:
    """Whether the scheme's data lies outside China (longitude 73–136°E, latitude 3–54°N).

    The checker learns the profile only after reading; for the national and
    city profiles a scheme far from China is probably in a wrong CRS (swapped
    axes, a projected CRS declared as degrees) and deserves a warning.

    Parameters
    ----------
    scheme : Scheme
        A scheme from :func:`read_scheme` (its :attr:`Scheme.centre_lonlat`).

    Returns
    -------
    bool
        True when the centre of the data lies outside :data:`CHINA_LON_DEG` ×
        :data:`CHINA_LAT_DEG`; False when it lies inside or is unknown.
    """
    if scheme.centre_lonlat is None:
        return False
    lon, lat = scheme.centre_lonlat
    inside = (
        CHINA_LON_DEG[0] <= lon <= CHINA_LON_DEG[1] and CHINA_LAT_DEG[0] <= lat <= CHINA_LAT_DEG[1]
    )
    return not inside


def far_from_china_warning(scheme: Scheme) -> str | None:
    """The warning to add under a Chinese profile when :func:`far_from_china` holds, else None."""
    if not far_from_china(scheme) or scheme.centre_lonlat is None:
        return None
    lon, lat = scheme.centre_lonlat
    return (
        f"{scheme.source}: the data lies far from China, centred at {lon:.3f}°, {lat:.3f}° "
        f"(lon, lat; China is 73–136°E, 3–54°N); check the layers' CRS "
        f"(数据不在中国境内，请检查坐标系)"
    )


@dataclass(frozen=True)
class _Source:
    """One input layer: its contract name, file, layer inside the file, and label."""

    name: str
    file: Path
    inner: str | None
    source_name: str
    how: str = "contract"  # contract, mapping or recognised

    @property
    def label(self) -> str:
        return f"'{self.inner}'" if self.inner else f"'{self.file.name}'"

    @property
    def where(self) -> str:
        text = str(self.file) + (f" layer '{self.inner}'" if self.inner else "")
        return text if self.source_name == self.name else f"{text} ({self.name})"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _check_geopackage(path: Path) -> None:
    """Refuse a truncated or corrupt GeoPackage with a one-line reason, reading it only."""
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({_one_line(exc)})") from exc
    if len(head) < 100 or not head.startswith(b"SQLite format 3\x00"):
        raise InputError(
            f"{path}: cannot be read as a GeoPackage: it is not an SQLite database "
            f"(its header is missing or damaged); export the layers again"
        )
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(head[28:32], "big")
    if head[24:28] == head[92:96] and page_count:  # the page count is valid
        expected = page_size * page_count
        size = path.stat().st_size
        if size < expected:
            raise InputError(
                f"{path}: cannot be read: the GeoPackage is truncated ({size:,} of "
                f"{expected:,} bytes); copy it again or export it again"
            )
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(
            f"{path}: cannot be read: the GeoPackage is damaged (SQLite: {_one_line(exc)}); "
            f"restore it from a backup or export it again"
        ) from exc
    if not result or result[0] != "ok":
        found = _one_line(Exception(result[0] if result else "no answer"))
        raise InputError(
            f"{path}: cannot be read: the GeoPackage is damaged (SQLite quick_check: "
            f"{found[:200]}); restore it from a backup or export it again"
        )


def _list_layers(path: Path) -> list[tuple[str, bool]]:
    """(layer name, has geometry) of every layer in a multi-layer file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Measured (M) geometry types are not supported"
            rows = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(f"{path}: cannot be read as a vector file ({_one_line(exc)})") from exc
    return [(str(n), g is not None) for n, g in rows]


def _layer_sources(path: Path, field_map: FieldMap | None, notes: list[str]) -> list[_Source]:
    """Every input layer that stands for a contract layer, one per contract layer."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give a GeoPackage or a folder of layers")
    found: list[_Source] = []
    ignored: list[str] = []

    def consider(source_name: str, file: Path, inner: str | None) -> None:
        layer, how = contract_layer(source_name, field_map)
        if layer is None:
            ignored.append(f"'{source_name}'" if inner else file.name)
        else:
            found.append(_Source(layer, file, inner, source_name, how))

    if path.is_dir():
        for f in sorted(path.iterdir()):
            if f.suffix.lower() in VECTOR_SUFFIXES and f.is_file():
                consider(f.stem, f, None)
    elif path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError(
            f"{path}: not a vector file this checker reads "
            f"(expected one of {', '.join(VECTOR_SUFFIXES)})"
        )
    elif path.suffix.lower() in (".parquet", ".geoparquet"):
        consider(path.stem, path, None)
    else:
        if path.suffix.lower() == ".gpkg":
            _check_geopackage(path)
        names = _list_layers(path)
        if path.suffix.lower() == ".gpkg" or len(names) > 1:
            for n, spatial in names:
                if spatial:
                    consider(n, path, n)
        else:
            consider(path.stem, path, None)
    if ignored and not found:
        raise InputError(
            f"{path}: no layer named as the data contract expects "
            f"({', '.join(LAYERS)}) or with a recognised Chinese name (地块, 道路, 建筑 …); "
            f"found {', '.join(ignored)}; rename the layers or files, or map them in a "
            f"mapping file (--field-map) under layers:"
        )
    if ignored:
        notes.append(
            f"{path}: not contract layers, not read: {', '.join(ignored)} "
            f"(name them in a mapping file under layers: to read them)"
        )
    by_layer: dict[str, list[_Source]] = {}
    for s in found:
        by_layer.setdefault(s.name, []).append(s)
    rank = {"mapping": 0, "contract": 1, "recognised": 2}
    chosen: list[_Source] = []
    for name, group in by_layer.items():
        best = min(rank[s.how] for s in group)
        top = [s for s in group if rank[s.how] == best]
        if len(top) > 1:
            raise InputError(
                f"{path}: {' and '.join(s.label for s in top)} are both read as the {name} "
                f"layer; keep one, or name the one to read in a mapping file (--field-map), "
                f"e.g. layers: {{{top[0].source_name}: {name}}}"
            )
        chosen.append(top[0])
        others = [s.label for s in group if s is not top[0]]
        if others:
            notes.append(f"{name}: {', '.join(others)} not read ({top[0].label} is read as {name})")
    for s in chosen:
        if s.source_name != s.name:
            notes.append(f"layer '{s.source_name}' read as {s.name}")
    order = list(LAYERS)
    return sorted(chosen, key=lambda s: order.index(s.name))


def _sidecar(shp: Path, suffix: str) -> Path | None:
    """The Shapefile's sidecar with this suffix, whatever its case."""
    for cand in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if cand.is_file():
            return cand
    return None


def _dbf_encoding(shp: Path) -> str | None:
    """The text encoding of a .dbf that has neither a .cpg nor a language driver id.

    GDAL then assumes ISO-8859-1, which turns GBK text (住宅用地) into mojibake
    without any error.  The first records holding non-ASCII bytes are decoded
    as UTF-8 and as GB18030; the one with fewer undecodable bytes wins (UTF-8
    on a tie).  Returns None when GDAL's own reading is right (a .cpg, a
    language driver id, or plain ASCII).
    """
    dbf = _sidecar(shp, ".dbf")
    if dbf is None or _sidecar(shp, ".cpg") is not None:
        return None
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32 or head[29] != 0:  # byte 29: language driver id (LDID)
            return None
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        if record_len <= 0:
            return None
        fh.seek(header_len)
        chunk_len = max(1, DBF_SAMPLE_BYTES // record_len) * record_len
        while True:
            data = fh.read(chunk_len)
            if not data:
                return None
            if not data.isascii():
                break
    bad_utf8 = data.decode("utf-8", errors="replace").count("\ufffd")
    if bad_utf8 == 0:
        return "UTF-8"
    bad_gb = data.decode("gb18030", errors="replace").count("\ufffd")
    return "GB18030" if bad_gb < bad_utf8 else None


@dataclass
class _Read:
    """A layer as read, with what reading noticed."""

    gdf: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    closed_rings: np.ndarray | None = None  # positions of features whose rings were closed
    unreadable: np.ndarray | None = None  # positions of features whose geometry GEOS refused
    unreadable_why: str = ""  # GEOS's reason, for the first of them


def _read_vector(
    file: Path, inner: str | None, encoding: str | None, **options: Any
) -> tuple[gpd.GeoDataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = pyogrio.read_dataframe(
            file, layer=inner, fid_as_index=True, encoding=encoding, **options
        )
    return gdf, [str(w.message) for w in caught]


def _read_shapefile_without_shx(file: Path, encoding: str | None) -> gpd.GeoDataFrame:
    """Read a Shapefile whose .shx is missing: GDAL rebuilds it in a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="compliance-shx-") as tmp:
        for f in file.parent.iterdir():
            if f.is_file() and f.stem == file.stem:
                shutil.copy2(f, Path(tmp) / f.name)
        copy = Path(tmp) / file.name
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        try:
            gdf, _ = _read_vector(copy, None, encoding)
        finally:
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    return gdf


def _read_source(src: _Source) -> _Read:
    """Read one layer, never writing next to the input."""
    file, where = src.file, src.where
    notes: list[str] = []
    encoding: str | None = None
    missing_shx = False
    if file.suffix.lower() == ".gpkg" and src.inner is None:
        _check_geopackage(file)
    if file.suffix.lower() == ".shp":
        missing_shx = _sidecar(file, ".shx") is None
        if _sidecar(file, ".dbf") is None:
            raise InputError(
                f"{where}: the attribute table {file.stem}.dbf is missing beside {file.name}, "
                f"so the features have no fields; copy the .dbf next to the .shp "
                f"(缺少 .dbf 属性表)"
            )
        encoding = _dbf_encoding(file)
        if encoding == "GB18030":
            notes.append(
                f"{src.name}: {file.name} has no .cpg and its text is not UTF-8; "
                f"read as GB18030 (GBK)"
            )
        elif encoding == "UTF-8":
            notes.append(f"{src.name}: {file.name} has no .cpg; its text read as UTF-8")
    closed: np.ndarray | None = None
    unreadable: np.ndarray | None = None
    why = ""
    messages: list[str] = []
    try:
        if file.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(file)
        elif missing_shx:
            gdf = _read_shapefile_without_shx(file, encoding)
            notes.append(
                f"{src.name}: {file.name} has no .shx; the index was rebuilt in a temporary "
                f"copy (restored .shx; the input is unchanged)"
            )
        else:
            try:
                gdf, messages = _read_vector(file, src.inner, encoding)
            except shapely.errors.GEOSException as exc:
                # Geometries GEOS cannot build: unclosed rings (closed here), and
                # lines or rings of a single point (nothing to repair: left out, named).
                gdf, messages = _read_vector(file, src.inner, encoding, on_invalid="fix")
                got = ~shapely.is_missing(np.asarray(gdf.geometry.array, dtype=object))
                # The stored geometries (WKB) tell the repaired from the unbuildable.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # GDAL's, already heard by _read_vector
                    _, _, stored, _ = pyogrio.raw.read(
                        file, layer=src.inner, columns=[], encoding=encoding
                    )
                as_stored = shapely.from_wkb(stored, on_invalid="ignore")
                closed = (shapely.is_missing(as_stored) & got).nonzero()[0]
                unreadable = (~pd.isna(stored) & ~got).nonzero()[0]
                why = _one_line(exc).removeprefix("IllegalArgumentException: ")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{where}: cannot be read ({_one_line(exc)})") from exc
    if any("Measured (M) geometry" in m for m in messages):
        notes.append(f"{src.name}: M (measure) values dropped; only x and y are used")
    return _Read(gdf, notes, closed, unreadable, why)


def _feature_ids(gdf: gpd.GeoDataFrame, from_gpkg: bool) -> tuple[pd.Series, bool]:
    """Feature ids, and whether an ``id`` field was there but unusable."""
    if "id" in gdf.columns:
        ids = gdf["id"]
        if ids.notna().all() and ids.is_unique:
            text = ids.astype(str)
            if pd.api.types.is_float_dtype(ids) and (ids % 1 == 0).all():
                text = ids.astype("int64").astype(str)
            return text, False
    fallback = (
        pd.Series(gdf.index.astype(str), index=gdf.index)
        if from_gpkg
        else pd.Series(np.arange(len(gdf)).astype(str), index=gdf.index)
    )
    return fallback, "id" in gdf.columns


def _first(mask: np.ndarray | pd.Series, ids: pd.Series) -> str:
    pos = np.asarray(mask, dtype=bool).nonzero()[0]
    return str(ids.iloc[int(pos[0])]) if len(pos) else ""


def _and_more(n: int) -> str:
    return f" (and {n - 1} more)" if n > 1 else ""


#: shapely type ids of the simple parts of each geometry family.
_PART_TYPE = {"Polygon": 3, "LineString": 1, "Point": 0}
_FAMILY = {
    "Polygon": "Polygon",
    "MultiPolygon": "Polygon",
    "LineString": "LineString",
    "MultiLineString": "LineString",
    "Point": "Point",
    "MultiPoint": "Point",
}


def _repair_after_projection(
    gdf: gpd.GeoDataFrame, src: Any, spec: LayerSpec, notes: list[str]
) -> gpd.GeoDataFrame:
    """Repair what reprojection made invalid (a valid sliver can cross itself once bent).

    Geometries are repaired before projection too; this second pass keeps
    every geometry the checks measure valid in the measuring CRS.
    """
    geoms = gdf.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not bad.any():
        return gdf
    fixed = _reduce_to(
        shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False), spec.geometry
    )
    geoms = geoms.copy()
    geoms[bad] = fixed
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    first = gdf["feature_id"].to_numpy()[bad][0]
    notes.append(
        f"{src.where}: {int(bad.sum())} geometries became invalid when projected and were "
        f"repaired with make_valid (first: feature {first})"
    )
    out = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return out[keep]


def _reduce_to(geoms: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    """Keep only the parts of the allowed types (polygons first, then lines, then points).

    Used on GeometryCollections (mixed parts in one feature, or what
    ``make_valid`` returns for a polygon that collapses in places); a feature
    with no allowed part becomes None.
    """
    out = np.full(len(geoms), None, dtype=object)
    if not len(geoms):
        return out
    parts, idx = shapely.get_parts(geoms, return_index=True)
    while True:  # collections may nest
        tid = shapely.get_type_id(parts)
        nested = np.isin(tid, [4, 5, 6, 7])
        if not nested.any():
            break
        sub, sidx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sidx]])
    tid = shapely.get_type_id(parts)
    keep_empty = shapely.is_empty(parts)
    filled = np.zeros(len(geoms), dtype=bool)
    make = {
        "Polygon": shapely.multipolygons,
        "LineString": shapely.multilinestrings,
        "Point": shapely.multipoints,
    }
    for family in ("Polygon", "LineString", "Point"):
        if family not in {_FAMILY[a] for a in allowed}:
            continue
        take = (tid == _PART_TYPE[family]) & ~keep_empty & ~filled[idx]
        if not take.any():
            continue
        order = np.argsort(idx[take], kind="stable")
        sel_parts, sel_idx = parts[take][order], idx[take][order]
        targets, compact = np.unique(sel_idx, return_inverse=True)
        multi = make[family](sel_parts, indices=compact)
        single = shapely.get_num_geometries(multi) == 1
        multi[single] = shapely.get_geometry(multi[single], 0)
        out[targets] = multi
        filled[targets] = True
    return out


@dataclass
class _GeometryReport:
    repaired: int = 0
    dropped_empty: int = 0


def _clean_geometry(
    gdf: gpd.GeoDataFrame, src: _Source, spec: LayerSpec, notes: list[str], warns: list[str]
) -> tuple[gpd.GeoDataFrame, _GeometryReport]:
    """2-D geometries of the layer's types, repaired; features that cannot be used dropped."""
    name, where, ids = src.name, src.where, gdf["feature_id"]
    rep = _GeometryReport()
    geoms = np.asarray(gdf.geometry.array, dtype=object).copy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    has_z = shapely.has_z(geoms) & ~missing
    if has_z.any():
        geoms[has_z] = shapely.force_2d(geoms[has_z])
        notes.append(
            f"{name}: Z coordinates dropped from {int(has_z.sum())} features (measured in 2-D)"
        )
    type_names = pd.Series(shapely.get_type_id(geoms)).map(
        {
            0: "Point",
            1: "LineString",
            2: "LinearRing",
            3: "Polygon",
            4: "MultiPoint",
            5: "MultiLineString",
            6: "MultiPolygon",
            7: "GeometryCollection",
        }
    )
    ok_type = type_names.isin(spec.geometry).to_numpy(dtype=bool)
    wrong = ~missing & ~ok_type
    expected = " or ".join(spec.geometry)
    if wrong.any():
        i = int(wrong.nonzero()[0][0])
        found = gdf.geometry.iloc[i].geom_type if gdf.geometry.iloc[i] is not None else "empty"
        if not (~missing & ok_type).any():
            raise InputError(
                f"{where}: no feature is a {expected}; feature {ids.iloc[i]} is a {found}, "
                f"expected {expected}; split or convert the layer"
            )
        n = int(wrong.sum())
        warns.append(
            f"{where}: {n} features are not {expected} and were dropped "
            f"(first: feature {ids.iloc[i]}, a {found}); 图层几何类型混杂"
        )
    usable = ~missing & ok_type
    check = geoms.copy()
    check[~usable] = None
    invalid = usable & ~shapely.is_valid(check)
    n_invalid = int(invalid.sum())
    collapsed = np.zeros(len(geoms), dtype=bool)
    if n_invalid:
        i = int(invalid.nonzero()[0][0])
        reason = shapely.is_valid_reason(geoms[i])
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        fixed_types = pd.Series(shapely.get_type_id(fixed)).map(
            {
                0: "Point",
                1: "LineString",
                3: "Polygon",
                4: "MultiPoint",
                5: "MultiLineString",
                6: "MultiPolygon",
            }
        )
        off = ~fixed_types.isin(spec.geometry).to_numpy(dtype=bool)
        if off.any():
            fixed[off] = _reduce_to(fixed[off], spec.geometry)
        geoms[invalid] = fixed
        collapsed[invalid] = shapely.is_missing(fixed) | shapely.is_empty(fixed)
        warns.append(
            f"{where}: {n_invalid} invalid geometries repaired with make_valid "
            f"(first: feature {ids.iloc[i]}, {reason}); 几何无效已修复"
        )
        if collapsed.any():
            warns.append(
                f"{where}: {int(collapsed.sum())} invalid geometries have no area or length "
                f"(zero area, collapsed when repaired) and were dropped "
                f"(first: feature {_first(collapsed, ids)}); 零面积碎片"
            )
    rep.repaired = n_invalid
    rep.dropped_empty = int(missing.sum())
    if rep.dropped_empty:
        warns.append(
            f"{where}: {rep.dropped_empty} null or empty geometries dropped "
            f"(first: feature {_first(missing, ids)}); 空几何已忽略"
        )
    keep = usable & ~collapsed
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out[keep], rep


def _parse_numbers(
    gdf: gpd.GeoDataFrame,
    src: _Source,
    spec: LayerSpec,
    sources: dict[str, str],
    notes: list[str],
) -> None:
    """Numeric fields as floats in their unit, text with units converted; booleans as bools."""
    for col in spec.numeric:
        if col not in gdf.columns:
            continue
        dim = FIELD_DIMENSIONS.get(col, "count")
        res = parse_column(gdf[col], dim)
        if res.bad_position is not None:
            value = gdf[col].iloc[res.bad_position]
            origin = sources.get(col, col)
            from_ = f" (from {origin})" if origin != col else ""
            raise InputError(
                f"{src.where}: field '{col}'{from_} holds text that is not "
                f"{DIMENSION_NAMES[dim]}: feature {gdf['feature_id'].iloc[res.bad_position]} "
                f"has {value!r} ({res.problem}){_and_more(res.bad_count)}; write a plain "
                f"number in the unit the field name gives, or a number with its unit such "
                f"as '40米', '2公顷', '18层', '1.5万'"
            )
        if res.parsed:
            notes.append(
                f"{src.name}.{col}: {res.parsed} values parsed from text with units, "
                f"e.g. {res.example}"
            )
        gdf[col] = res.values
    for col in spec.boolean:
        if col in gdf.columns and not pd.api.types.is_bool_dtype(gdf[col]):
            text = gdf[col].astype("string").str.strip().str.lower()
            truthy = text.isin(["1", "-1", "true", "yes", "y", "t", "是", "新建"])
            gdf[col] = truthy.fillna(False).astype(bool)


def _flag_implausible(
    gdf: gpd.GeoDataFrame, src: _Source, spec: LayerSpec, warns: list[str]
) -> gpd.GeoDataFrame:
    """Negative and absurd values become NaN, with a warning per field and kind."""
    area = gdf.geometry.area if set(spec.geometry) & set(POLYGON) else None
    ids = gdf["feature_id"]
    for col in spec.numeric:
        bounds = BOUNDS.get(col)
        if bounds is None or col not in gdf.columns:
            continue
        low, high = implausible(gdf[col], bounds, area)
        for mask, what in (
            (low, f"{'not above' if bounds.low_strict else 'below'} {bounds.low:g} {bounds.unit}"),
            (high, f"implausible ({bounds.reason})"),
        ):
            n = int(mask.sum())
            if not n:
                continue
            i = int(mask.to_numpy().nonzero()[0][0])
            warns.append(
                f"{src.where}: field '{col}', feature {ids.iloc[i]}: {gdf[col].iloc[i]:g} is "
                f"{what}{_and_more(n)}; value ignored (数值不合理，已忽略)"
            )
        bad = (low | high).to_numpy(dtype=bool)
        if bad.any():
            gdf = gdf.copy()
            gdf.loc[bad, col] = np.nan
    return gdf


def _prepare(
    read: _Read,
    src: _Source,
    field_map: FieldMap | None,
    notes: list[str],
    warns: list[str],
) -> tuple[gpd.GeoDataFrame, _GeometryReport] | None:
    """One layer renamed, identified, cleaned and typed; None when it has no features."""
    name, where, spec = src.name, src.where, LAYERS[src.name]
    gdf = read.gdf
    notes.extend(read.notes)
    if gdf.empty:
        notes.append(f"{name}: {where} has no features; the layer is treated as absent")
        return None
    if gdf.crs is None:
        raise InputError(
            f"{where}: has no CRS; define it (e.g. EPSG:4326 or EPSG:4547) "
            f"in the file before checking"
        )
    res = resolve_fields(
        [c for c in gdf.columns if c != gdf.geometry.name],
        name,
        (*spec.fields, "id"),
        where=where,
        field_map=field_map,
    )
    gdf = gdf.drop(columns=res.drop).rename(columns=res.renames)
    notes.extend(res.notes)
    warns.extend(res.warnings)
    ids, unusable = _feature_ids(gdf, from_gpkg=src.file.suffix.lower() == ".gpkg")
    gdf["feature_id"] = ids
    if unusable:
        by = "GeoPackage FID" if src.file.suffix.lower() == ".gpkg" else "row number"
        notes.append(
            f"{name}: field {res.sources.get('id', 'id')} has missing or repeated values; "
            f"features are identified by {by}"
        )
    if read.closed_rings is not None and len(read.closed_rings):
        n = len(read.closed_rings)
        warns.append(
            f"{where}: {n} polygon rings were not closed and have been closed "
            f"(first: feature {ids.iloc[int(read.closed_rings[0])]}); 多边形未闭合已闭合"
        )
    if read.unreadable is not None and len(read.unreadable):
        n = len(read.unreadable)
        warns.append(
            f"{where}: {n} geometries cannot be built (a line or a ring needs at least two "
            f"distinct points; GEOS: {read.unreadable_why}) and were dropped "
            f"(first: feature {ids.iloc[int(read.unreadable[0])]}); 几何无法构建已忽略"
        )
        gdf = gdf.drop(index=gdf.index[read.unreadable])
    gdf, rep = _clean_geometry(gdf, src, spec, notes, warns)
    _parse_numbers(gdf, src, spec, res.sources, notes)
    notes.extend(translate_values(gdf, name, res.sources, field_map))
    if gdf.empty:
        notes.append(f"{name}: no usable feature left in {where}; the layer is treated as absent")
        return None
    return gdf, rep


def _check_degrees(gdf: gpd.GeoDataFrame, src: _Source) -> None:
    """Refuse coordinates that cannot be degrees in a CRS in degrees (a wrong .prj)."""
    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_geographic:
        return
    b = gdf.geometry.bounds
    bad = (b["minx"] < -180.5) | (b["maxx"] > 360.5) | (b["miny"] < -90.5) | (b["maxy"] > 90.5)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{src.where}: the CRS {crs_label(crs)} is in degrees but feature "
            f"{gdf['feature_id'].iloc[i]} has coordinates like {b['minx'].iloc[i]:.0f}, "
            f"{b['miny'].iloc[i]:.0f}; the layer's CRS is wrong — define the projected "
            f"CRS the coordinates are in (e.g. EPSG:4547)"
        )


def _data_centre_lonlat(frames: Iterable[gpd.GeoDataFrame]) -> tuple[float, float]:
    boxes = []
    for gdf in frames:
        if gdf.empty:
            continue
        minx, miny, maxx, maxy = gdf.total_bounds
        box = gpd.GeoSeries([shapely.box(minx, miny, maxx, maxy)], crs=gdf.crs)
        boxes.append(box.to_crs(4326).iloc[0])
    if not boxes:
        raise InputError("the scheme has no features in any layer; nothing to check")
    minx, miny, maxx, maxy = shapely.union_all(boxes).bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        raise ValueError("coordinates are not finite in longitude/latitude")
    return (minx + maxx) / 2, (miny + maxy) / 2


def _raster_sources(path: Path, given: dict[str, str | Path] | None) -> dict[str, RasterInput]:
    found: dict[str, Path] = {}
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if f.suffix.lower() in RASTER_SUFFIXES:
                role = next((r for r, stems in RASTER_ROLES.items() if f.stem in stems), None)
                if role is not None:
                    found[role] = f
    for role, p in (given or {}).items():
        found[role] = Path(p)
    for role, p in found.items():
        if not p.is_file():
            raise InputError(f"{p}: {role} raster not found")
    return {role: _open_raster(role, p) for role, p in found.items()}


def read_scheme(
    path: str | Path,
    *,
    crs: str | int | CRS | None = None,
    rasters: dict[str, str | Path] | None = None,
    field_map: str | Path | FieldMap | None = None,
    cache: dict[Any, Any] | None = None,
) -> Scheme:
    """Read a scheme and bring it into one projected metric CRS.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoPackage whose layers are named as in the data contract
        (``boundary``, ``clusters``, ``corridors``, ``parcels``, ``roads``,
        ``squares``, ``green_spaces``, ``buildings``, ``renewal_units`` …) or
        with a recognised Chinese name (``地块``, ``道路``, ``建筑`` …, see
        :data:`compliance.reading.fields.LAYER_ALIASES`), or a folder of vector files
        (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GeoParquet) whose file
        stems are such names.  Every layer is optional.  Field names such as
        ``YDYHFLDM``, ``DLBM``, ``层数``, ``高度``, ``人口`` are recognised
        (:data:`compliance.reading.fields.FIELD_ALIASES`).
    crs : str, int or pyproj.CRS, optional
        Measuring CRS to use instead of the one chosen for the data.  Must be
        projected, in metres.
    rasters : dict of str to path, optional
        Raster inputs by role (``population``, ``impervious``, ``landcover``).
        A scheme folder's ``population.tif``, ``impervious.tif`` and
        ``landcover.tif`` are found without this.
    field_map : str, pathlib.Path or FieldMap, optional
        A mapping file (YAML) of layer and field names onto the contract, for
        names not recognised (see :class:`compliance.reading.fields.FieldMap`).
    cache : dict, optional
        Layers read before, kept between calls by a caller that reads the
        same scheme again and again (``compliance watch``): a layer of a
        GeoPackage whose rows are the same, or a layer whose file (with its
        ``-wal`` or sidecars) has the same size and modification time, as
        when it was read is not read again.  Use one dict per scheme and
        field map; it is filled here.

    Returns
    -------
    Scheme
        The layers in the measuring CRS, 2-D, with repair counts, notes and
        warnings, and the data's centre in degrees.

    Raises
    ------
    InputError
        The path does not exist, is unreadable, a truncated or damaged
        GeoPackage; a layer has no CRS, cannot be projected, has coordinates
        its CRS cannot hold, has no feature of its geometry type, or holds text
        that is not a number of the field's unit in a numeric field; two
        layers or fields stand for one contract layer or field; the mapping
        file is invalid; the scheme has no contract layer at all; ``crs`` is
        not a projected metric CRS.  The message is one line naming the file
        and layer (and the feature and value where there is one).
    """
    path = Path(path)
    fmap = (
        field_map
        if isinstance(field_map, FieldMap) or field_map is None
        else (load_field_map(field_map))
    )
    notes: list[str] = []
    warns: list[str] = []
    sources = _layer_sources(path, fmap, notes)
    raster_inputs = _raster_sources(path, rasters)
    if not sources:
        raise InputError(
            f"{path}: no layer named as the data contract expects "
            f"({', '.join(LAYERS)}) or with a recognised Chinese name (地块, 道路, 建筑 …); "
            f"rename the layers or files, or map them in a mapping file (--field-map)"
        )
    raw: dict[str, gpd.GeoDataFrame] = {}
    repaired: dict[str, int] = {}
    dropped: dict[str, int] = {}
    where_of: dict[str, str] = {}
    for src in sources:
        prepared = _prepare_cached(src, fmap, notes, warns, cache)
        if prepared is None:
            continue
        gdf, rep = prepared
        repaired[src.name], dropped[src.name] = rep.repaired, rep.dropped_empty
        raw[src.name] = gdf
        where_of[src.name] = src.where

    try:
        centre: tuple[float, float] | None = _data_centre_lonlat(raw.values())
    except InputError:
        raise
    except (CRSError, ProjError, ValueError) as exc:
        if crs is None:
            raise InputError(
                f"{path}: the layers' CRS cannot be transformed to longitude/latitude "
                f"({_one_line(exc)}); give the data in a CRS with a known datum"
            ) from exc
        centre = None
    if crs is None:
        assert centre is not None
        target = choose_metric_crs(*centre)
    else:
        try:
            target = CRS.from_user_input(crs)
        except CRSError as exc:
            raise InputError(f"--crs {crs!r} is not a CRS pyproj knows ({exc})") from exc
        if not target.is_projected or target.axis_info[0].unit_name not in ("metre", "meter"):
            raise InputError(
                f"--crs {crs!r} is not a projected CRS in metres; "
                f"give e.g. EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E)"
            )

    layers: dict[str, gpd.GeoDataFrame] = {}
    reprojected: dict[str, list[str]] = {}
    for name, gdf in raw.items():
        src = next(s for s in sources if s.name == name)
        if not CRS.from_user_input(gdf.crs).equals(target):
            reprojected.setdefault(crs_label(CRS(gdf.crs)), []).append(name)
            try:
                gdf = gdf.to_crs(target)
            except Exception as exc:
                raise InputError(
                    f"{src.where}: cannot be projected to {crs_label(target)} ({_one_line(exc)})"
                ) from exc
        if not np.isfinite(gdf.total_bounds).all():
            raise InputError(
                f"{src.where}: coordinates are not finite after projecting to "
                f"{crs_label(target)}; check the layer's CRS"
            )
        gdf = _repair_after_projection(gdf, src, LAYERS[name], notes)
        gdf = _drop_slivers(gdf, src, warns)
        gdf = _flag_implausible(gdf, src, LAYERS[name], warns)
        layers[name] = gdf.reset_index(drop=True)
    notes.extend(
        f"reprojected from {label} to {crs_label(target)}: {', '.join(names)}"
        for label, names in reprojected.items()
    )
    return Scheme(
        layers=layers,
        crs=target,
        source=str(path),
        rasters=raster_inputs,
        repaired=repaired,
        dropped_empty=dropped,
        notes=notes,
        warnings=warns,
        centre_lonlat=centre,
        layer_sources=where_of,
    )


def _file_signature(file: Path) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of a layer's file and of what changes with it.

    A GeoPackage's ``-wal`` (committed writes not yet checkpointed), a
    Shapefile's sidecars (files of the same stem); a folder's files.
    """
    if file.is_dir():  # e.g. a File Geodatabase
        files = sorted(p for p in file.rglob("*") if p.is_file())
    elif file.suffix.lower() == ".shp":
        files = sorted(p for p in file.parent.iterdir() if p.stem == file.stem)
    else:
        files = [file, file.with_name(file.name + "-wal")]
    sig = []
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        sig.append((p.name, st.st_size, st.st_mtime_ns))
    return tuple(sig)


#: GeoPackages up to this size have their layers told apart by content
#: (:func:`_layer_signature`); larger ones by the file's size and time.
CONTENT_SIGNATURE_MAX_BYTES = 64 * 1024 * 1024


def _layer_signature(src: _Source) -> object:
    """What must stay the same for a layer read before to be used again.

    A layer of a small GeoPackage: a digest of its table's rows and of its
    CRS and geometry column entries, read with SQLite (committed writes in
    the ``-wal`` included), so a save that edits one layer leaves the others
    read.  Anything else, or when SQLite cannot read the file: the file's
    :func:`_file_signature`.
    """
    import hashlib

    file = src.file
    try:
        small = (
            file.suffix.lower() == ".gpkg" and file.stat().st_size <= CONTENT_SIGNATURE_MAX_BYTES
        )
    except OSError:
        small = False
    if not small or src.inner is None:
        return _file_signature(file)
    table = src.inner.replace('"', '""')
    try:
        con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            meta = con.execute(
                "SELECT c.*, g.*, s.definition FROM gpkg_contents c "
                "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
                "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = c.srs_id "
                "WHERE c.table_name = ?",
                (src.inner,),
            ).fetchall()
            columns = con.execute(f'PRAGMA table_info("{table}")').fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return _file_signature(file)
    h = hashlib.blake2b(repr((columns, meta)).encode("utf-8"), digest_size=16)
    h.update(repr(rows).encode("utf-8"))  # one repr of the whole table, in C
    return ("rows", h.hexdigest())


def _prepare_cached(
    src: _Source,
    fmap: FieldMap | None,
    notes: list[str],
    warns: list[str],
    cache: dict[Any, Any] | None,
) -> tuple[gpd.GeoDataFrame, _GeometryReport] | None:
    """:func:`_prepare` of :func:`_read_source`, degrees checked; from ``cache`` when unchanged."""
    if cache is None:
        prepared = _prepare(_read_source(src), src, fmap, notes, warns)
        if prepared is not None:
            _check_degrees(prepared[0], src)
        return prepared
    key = (src.name, str(src.file), src.inner, src.source_name, src.how)
    sig = _layer_signature(src)
    hit = cache.get(key)
    if hit is None or hit[0] != sig:
        my_notes: list[str] = []
        my_warns: list[str] = []
        prepared = _prepare(_read_source(src), src, fmap, my_notes, my_warns)
        if prepared is not None:
            _check_degrees(prepared[0], src)
        hit = (sig, prepared, my_notes, my_warns)
        cache[key] = hit
    _, prepared, my_notes, my_warns = hit
    notes.extend(my_notes)
    warns.extend(my_warns)
    if prepared is None:
        return None
    return prepared[0].copy(), prepared[1]


def _drop_slivers(gdf: gpd.GeoDataFrame, src: _Source, warns: list[str]) -> gpd.GeoDataFrame:
    """Drop polygons of (nearly) zero area, measured in the metric CRS."""
    poly = gdf.geometry.geom_type.isin(POLYGON).to_numpy(dtype=bool)
    if not poly.any():
        return gdf
    sliver = poly & (gdf.geometry.area.to_numpy() < SLIVER_AREA_M2)
    n = int(sliver.sum())
    if n:
        warns.append(
            f"{src.where}: {n} polygons have zero area (under {SLIVER_AREA_M2} m², slivers) "
            f"and were dropped (first: feature {_first(sliver, gdf['feature_id'])}); 零面积碎片"
        )
    return gdf[~sliver]
