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

import io
import shutil
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
from ..notes import Note, layer_zh
from ..wording import count_en
from .contract import LAYERS, POLYGON, LayerSpec
from .crs import (
    choose_metric_crs,
    crs_label,
    measuring_crs_problem,
    projected_area_of_use,
)
from .fields import (
    FieldMap,
    load_field_map,
    resolve_fields,
    translate_values,
)
from .landuse import unclassified
from .quantities import BOUNDS, DIMENSION_NAMES, FIELD_DIMENSIONS, implausible, parse_column
from .readonly import private_copies, readable
from .sources import (
    VECTOR_SUFFIXES,
    Listing,
    check_geopackage,
    layer_sources,
    one_line,
    open_sidecar,
    read_bytes,
    sidecar,
)
from .sources import Source as _Source

__all__ = ["VECTOR_SUFFIXES", "RasterInput", "Scheme", "read_scheme"]

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


#: China's extent in degrees (longitude 73°E–136°E, latitude 3°N–54°N, the
#: South China Sea included): data centred outside it under a Chinese profile
#: is probably in the wrong CRS or the wrong place (:func:`far_from_china`).
CHINA_LON_DEG = (73.0, 136.0)
CHINA_LAT_DEG = (3.0, 54.0)

#: How far outside its CRS's area of use (in widths and heights of the area,
#: projected) a layer may lie before it is refused as being in another CRS.
FAR_OUTSIDE_AREA_OF_USE = 2.0

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
    inputs : list of dict
        Per input layer read: ``layer`` (the contract layer), ``source``
        (file and layer), ``recognised_by`` (``contract``, ``recognised``,
        ``mapping``), ``crs`` (as given, or how it was set), ``features``
        (as read) and ``features_used``, ``geometry_types``,
        ``fields_mapped`` (contract field → source field).
    not_read : list of dict
        ``{"file", "reason"}`` for each file or layer seen and not read.
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
    inputs: list[dict[str, Any]] = field(default_factory=list)
    not_read: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Refuse a CRS that does not measure in metres: a compliance verdict in degrees is wrong.

        Raises
        ------
        InputError
            The CRS is geographic, or projected in another unit than the metre;
            or a layer is in another CRS.
        """
        crs = CRS.from_user_input(self.crs)
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if not crs.is_projected or unit not in ("metre", "meter"):
            kind = "geographic (degrees)" if crs.is_geographic else f"in {unit or 'no unit'}"
            raise InputError(
                f"a Scheme measures in a projected CRS in metres; found {crs_label(crs)}, "
                f"{kind}: project the layers first (read_scheme chooses a CGCS2000 "
                "Gauss-Krüger zone, or gdf.to_crs(...))"
            )
        for name, gdf in self.layers.items():
            if gdf.crs is not None and not crs.equals(gdf.crs):
                raise InputError(
                    f"layer '{name}' is in {crs_label(CRS.from_user_input(gdf.crs))}, not in the "
                    f"scheme's measuring CRS {crs_label(crs)}: reproject it (gdf.to_crs(...))"
                )
        self.crs = crs

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


def _one_line(exc: BaseException) -> str:
    return one_line(exc)


def _dbf_encoding(src: _Source) -> str | None:
    """The text encoding of a .dbf that has neither a .cpg nor a language driver id.

    GDAL then assumes ISO-8859-1, which turns GBK text (住宅用地) into mojibake
    without any error.  The first records holding non-ASCII bytes are decoded
    as UTF-8 and as GB18030; the one with fewer undecodable bytes wins (UTF-8
    on a tie).  Returns None when GDAL's own reading is right (a .cpg, a
    language driver id, or plain ASCII).  A Shapefile inside a zip is read
    from the archive, as GDAL reads it.
    """
    dbf = sidecar(src, ".dbf")
    if dbf is None or sidecar(src, ".cpg") is not None:
        return None
    with open_sidecar(src, dbf) as fh:
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


#: Files read through Arrow (pyogrio's ``use_arrow``), about twice as fast as
#: feature by feature and the same frame once all-null fields are made object
#: columns again (:func:`_like_row_read`).  Not GeoJSON: its date fields come
#: back through Arrow as ``datetime.date`` objects, not datetime64.
ARROW_SUFFIXES = (".gpkg", ".shp", ".fgb")
#: Files smaller than this are read feature by feature: on a designer's scheme
#: of a few hundred KB, setting up the Arrow stream costs more than it saves
#: (measured: the 0.2 MB demo 0.33 s against 0.30 s; a 40 MB city 2.6 s against 3.9 s).
ARROW_MIN_BYTES = 4 * 1024 * 1024


def _like_row_read(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """An Arrow read as the feature-by-feature read gives it: all-null fields of None."""
    for col in gdf.columns:  # the layer's fields, not its features
        if col != gdf.geometry.name and pd.api.types.is_string_dtype(gdf[col].dtype):
            if gdf[col].isna().all():
                gdf[col] = pd.Series(None, index=gdf.index, dtype=object)
    return gdf


def _read_vector(
    file: str | Path, inner: str | None, encoding: str | None, **options: Any
) -> tuple[gpd.GeoDataFrame, list[str]]:
    path = Path(file)  # a GDAL virtual path (/vsizip/…) is no file here: read row by row
    arrow = (
        not options
        and path.suffix.lower() in ARROW_SUFFIXES
        and path.is_file()
        and path.stat().st_size >= ARROW_MIN_BYTES
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = pyogrio.read_dataframe(
            readable(file),
            layer=inner,
            fid_as_index=True,
            encoding=encoding,
            use_arrow=arrow,
            **options,
        )
    if arrow:
        gdf = _like_row_read(gdf)
    return gdf, [str(w.message) for w in caught]


def _read_shapefile_without_shx(src: _Source, encoding: str | None) -> gpd.GeoDataFrame:
    """Read a Shapefile whose .shx is missing: GDAL rebuilds it in a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="compliance-shx-") as tmp:
        if src.container is not None:
            stem = str(Path(src.rel).with_suffix(""))
            for rel in src.container.names():
                if str(Path(rel).with_suffix("")) == stem:
                    (Path(tmp) / Path(rel).name).write_bytes(src.container.read(rel))
        else:
            for f in src.file.parent.iterdir():
                if f.is_file() and f.stem == src.file.stem:
                    shutil.copy2(f, Path(tmp) / f.name)
        copy = Path(tmp) / src.file.name
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        try:
            gdf, _ = _read_vector(copy, None, encoding)
        finally:
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    return gdf


def _field_aliases(src: _Source) -> dict[str, str]:
    """Field aliases (alternative names) of a File Geodatabase layer.

    An Esri File Geodatabase keeps a field's alias (``AliasName``, often the
    Chinese name: ``YDYHFLDM`` → 用地用海分类代码) beside its name; GDAL
    reads it as the field's alternative name, which its Arrow interface
    carries as ``GDAL:OGR:alternative_name`` field metadata.
    """
    gdb = src.suffix == ".gdb" or (src.container is not None and ".gdb" in src.gdal.lower())
    if src.inner is None or not gdb:  # a GeoPackage's aliases are rare: not worth a read
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, table = pyogrio.read_arrow(src.gdal, layer=src.inner, max_features=0)
    except Exception:  # aliases are a help, never a reason to refuse the layer
        return {}
    out: dict[str, str] = {}
    for f in table.schema:
        alias = (f.metadata or {}).get(b"GDAL:OGR:alternative_name")
        if alias:
            text = alias.decode("utf-8", errors="replace").strip()
            if text and text != f.name:
                out[f.name] = text
    return out


def _read_source(src: _Source) -> _Read:
    """Read one layer, never writing next to the input."""
    file, where = src.file, src.where
    if src.data is not None:  # a drawing's layer, read with the drawing
        return _Read(src.data.frame.copy(), list(src.data.notes))
    if src.parts:  # feature classes of one layer, one per geometry type
        reads = [_read_source(p) for p in src.parts]
        crs = next((r.gdf.crs for r in reads if r.gdf.crs is not None), None)
        frames = [r.gdf if r.gdf.crs is None or crs is None else r.gdf.to_crs(crs) for r in reads]
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)
        return _Read(gdf, [n for r in reads for n in r.notes])
    notes: list[str] = []
    encoding: str | None = None
    missing_shx = False
    if src.suffix == ".gpkg" and src.inner is None and src.container is None and not src.checked:
        check_geopackage(file)
    if src.suffix == ".shp":
        missing_shx = sidecar(src, ".shx") is None
        if sidecar(src, ".dbf") is None:
            raise InputError(
                f"{where}: the attribute table {file.stem}.dbf is missing beside {file.name}, "
                f"so the features have no fields; copy the .dbf next to the .shp "
                f"(缺少 .dbf 属性表)"
            )
        encoding = _dbf_encoding(src)
        if encoding == "GB18030":
            notes.append(
                Note(
                    f"{src.name}: {file.name} has no .cpg and its text is not UTF-8; "
                    f"read as GB18030 (GBK)",
                    f"{layer_zh(src.name)}：{file.name} 无 .cpg 文件且文字不是 UTF-8 编码，"
                    f"按 GB18030（GBK）读取",
                )
            )
        elif encoding == "UTF-8":
            notes.append(
                Note(
                    f"{src.name}: {file.name} has no .cpg; its text read as UTF-8",
                    f"{layer_zh(src.name)}：{file.name} 无 .cpg 文件，文字按 UTF-8 读取",
                )
            )
    closed: np.ndarray | None = None
    unreadable: np.ndarray | None = None
    why = ""
    messages: list[str] = []
    path = src.gdal
    try:
        if src.suffix in (".parquet", ".geoparquet"):
            data = read_bytes(src) if src.container is not None else file
            gdf = gpd.read_parquet(io.BytesIO(data) if isinstance(data, bytes) else data)
        elif missing_shx:
            gdf = _read_shapefile_without_shx(src, encoding)
            notes.append(
                Note(
                    f"{src.name}: {file.name} has no .shx; the index was rebuilt in a temporary "
                    f"copy (restored .shx; the input is unchanged)",
                    f"{layer_zh(src.name)}：{file.name} 缺少 .shx 索引文件，已在临时副本中重建"
                    f"（输入文件未改动）",
                )
            )
        else:
            try:
                gdf, messages = _read_vector(path, src.inner, encoding)
            except shapely.errors.GEOSException as exc:
                # Geometries GEOS cannot build: unclosed rings (closed here), and
                # lines or rings of a single point (nothing to repair: left out, named).
                gdf, messages = _read_vector(path, src.inner, encoding, on_invalid="fix")
                got = ~shapely.is_missing(np.asarray(gdf.geometry.array, dtype=object))
                # The stored geometries (WKB) tell the repaired from the unbuildable.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # GDAL's, already heard by _read_vector
                    _, _, stored, _ = pyogrio.raw.read(
                        readable(path), layer=src.inner, columns=[], encoding=encoding
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
        notes.append(
            Note(
                f"{src.name}: M (measure) values dropped; only x and y are used",
                f"{layer_zh(src.name)}：已舍去 M 值（量测值），仅使用平面坐标",
            )
        )
    aliases = _field_aliases(src)
    if aliases:
        gdf = _apply_aliases(gdf, src, aliases, notes)
    return _Read(gdf, notes, closed, unreadable, why)


def _apply_aliases(
    gdf: gpd.GeoDataFrame, src: _Source, aliases: dict[str, str], notes: list[str]
) -> gpd.GeoDataFrame:
    """Rename fields whose name says nothing but whose alias is a recognised name.

    A field already recognised by its name keeps it; a field whose alias is
    recognised (``F3`` aliased 层数) takes the alias as its name, with a note.
    """
    spec = LAYERS[src.name]
    contract = (*spec.fields, "id")
    names = [c for c in gdf.columns if c != gdf.geometry.name]
    by_name = resolve_fields(names, src.name, contract, where=src.where)
    taken = set(by_name.sources.values())
    renames: dict[str, str] = {}
    for col, alias in aliases.items():
        if col in taken or col not in gdf.columns or alias in gdf.columns:
            continue
        trial = resolve_fields([alias], src.name, contract, where=src.where)
        target = next(iter(trial.sources), None)
        if target is not None and target not in by_name.sources:
            renames[col] = alias
    if renames:
        notes.append(
            Note(
                f"{src.name}: fields read by their alias: "
                + ", ".join(f"{c} (alias {a})" for c, a in renames.items()),
                f"{layer_zh(src.name)}：以下字段按其别名读取："
                + "、".join(f"{c}（别名 {a}）" for c, a in renames.items()),
            )
        )
    return gdf.rename(columns=renames)


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
        Note(
            f"{src.where}: {count_en(int(bad.sum()), 'geometry', 'geometries')} became invalid "
            "when projected and were "
            f"repaired with make_valid (first: feature {first})",
            f"{src.where}：{int(bad.sum()):,} 个几何图形投影后无效，已自动修复"
            f"（首个为编号 {first}）",
        )
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
            Note(
                f"{name}: Z coordinates dropped from {count_en(int(has_z.sum()), 'feature')} "
                "(measured in 2-D)",
                f"{layer_zh(name)}：{int(has_z.sum()):,} 个要素舍去 Z 坐标（按平面量测）",
            )
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
                Note(
                    f"{src.name}.{col}: {count_en(res.parsed, 'value')} parsed from text "
                    "with units, "
                    f"e.g. {res.example}",
                    f"{layer_zh(src.name)}字段 {col}：{res.parsed:,} 个带单位的文字值已换算为数值，"
                    f"如 {res.example}",
                )
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
    info: dict[str, Any] | None = None,
    source_crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, _GeometryReport] | None:
    """One layer renamed, identified, cleaned and typed; None when it has no features.

    ``info`` receives what :attr:`Scheme.inputs` says of the layer.
    """
    name, where, spec = src.name, src.where, LAYERS[src.name]
    gdf = read.gdf
    info = {} if info is None else info
    info["features"] = len(gdf)
    info["geometry_types"] = sorted(
        {str(t) for t in gdf.geometry.geom_type.dropna().unique()} if len(gdf) else set()
    )
    notes.extend(read.notes)
    if gdf.empty:
        notes.append(
            Note(
                f"{name}: {where} has no features; the layer is treated as absent",
                f"{layer_zh(name)}：{where} 无要素，按缺少该图层处理",
            )
        )
        info["features_used"] = 0
        return None
    if gdf.crs is None and source_crs is not None:
        gdf = gdf.set_crs(_source_crs(source_crs))
        notes.append(
            Note(
                f"{name}: {where} has no CRS; read in {crs_label(gdf.crs)} (--source-crs)",
                f"{layer_zh(name)}：{where} 未定义坐标系，按 {crs_label(gdf.crs)} 读取"
                f"（--source-crs）",
            )
        )
        info["crs_from"] = "--source-crs"
    if gdf.crs is None:
        raise InputError(
            f"{where}: has no CRS; define it (e.g. EPSG:4326 or EPSG:4547) "
            f"in the file before checking, or give it with --source-crs"
        )
    info["crs"] = crs_label(CRS.from_user_input(gdf.crs))
    res = resolve_fields(
        [c for c in gdf.columns if c != gdf.geometry.name],
        name,
        (*spec.fields, "id"),
        where=where,
        field_map=field_map,
    )
    gdf = gdf.drop(columns=res.drop).rename(columns=res.renames)
    info["fields_mapped"] = dict(res.sources)
    notes.extend(res.notes)
    warns.extend(res.warnings)
    with_fid = not src.parts and (
        src.suffix in (".gpkg", ".gdb") or (src.inner is not None and src.data is None)
    )
    ids, unusable = _feature_ids(gdf, from_gpkg=with_fid)
    gdf["feature_id"] = ids
    if unusable:
        by = "FID" if with_fid else "row number"
        notes.append(
            Note(
                f"{name}: field {res.sources.get('id', 'id')} has missing or repeated values; "
                f"features are identified by {by}",
                f"{layer_zh(name)}：字段 {res.sources.get('id', 'id')} 有缺失或重复值，要素按"
                f"{'要素标识 FID' if with_fid else '行号'}编号",
            )
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
    if "land_use" in gdf.columns:
        _warn_unclassified(gdf, src, res.sources.get("land_use", "land_use"), warns)
    info["features_used"] = len(gdf)
    if gdf.empty:
        notes.append(
            Note(
                f"{name}: no usable feature left in {where}; the layer is treated as absent",
                f"{layer_zh(name)}：{where} 无可用要素，按缺少该图层处理",
            )
        )
        return None
    return gdf, rep


def _warn_unclassified(gdf: gpd.GeoDataFrame, src: _Source, field: str, warns: list[str]) -> None:
    """Warn, with a count and the codes, about land-use codes no rule can classify."""
    bad = unclassified(gdf["land_use"]).to_numpy()
    n = int(bad.sum())
    if not n:
        return
    values = gdf["land_use"].astype("string")[bad]
    shown = ", ".join(f"'{v}'" for v in values.value_counts().index[:5])
    more = f" and {values.nunique() - 5} more" if values.nunique() > 5 else ""
    warns.append(
        f"{src.where}: {n} features have a {field} code that is neither a 2023 用地用海 code "
        f"nor a GB 50137 letter ({shown}{more}; first: feature "
        f"{_first(bad, gdf['feature_id'])}) and count as no land use (not residential, green "
        f"or construction); 用地代码无法识别"
    )


def _source_crs(given: str | int | CRS) -> CRS:
    """The CRS ``--source-crs`` (or the mapping file's ``source_crs``) names."""
    try:
        if isinstance(given, str) and given.strip().isdigit():
            return CRS.from_epsg(int(given))
        return CRS.from_user_input(given)
    except CRSError as exc:
        raise InputError(
            f"--source-crs {given!r} is not a CRS pyproj knows; give e.g. EPSG:4526 "
            f"(CGCS2000 / 3-degree Gauss-Kruger zone 38)"
        ) from exc


def _check_degrees(gdf: gpd.GeoDataFrame, src: _Source) -> None:
    """Refuse coordinates that cannot be degrees in a CRS in degrees (a wrong .prj)."""
    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_geographic:
        _check_projected(gdf, src, crs)
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


def _check_projected(gdf: gpd.GeoDataFrame, src: _Source, crs: CRS) -> None:
    """Refuse coordinates a projected CRS cannot hold: degrees, or far outside its area of use.

    Coordinates that all lie within ±180, ±90 and outside the CRS's area of
    use are longitude/latitude with a wrong ``.prj``; coordinates farther
    outside the area of use than :data:`FAR_OUTSIDE_AREA_OF_USE` times its
    size are in another CRS.  Either would be measured as metres somewhere
    else.
    """
    area = projected_area_of_use(crs)
    if area is None:
        return
    minx, miny, maxx, maxy = (float(v) for v in gdf.total_bounds)
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return
    ax0, ay0, ax1, ay1 = area

    def outside(margin: float) -> bool:
        dx, dy = margin * (ax1 - ax0), margin * (ay1 - ay0)
        return maxx < ax0 - dx or minx > ax1 + dx or maxy < ay0 - dy or miny > ay1 + dy

    like = f"{minx:.6g}, {miny:.6g}"
    degrees = -180.5 <= minx and maxx <= 360.5 and -90.5 <= miny and maxy <= 90.5
    if degrees and outside(0.0):
        raise InputError(
            f"{src.where}: the layer's CRS is {crs_label(crs)} (metres) but its coordinates "
            f"are like {like}: longitude and latitude in degrees; define the layer's CRS as "
            f"EPSG:4490 (CGCS2000) or EPSG:4326 (WGS 84) instead"
        )
    if not outside(FAR_OUTSIDE_AREA_OF_USE):
        return
    name = crs.area_of_use.name if crs.area_of_use is not None else ""
    raise InputError(
        f"{src.where}: the coordinates (like {like}) lie far outside the area of use of the "
        f"layer's CRS {crs_label(crs)} ({name}); the layer is in another CRS: define the one "
        f"its coordinates are in"
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
    source_crs: str | int | CRS | None = None,
    cache: dict[Any, Any] | None = None,
) -> Scheme:
    """Read a scheme and bring it into one projected metric CRS.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoPackage, an Esri File Geodatabase (``.gdb``, feature classes
        inside feature datasets included), a DXF drawing
        (:mod:`compliance.reading.dxf`), a ``.zip`` of any of these or of
        Shapefiles (read in place, :mod:`compliance.reading.sources`), or a
        GeoPackage whose layers are named as in the data contract
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
    source_crs : str, int or pyproj.CRS, optional
        The CRS of layers that carry none: a DXF drawing (whose CRS is else
        recognised from a 3-degree zone number in its eastings), a Shapefile
        without ``.prj``.  Default: the mapping file's ``source_crs``.
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
    with private_copies():  # a GeoPackage with a journal is read from a private copy
        return _read_scheme(
            path,
            crs=crs,
            rasters=rasters,
            field_map=field_map,
            source_crs=source_crs,
            cache=cache,
        )


def _read_scheme(
    path: str | Path,
    *,
    crs: str | int | CRS | None,
    rasters: dict[str, str | Path] | None,
    field_map: str | Path | FieldMap | None,
    source_crs: str | int | CRS | None,
    cache: dict[Any, Any] | None,
) -> Scheme:
    path = Path(path)
    fmap = (
        field_map
        if isinstance(field_map, FieldMap) or field_map is None
        else (load_field_map(field_map))
    )
    from .dxf import read_drawing

    given_crs = source_crs if source_crs is not None else (fmap.source_crs if fmap else None)
    src_crs = None if given_crs is None else _source_crs(given_crs)
    notes: list[str] = []
    warns: list[str] = []
    listing: Listing = layer_sources(
        path,
        fmap,
        read_drawing=read_drawing,
        source_crs=None if src_crs is None else src_crs.to_wkt(),
    )
    notes.extend(listing.notes)
    sources = listing.sources
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
    inputs: list[dict[str, Any]] = []
    for src in sources:
        info: dict[str, Any] = {
            "layer": src.name,
            "source": src.where,
            "recognised_by": src.how,
        }
        crs_from = None if src.data is None else src.data.crs_from
        if crs_from:
            info["crs_from"] = crs_from
        inputs.append(info)
        prepared = _prepare_cached(
            src, fmap, notes, warns, cache, info, None if src_crs is None else src_crs.to_wkt()
        )
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
        if centre is not None:
            problem = measuring_crs_problem(target, *centre)
            if problem is not None:
                suggested = choose_metric_crs(*centre)
                raise InputError(
                    f"--crs {crs!r} cannot measure this scheme: {problem}; "
                    f"leave out --crs or give {crs_label(suggested)}"
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
        Note(
            f"reprojected from {label} to {crs_label(target)}: {', '.join(names)}",
            f"由 {label} 投影变换至 {crs_label(target)}：{'、'.join(layer_zh(n) for n in names)}",
        )
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
        inputs=inputs,
        not_read=listing.not_read,
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
    CRS and geometry column entries, read with SQLite (from the private copy
    of a GeoPackage with a journal, its committed ``-wal`` writes included),
    so a save that edits one layer leaves the others read.  Anything else,
    or when SQLite cannot read the file: the file's :func:`_file_signature`.
    """
    import hashlib
    import sqlite3

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
    try:  # a GeoPackage with a journal is opened from its private copy (readable)
        con = sqlite3.connect(f"{Path(readable(file)).resolve().as_uri()}?mode=ro", uri=True)
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
    info: dict[str, Any],
    source_crs: str | None,
) -> tuple[gpd.GeoDataFrame, _GeometryReport] | None:
    """:func:`_prepare` of :func:`_read_source`, degrees checked; from ``cache`` when unchanged."""
    if cache is None:
        prepared = _prepare(_read_source(src), src, fmap, notes, warns, info, source_crs)
        if prepared is not None:
            _check_degrees(prepared[0], src)
        return prepared
    key = (src.name, str(src.file), src.inner, src.source_name, src.how, source_crs)
    sig = _layer_signature(src)
    hit = cache.get(key)
    if hit is None or hit[0] != sig:
        my_notes: list[str] = []
        my_warns: list[str] = []
        my_info: dict[str, Any] = {}
        prepared = _prepare(_read_source(src), src, fmap, my_notes, my_warns, my_info, source_crs)
        if prepared is not None:
            _check_degrees(prepared[0], src)
        hit = (sig, prepared, my_notes, my_warns, my_info)
        cache[key] = hit
    _, prepared, my_notes, my_warns, my_info = hit
    notes.extend(my_notes)
    warns.extend(my_warns)
    info.update(my_info)
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
