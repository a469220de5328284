"""Reading a scheme (方案): one GeoPackage with layers, or a folder of vector files.

The layers and fields are those of ``spec/CONTRACT.md``.  Reading checks each
layer's CRS, geometry type and numeric fields, repairs invalid geometries with
``make_valid`` (counting them), and brings every layer into one projected
metric CRS chosen for the data (:func:`compliance.crs.choose_metric_crs`).
Input files are only ever opened for reading.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from .crs import choose_metric_crs, crs_label
from .errors import InputError


@dataclass(frozen=True)
class LayerSpec:
    """What the contract expects of one input layer."""

    geometry: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    text: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """Every contract field of the layer."""
        return self.numeric + self.boolean + self.text


POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")

#: The layers of the data contract, their geometry types and numeric fields.
LAYERS: dict[str, LayerSpec] = {
    "boundary": LayerSpec(POLYGON, numeric=("population",), text=("kind", "name")),
    "clusters": LayerSpec(POLYGON, numeric=("population",), text=("name",)),
    "corridors": LayerSpec(POLYGON, text=("name",)),
    "parcels": LayerSpec(
        POLYGON,
        numeric=("population", "floor_area_m2", "permeable_area_m2"),
        text=("land_use", "name"),
    ),
    "roads": LayerSpec(
        LINE + POLYGON,
        numeric=("red_line_width_m",),
        boolean=("is_new", "oneway"),
        text=("road_class", "width_source", "name"),
    ),
    "squares": LayerSpec(POLYGON, numeric=("hard_area_m2",), text=("name",)),
    "green_spaces": LayerSpec(POLYGON, text=("kind", "name")),
    "buildings": LayerSpec(
        POLYGON,
        numeric=("floors", "height_m", "floor_area_m2", "pv_area_m2", "roof_area_m2", "green_star"),
        boolean=("is_new", "solar_thermal", "demolished"),
        text=("use", "investor", "name"),
    ),
    "renewal_units": LayerSpec(
        POLYGON, numeric=("existing_floor_area_m2", "demolished_floor_area_m2"), text=("name",)
    ),
    # Extensions of the contract, for the rules of RULES.md beyond the headline ones.
    "greenways": LayerSpec(LINE, text=("name",)),
    "facilities": LayerSpec(POINT + POLYGON, text=("kind", "name")),
    "height_zones": LayerSpec(POLYGON, text=("name",)),
}

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


#: Shapefile (dBase) field names hold at most 10 characters.
DBF_NAME_LENGTH = 10


def _restore_truncated_names(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """Rename Shapefile-truncated field names back (``red_line_w`` → ``red_line_width_m``)."""
    truncated: dict[str, list[str]] = {}
    for name in spec.fields:
        if len(name) > DBF_NAME_LENGTH:
            truncated.setdefault(name[:DBF_NAME_LENGTH], []).append(name)
    renames = {
        col: full[0]
        for col, full in truncated.items()
        if col in gdf.columns and len(full) == 1 and full[0] not in gdf.columns
    }
    return gdf.rename(columns=renames) if renames else gdf


VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".parquet", ".geoparquet")


@dataclass
class Scheme:
    """A scheme's layers, all in one projected metric CRS.

    Attributes
    ----------
    layers : dict of str to geopandas.GeoDataFrame
        Contract layers present in the input, each with a ``feature_id`` column
        (the input's ``id`` field, else its GeoPackage FID, else the row number)
        and geometries in :attr:`crs`.
    crs : pyproj.CRS
        The measuring CRS (metres).
    source : str
        Path the scheme was read from.
    repaired : dict of str to int
        Number of invalid geometries repaired with ``make_valid``, per layer.
    dropped_empty : dict of str to int
        Number of null or empty geometries dropped, per layer.
    notes : list of str
        What reading did that a reviewer should know (reprojections, ignored layers).
    rasters : dict of str to RasterInput
        Raster inputs by role (``population``, ``impervious``, ``landcover``).
    """

    layers: dict[str, gpd.GeoDataFrame]
    crs: CRS
    source: str = ""
    rasters: dict[str, RasterInput] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    dropped_empty: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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


def _layer_sources(path: Path) -> list[tuple[str, Path, str | None]]:
    """(layer name, file, layer inside the file) for every contract layer found."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give a GeoPackage or a folder of layers")
    if path.is_dir():
        found: list[tuple[str, Path, str | None]] = []
        for f in sorted(path.iterdir()):
            if f.suffix.lower() in VECTOR_SUFFIXES and f.stem in LAYERS:
                found.append((f.stem, f, None))
        return found
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError(
            f"{path}: not a vector file this checker reads "
            f"(expected one of {', '.join(VECTOR_SUFFIXES)})"
        )
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return [(path.stem, path, None)] if path.stem in LAYERS else []
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(f"{path}: cannot be read as a vector file ({_one_line(exc)})") from exc
    if path.suffix.lower() == ".gpkg" or len(names) > 1:
        return [(n, path, n) for n in names if n in LAYERS]
    return [(path.stem, path, None)] if path.stem in LAYERS else []


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _read_file(file: Path, layer: str | None) -> gpd.GeoDataFrame:
    where = f"{file}" + (f" layer '{layer}'" if layer else "")
    try:
        if file.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = gpd.read_parquet(file)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gdf = gpd.read_file(file, layer=layer, engine="pyogrio", fid_as_index=True)
    except Exception as exc:
        raise InputError(f"{where}: cannot be read ({_one_line(exc)})") from exc
    return gdf


def _feature_ids(gdf: gpd.GeoDataFrame, from_gpkg: bool) -> pd.Series:
    if "id" in gdf.columns and gdf["id"].notna().all() and gdf["id"].is_unique:
        return gdf["id"].astype(str)
    if from_gpkg:
        return pd.Series(gdf.index.astype(str), index=gdf.index)
    return pd.Series(np.arange(len(gdf)).astype(str), index=gdf.index)


def _check_numeric(gdf: gpd.GeoDataFrame, name: str, where: str, spec: LayerSpec) -> None:
    for col in spec.numeric:
        if col not in gdf.columns or pd.api.types.is_numeric_dtype(gdf[col]):
            continue
        values = gdf[col]
        as_num = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & (values.astype("string").str.strip() != "") & as_num.isna()
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise InputError(
                f"{where}: field '{col}' holds text where a number belongs "
                f"(feature {gdf['feature_id'].iloc[i]}: {values.iloc[i]!r}); "
                f"write plain numbers in the unit the field name gives"
            )
        gdf[col] = as_num.astype(float)
    for col in spec.boolean:
        if col in gdf.columns and not pd.api.types.is_bool_dtype(gdf[col]):
            text = gdf[col].astype("string").str.strip().str.lower()
            truthy = text.isin(["1", "-1", "true", "yes", "y", "t", "是", "新建"])
            gdf[col] = truthy.fillna(False).astype(bool)


def _check_geometry(gdf: gpd.GeoDataFrame, where: str, spec: LayerSpec) -> tuple[int, int]:
    geoms = gdf.geometry.array
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    names = gdf.geometry.geom_type
    wrong = ~empty & ~names.isin(spec.geometry)
    if wrong.any():
        i = wrong.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{where}: feature {gdf['feature_id'].iloc[i]} is a {names.iloc[i]}, "
            f"expected {' or '.join(spec.geometry)}; split or convert the layer"
        )
    invalid = ~empty & ~shapely.is_valid(geoms)
    n_invalid = int(invalid.sum())
    if n_invalid:
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        gdf.loc[invalid, gdf.geometry.name] = fixed
    return n_invalid, int(empty.sum())


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
) -> Scheme:
    """Read a scheme and bring it into one projected metric CRS.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoPackage whose layers are named as in the data contract
        (``boundary``, ``clusters``, ``corridors``, ``parcels``, ``roads``,
        ``squares``, ``green_spaces``, ``buildings``, ``renewal_units``), or a
        folder of vector files (GeoPackage, GeoJSON, Shapefile, FlatGeobuf,
        GeoParquet) whose file stems are those names.  Every layer is optional.
    crs : str, int or pyproj.CRS, optional
        Measuring CRS to use instead of the one chosen for the data.  Must be
        projected, in metres.
    rasters : dict of str to path, optional
        Raster inputs by role (``population``, ``impervious``, ``landcover``).
        A scheme folder's ``population.tif``, ``impervious.tif`` and
        ``landcover.tif`` are found without this.

    Returns
    -------
    Scheme
        The layers in the measuring CRS, with repair counts and notes.

    Raises
    ------
    InputError
        The path does not exist or is unreadable; a layer has no CRS, cannot be
        projected, has the wrong geometry type, or holds text in a numeric
        field; the scheme has no contract layer at all; ``crs`` is not a
        projected metric CRS.
    """
    path = Path(path)
    sources = _layer_sources(path)
    raster_inputs = _raster_sources(path, rasters)
    if not sources:
        raise InputError(
            f"{path}: no layer named as the data contract expects "
            f"({', '.join(LAYERS)}); rename the layers or files"
        )
    raw: dict[str, gpd.GeoDataFrame] = {}
    repaired: dict[str, int] = {}
    dropped: dict[str, int] = {}
    notes: list[str] = []
    for name, file, layer in sources:
        where = f"{file}" + (f" layer '{layer}'" if layer else "")
        gdf = _read_file(file, layer)
        if gdf.crs is None:
            raise InputError(
                f"{where}: has no CRS; define it (e.g. EPSG:4326 or EPSG:4547) "
                f"in the file before checking"
            )
        spec = LAYERS[name]
        gdf = _restore_truncated_names(gdf.copy(), spec)
        gdf["feature_id"] = _feature_ids(gdf, from_gpkg=file.suffix.lower() == ".gpkg")
        n_fixed, n_empty = _check_geometry(gdf, where, spec)
        _check_numeric(gdf, name, where, spec)
        if n_empty:
            gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        repaired[name], dropped[name] = n_fixed, n_empty
        if n_fixed:
            notes.append(f"{name}: {n_fixed} invalid geometries repaired with make_valid")
        if n_empty:
            notes.append(f"{name}: {n_empty} null or empty geometries ignored")
        raw[name] = gdf

    if crs is None:
        try:
            lon, lat = _data_centre_lonlat(raw.values())
        except InputError:
            raise
        except (CRSError, ProjError, ValueError) as exc:
            raise InputError(
                f"{path}: the layers' CRS cannot be transformed to longitude/latitude "
                f"({_one_line(exc)}); give the data in a CRS with a known datum"
            ) from exc
        target = choose_metric_crs(lon, lat)
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
        if not CRS.from_user_input(gdf.crs).equals(target):
            reprojected.setdefault(crs_label(CRS(gdf.crs)), []).append(name)
            try:
                gdf = gdf.to_crs(target)
            except Exception as exc:
                raise InputError(
                    f"{path} layer '{name}': cannot be projected to {crs_label(target)} "
                    f"({_one_line(exc)})"
                ) from exc
        if not np.isfinite(gdf.total_bounds).all() and not gdf.empty:
            raise InputError(
                f"{path} layer '{name}': coordinates are not finite after projecting to "
                f"{crs_label(target)}; check the layer's CRS"
            )
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
    )
