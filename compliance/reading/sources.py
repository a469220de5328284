"""Where a scheme's layers are: a file, a folder, a File Geodatabase, a zip archive, a drawing.

A scheme is handed over as

- one multi-layer file: a GeoPackage (``.gpkg``) or an Esri File Geodatabase
  (a ``.gdb`` folder, read with GDAL's OpenFileGDB driver; feature classes
  inside feature datasets are listed with the others);
- one single-layer file (Shapefile, GeoJSON, FlatGeobuf, GeoParquet) whose
  stem names the layer;
- a CAD drawing (``.dxf``, :mod:`compliance.reading.dxf`), its CAD layers
  recognised by name;
- a folder of any of these; or a ``.zip`` of a folder, read in place through
  GDAL's virtual file system (``/vsizip/``): nothing is extracted beside the
  input.

In a folder or a zip nothing is ignored silently: a file of a format the
checker does not read whose stem names a contract layer (``squares.kml``) is an
:class:`~compliance.errors.InputError` naming it; any other file not read is
listed with the reason (:attr:`Listing.not_read`, printed by
``compliance inspect`` and written to ``run.json``).  A ``.dwg`` drawing is
refused with a one-line error saying to save it as DXF: no package the
checker can install reads DWG.
"""

from __future__ import annotations

import functools
import sqlite3
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyogrio

from ..errors import InputError
from ..notes import Note, layer_zh
from .contract import LAYERS
from .fields import FieldMap, contract_layer
from .readonly import readable

#: Single-layer vector files: the file stem names the layer.
SINGLE_SUFFIXES = (".geojson", ".json", ".shp", ".fgb", ".parquet", ".geoparquet")
#: Multi-layer vector files (and ``.gdb`` folders): their layer names name the layers.
MULTI_SUFFIXES = (".gpkg",)
#: Every vector file suffix the checker reads (as :mod:`compliance.reading.scheme` names them).
VECTOR_SUFFIXES = (".gpkg", *SINGLE_SUFFIXES)
DRAWING_SUFFIXES = (".dxf",)
RASTER_SUFFIXES = (".tif", ".tiff")
#: Files that belong to another file (a Shapefile's parts, GeoPackage journals, metadata).
SIDECAR_SUFFIXES = (
    ".shx",
    ".dbf",
    ".prj",
    ".cpg",
    ".qix",
    ".sbn",
    ".sbx",
    ".qmd",
    ".xml",
    ".aux",
    ".ovr",
    ".gpkg-wal",
    ".gpkg-shm",
    ".gpkg-journal",
    ".tfw",
    ".tifw",
)
#: Formats people hand over that the checker does not read, and what to do instead.
OTHER_FORMATS: dict[str, str] = {
    ".kml": "KML",
    ".kmz": "KMZ",
    ".tab": "MapInfo TAB",
    ".mif": "MapInfo MIF",
    ".mid": "MapInfo MID",
    ".csv": "CSV",
    ".xlsx": "Excel",
    ".xls": "Excel",
    ".gml": "GML",
    ".gpx": "GPX",
    ".dgn": "MicroStation DGN",
    ".e00": "ArcInfo E00",
    ".mdb": "Personal Geodatabase",
    ".sqlite": "SQLite",
    ".osm": "OpenStreetMap XML",
    ".pbf": "OpenStreetMap PBF",
    ".pdf": "PDF",
    ".dwg": "AutoCAD DWG",
    ".zip": "a zip inside a scheme folder (check it by itself, or extract it)",
    ".rar": "RAR",
    ".7z": "7-Zip",
}
#: Names never listed: operating-system litter in folders and zips.
LITTER = ("__MACOSX", "Thumbs.db", "desktop.ini")

DWG_ADVICE = (
    "DWG cannot be read with the packages this checker installs; save the drawing as DXF "
    "in your CAD program (另存为 DXF, e.g. AutoCAD 2013 DXF) and check the .dxf"
)


def one_line(exc: BaseException) -> str:
    """An exception's text on one line."""
    return " ".join(str(exc).split())


# --------------------------------------------------------------------------- containers


@dataclass(frozen=True)
class Container:
    """A folder on disk or a zip archive that files of a scheme are in.

    Attributes
    ----------
    root : pathlib.Path
        The folder, or the ``.zip`` file.
    is_zip : bool
    """

    root: Path
    is_zip: bool = False

    def display(self, rel: str) -> Path:
        """The path shown in messages: ``folder/parcels.shp`` or ``scheme.zip/parcels.shp``."""
        return self.root / rel if rel else self.root

    def gdal(self, rel: str) -> str:
        """The path GDAL opens: the file, or a ``/vsizip/`` path inside the archive."""
        if not self.is_zip:
            return str(self.root / rel)
        base = f"/vsizip/{self.root.resolve()}"
        return f"{base}/{rel}" if rel else base

    def names(self) -> list[str]:
        """Every file in the container, ``/``-separated relative paths."""
        if not self.is_zip:
            return sorted(p.name for p in self.root.iterdir())
        return _zip_names(self.root)

    def exists(self, rel: str) -> bool:
        if not self.is_zip:
            return (self.root / rel).is_file()
        return rel in set(_zip_names(self.root))

    def find(self, rel: str) -> str | None:
        """``rel`` as it is spelled in the container, whatever its case; None when absent."""
        if not self.is_zip:
            p = self.root / rel
            for cand in (p, p.with_suffix(p.suffix.lower()), p.with_suffix(p.suffix.upper())):
                if cand.is_file():
                    return str(cand.relative_to(self.root))
            return None
        names = {n.casefold(): n for n in _zip_names(self.root)}
        return names.get(rel.casefold())

    @contextmanager
    def open(self, rel: str) -> Iterator[IO[bytes]]:
        """Open a file of the container for reading bytes (never writing)."""
        if not self.is_zip:
            with (self.root / rel).open("rb") as fh:
                yield fh
            return
        with zipfile.ZipFile(self.root) as zf, zf.open(rel) as fh:
            yield fh

    def read(self, rel: str) -> bytes:
        with self.open(rel) as fh:
            return fh.read()


def _zip_names(path: Path) -> list[str]:
    st = path.stat()
    return list(_zip_names_cached(str(path.resolve()), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=16)
def _zip_names_cached(path_text: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The archive's file names, read once per version of the archive."""
    path = Path(path_text)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{path}: cannot be read as a zip archive ({one_line(exc)}); copy it again"
        ) from exc
    if any(i.flag_bits & 0x1 for i in infos):
        raise InputError(f"{path}: the zip archive is encrypted; give an archive without password")
    return tuple(sorted(i.filename for i in infos if not i.is_dir()))


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One input layer: its contract name, file, layer inside the file, and label.

    Attributes
    ----------
    name : str
        The contract layer it is read as.
    file : pathlib.Path
        The file as shown in messages (``scheme.zip/parcels.shp`` inside a zip).
    inner : str or None
        The layer inside a multi-layer file (or the CAD layers of a drawing).
    source_name : str
        The name that made it this layer: a file stem, a layer or CAD layer name.
    how : str
        ``contract``, ``mapping`` or ``recognised``.
    container : Container or None
        Where the file is when that is not its own folder (a zip archive).
    rel : str
        The file's path inside :attr:`container`.
    data : object
        A layer already read (a drawing's layer, a GeoDataFrame), or None.
    read_notes : tuple of str
        What reading the drawing noticed about this layer.
    """

    name: str
    file: Path
    inner: str | None
    source_name: str
    how: str = "contract"
    container: Container | None = None
    rel: str = ""
    data: Any = field(default=None, compare=False, repr=False)
    geometry_type: str = ""
    parts: tuple[Source, ...] = ()
    checked: bool = False  # a GeoPackage already checked when listed

    @property
    def label(self) -> str:
        return f"'{self.inner}'" if self.inner else f"'{self.file.name}'"

    @property
    def where(self) -> str:
        text = str(self.file) + (f" layer '{self.inner}'" if self.inner else "")
        return text if self.source_name == self.name else f"{text} ({self.name})"

    @property
    def gdal(self) -> str:
        """The path pyogrio opens."""
        if self.container is not None:
            return self.container.gdal(self.rel)
        return str(self.file)

    @property
    def suffix(self) -> str:
        return self.file.suffix.lower()


@dataclass
class Listing:
    """What was found where a scheme was given, before any layer is read.

    Attributes
    ----------
    sources : list of Source
        The input layers read, one per contract layer, in contract order.
    not_read : list of dict
        ``{"file": ..., "reason": ...}`` for each file or layer seen and not read.
    notes : list of str
    """

    sources: list[Source] = field(default_factory=list)
    not_read: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_geopackage(path: Path) -> None:
    """Refuse a truncated or corrupt GeoPackage with a one-line reason, reading it only."""
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({one_line(exc)})") from exc
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
            f"{path}: cannot be read: the GeoPackage is damaged (SQLite: {one_line(exc)}); "
            f"restore it from a backup or export it again"
        ) from exc
    if not result or result[0] != "ok":
        found = one_line(Exception(result[0] if result else "no answer"))
        raise InputError(
            f"{path}: cannot be read: the GeoPackage is damaged (SQLite quick_check: "
            f"{found[:200]}); restore it from a backup or export it again"
        )


def list_layers(path: str, shown: Path, *, types: bool = False) -> list[tuple[str, Any]]:
    """(layer name, has geometry) of every layer in a multi-layer file (or a ``.gdb``).

    With ``types``: (layer name, geometry type or None).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Measured (M) geometry types are not supported"
            rows = pyogrio.list_layers(readable(path))
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(f"{shown}: cannot be read as a vector file ({one_line(exc)})") from exc
    if types:
        return [(str(n), None if g is None else str(g)) for n, g in rows]
    return [(str(n), g is not None) for n, g in rows]


def _is_gdb_dir(path: Path) -> bool:
    return path.suffix.lower() == ".gdb" and path.is_dir()


def _refuse_dwg(shown: Path) -> None:
    raise InputError(f"{shown}: a DWG drawing; {DWG_ADVICE}")


class _Collector:
    """Collects the input layers of one scheme, and what is not read and why."""

    def __init__(
        self,
        path: Path,
        field_map: FieldMap | None,
        read_drawing: Callable[..., Any],
        source_crs: str | None,
    ) -> None:
        self.path = path
        self.field_map = field_map
        self.read_drawing = read_drawing
        self.source_crs = source_crs
        self.found: list[Source] = []
        self.ignored: list[str] = []
        self.listing = Listing()

    def not_read(self, shown: Path | str, reason: str) -> None:
        self.listing.not_read.append({"file": str(shown), "reason": reason})

    def consider(
        self,
        source_name: str,
        file: Path,
        inner: str | None,
        container: Container | None = None,
        rel: str = "",
        geometry_type: str = "",
        checked: bool = False,
    ) -> None:
        layer, how = contract_layer(source_name, self.field_map)
        if layer is None:
            label = f"'{source_name}'" if inner else file.name
            self.ignored.append(label)
            shown = f"{file} layer '{inner}'" if inner else str(file)
            reason = (
                "mapped to null in the mapping file"
                if how == "mapping"
                else "not a contract layer name nor a recognised Chinese name"
            )
            self.not_read(shown, reason)
        else:
            self.found.append(
                Source(
                    layer,
                    file,
                    inner,
                    source_name,
                    how,
                    container,
                    rel,
                    geometry_type=geometry_type,
                    checked=checked,
                )
            )

    def multi(self, gdal_path: str, shown: Path, container: Container | None, rel: str) -> None:
        """Every spatial layer of a GeoPackage or File Geodatabase."""
        if container is None and shown.suffix.lower() == ".gpkg":
            check_geopackage(shown)
        for n, geometry_type in list_layers(gdal_path, shown, types=True):
            if geometry_type is not None:
                self.consider(n, shown, n, container, rel, geometry_type)
            else:
                self.not_read(f"{shown} layer '{n}'", "a table without geometry")

    def drawing(self, shown: Path, container: Container | None, rel: str) -> None:
        """The CAD layers of a DXF drawing; a drawing named as a contract layer is that layer."""
        as_layer, _ = contract_layer(shown.stem, self.field_map)
        drawing = self.read_drawing(
            shown,
            container=container,
            rel=rel,
            field_map=self.field_map,
            source_crs=self.source_crs,
            as_layer=as_layer,
        )
        self.listing.notes.extend(drawing.notes)
        for item in drawing.not_read:
            self.not_read(item["file"], item["reason"])
        for layer in drawing.layers.values():
            self.found.append(
                Source(
                    layer.name,
                    shown,
                    layer.inner,
                    layer.source_name,
                    layer.how,
                    container,
                    rel,
                    data=layer,
                )
            )

    def entries(self, container: Container) -> None:
        """The files of a folder (its own level) or of a zip (at any depth)."""
        names = container.names()
        if container.is_zip:
            names = [
                n
                for n in names
                if not any(part in LITTER or part.startswith(".") for part in n.split("/"))
            ]
            gdbs = sorted(
                {
                    "/".join(parts[: i + 1])
                    for n in names
                    for parts in [n.split("/")]
                    for i, part in enumerate(parts[:-1])
                    if part.lower().endswith(".gdb")
                }
            )
            if (
                not gdbs
                and any(PurePosixPath(n).name.lower() == "gdb" for n in names)
                and any(n.lower().endswith(".gdbtable") for n in names)
            ):
                # a zip of a File Geodatabase's contents, without its folder
                self.multi(container.gdal(""), container.root, container, "")
                return
            for g in gdbs:
                self.multi(container.gdal(g), container.display(g), container, g)
            names = [n for n in names if not any(n.startswith(g + "/") for g in gdbs)]
        stems_with_shp = {
            str(PurePosixPath(n).with_suffix("")).casefold()
            for n in names
            if n.lower().endswith(".shp")
        }
        for rel in names:
            pure = PurePosixPath(rel)
            shown = container.display(rel)
            suffix = pure.suffix.lower()
            if pure.name in LITTER or pure.name.startswith("."):
                continue
            if not container.is_zip:
                disk = container.root / rel
                if disk.is_dir():
                    if _is_gdb_dir(disk):
                        self.multi(str(disk), disk, None, "")
                    else:
                        self.not_read(
                            shown, "a folder inside the scheme folder: its files are not searched"
                        )
                    continue
            if suffix in SINGLE_SUFFIXES:
                self.consider(pure.stem, shown, None, container if container.is_zip else None, rel)
            elif suffix in MULTI_SUFFIXES:
                # one spatial layer: named by the file's stem; several: by their names
                inside = container if container.is_zip else None
                gdal_path = container.gdal(rel)
                if inside is None:
                    check_geopackage(shown)
                spatial = [n for n, g in list_layers(gdal_path, shown, types=True) if g]
                if len(spatial) == 1:
                    self.consider(pure.stem, shown, None, inside, rel, checked=True)
                else:
                    self.multi(gdal_path, shown, inside, rel)
            elif suffix in DRAWING_SUFFIXES:
                self.drawing(shown, container if container.is_zip else None, rel)
            elif suffix == ".dwg":
                _refuse_dwg(shown)
            elif suffix in RASTER_SUFFIXES:
                from .scheme import RASTER_ROLES

                role = next((r for r, stems in RASTER_ROLES.items() if pure.stem in stems), None)
                if role is None:
                    self.not_read(
                        shown,
                        "a raster not named as a raster role "
                        f"({', '.join(s for stems in RASTER_ROLES.values() for s in stems)})",
                    )
                elif container.is_zip:
                    raise InputError(
                        f"{shown}: rasters inside a zip archive are not read; extract it and "
                        f"give it with --{role}-raster"
                    )
            elif suffix in SIDECAR_SUFFIXES:
                stem = str(pure.with_suffix("")).casefold()
                if suffix in (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx"):
                    if stem not in stems_with_shp:
                        self._unreadable(pure, shown, f"a {suffix} without its .shp")
                # other sidecars belong to the file of their stem
            else:
                fmt = OTHER_FORMATS.get(suffix, f"'{suffix}'" if suffix else "without suffix")
                self._unreadable(pure, shown, f"{fmt} is not a format the checker reads")

    def _unreadable(self, pure: PurePosixPath, shown: Path, reason: str) -> None:
        """A file not read: an error when its name says it is a contract layer."""
        stem = pure.name.split(".")[0]
        layer, _ = contract_layer(stem, self.field_map)
        if layer is not None:
            raise InputError(
                f"{shown}: {reason}, and its name says it is the {layer} layer; convert it "
                f"to GeoPackage, Shapefile or GeoJSON (e.g. ogr2ogr {stem}.gpkg {pure.name}), "
                f"or remove it from the scheme"
            )
        self.not_read(shown, reason)


def layer_sources(
    path: Path,
    field_map: FieldMap | None,
    *,
    read_drawing: Callable[..., Any],
    source_crs: str | None = None,
) -> Listing:
    """Every input layer that stands for a contract layer, one per contract layer.

    Parameters
    ----------
    path : pathlib.Path
        A GeoPackage, File Geodatabase (``.gdb`` folder), single-layer vector
        file, DXF drawing, ``.zip`` archive or folder.
    field_map : FieldMap, optional
    read_drawing : callable
        :func:`compliance.reading.dxf.read_drawing`.
    source_crs : str, optional
        CRS of a drawing (``--source-crs``; else the mapping file's).

    Returns
    -------
    Listing

    Raises
    ------
    InputError
        The path does not exist; is a DWG or a format not read; a file in a
        folder or zip is named as a contract layer in a format not read; no
        layer stands for a contract layer; two stand for one at the same rank.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give a GeoPackage or a folder of layers")
    col = _Collector(path, field_map, read_drawing, source_crs)
    suffix = path.suffix.lower()
    if _is_gdb_dir(path):
        col.multi(str(path), path, None, "")
    elif path.is_dir():
        col.entries(Container(path))
    elif suffix == ".zip":
        col.entries(Container(path, is_zip=True))
    elif suffix in DRAWING_SUFFIXES:
        col.drawing(path, None, "")
    elif suffix == ".dwg":
        _refuse_dwg(path)
    elif suffix not in VECTOR_SUFFIXES:
        raise InputError(
            f"{path}: not a vector file this checker reads (expected one of "
            f"{', '.join(VECTOR_SUFFIXES)}, a .gdb File Geodatabase, a .dxf drawing, a .zip "
            f"of these or a folder)"
        )
    elif suffix in (".parquet", ".geoparquet"):
        col.consider(path.stem, path, None)
    else:
        if suffix == ".gpkg":
            check_geopackage(path)
        names = list_layers(str(path), path)
        if suffix == ".gpkg" or len(names) > 1:
            for n, spatial in names:
                if spatial:
                    col.consider(n, path, n)
        else:
            col.consider(path.stem, path, None)
    found, ignored, listing = col.found, col.ignored, col.listing
    if ignored and not found:
        raise InputError(
            f"{path}: no layer named as the data contract expects "
            f"({', '.join(LAYERS)}) or with a recognised Chinese name (地块, 道路, 建筑 …); "
            f"found {', '.join(ignored)}; rename the layers or files, or map them in a "
            f"mapping file (--field-map) under layers:"
        )
    if ignored:
        listing.notes.append(
            Note(
                f"{path}: not contract layers, not read: {', '.join(ignored)} "
                f"(name them in a mapping file under layers: to read them)",
                f"{path}：以下图层不属于数据约定，未读取：{'、'.join(ignored)}"
                f"（如需读取，请在映射文件 layers: 下注明）",
            )
        )
    others = [n for n in listing.not_read if "contract layer name" not in n["reason"]]
    if others:
        listing.notes.append(
            Note(
                f"{path}: not read: "
                + "; ".join(f"{Path(n['file']).name} ({n['reason']})" for n in others[:5])
                + (f"; and {len(others) - 5} more" if len(others) > 5 else ""),
                f"{path}：以下文件未读取："
                + "；".join(f"{Path(n['file']).name}（{n['reason']}）" for n in others[:5])
                + (f"；另有 {len(others) - 5:,} 个" if len(others) > 5 else ""),
            )
        )
    by_layer: dict[str, list[Source]] = {}
    for s in found:
        by_layer.setdefault(s.name, []).append(s)
    rank = {"mapping": 0, "contract": 1, "recognised": 2}
    chosen: list[Source] = []
    for name, group in by_layer.items():
        best = min(rank[s.how] for s in group)
        top = [s for s in group if rank[s.how] == best]
        merged = _merge_by_geometry(name, top)
        if merged is not None:
            listing.notes.append(
                Note(
                    f"{name}: {' and '.join(s.label for s in top)} read together "
                    f"({', '.join(s.geometry_type for s in top)})",
                    f"{layer_zh(name)}：{'与'.join(s.label for s in top)} 合并读取"
                    f"（{'、'.join(s.geometry_type for s in top)}）",
                )
            )
            group = [merged, *(s for s in group if all(s is not t for t in top))]
            top = [merged]
        if len(top) > 1:
            raise InputError(
                f"{path}: {' and '.join(s.label for s in top)} are both read as the {name} "
                f"layer; keep one, or name the one to read in a mapping file (--field-map), "
                f"e.g. layers: {{{top[0].source_name}: {name}}}"
            )
        chosen.append(top[0])
        others_ = [s for s in group if s is not top[0]]
        if others_:
            listing.notes.append(
                Note(
                    f"{name}: {', '.join(s.label for s in others_)} not read "
                    f"({top[0].label} is read as {name})",
                    f"{layer_zh(name)}：{'、'.join(s.label for s in others_)} 未读取"
                    f"（已读取 {top[0].label}）",
                )
            )
            for s in others_:
                listing.not_read.append(
                    {"file": s.where, "reason": f"{top[0].label} is read as {name} instead"}
                )
    for s in chosen:
        if s.source_name != s.name and s.data is None:
            listing.notes.append(
                Note(
                    f"layer '{s.source_name}' read as {s.name}",
                    f"图层 {s.source_name} 读作{layer_zh(s.name)}",
                )
            )
    order = list(LAYERS)
    listing.sources = sorted(chosen, key=lambda s: order.index(s.name))
    return listing


_FAMILY = {
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
    "Point": "point",
    "MultiPoint": "point",
}


def _merge_by_geometry(name: str, top: list[Source]) -> Source | None:
    """One source of several layers of one file, one per geometry family, when the layer holds both.

    A File Geodatabase holds one geometry type per feature class, so a roads
    layer of centrelines and road land (道路中心线, 道路用地) comes as two
    feature classes; the contract's ``roads`` takes both.
    """
    if len(top) < 2 or any(s.data is not None or s.parts for s in top):
        return None
    allowed = {_FAMILY[g] for g in LAYERS[name].geometry}
    if len(allowed) < 2:
        return None
    top = [s if s.geometry_type else _with_geometry_type(s) for s in top]
    families = [_FAMILY.get(s.geometry_type.removesuffix(" Z").removesuffix(" M")) for s in top]
    allowed = {_FAMILY[g] for g in LAYERS[name].geometry}
    if None in families or len(set(families)) != len(top) or not set(families) <= allowed:
        return None
    first = top[0]
    same_file = len({(s.file, s.container) for s in top}) == 1
    return Source(
        name,
        first.file if same_file else first.file.parent,
        "+".join((s.inner or s.file.name) if same_file else s.file.name for s in top),
        first.source_name,
        first.how,
        first.container,
        first.rel,
        parts=tuple(top),
    )


def _with_geometry_type(src: Source) -> Source:
    """The source with its geometry type as GDAL reports it ("" when unknown or unreadable)."""
    from dataclasses import replace

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(readable(src.gdal), layer=src.inner)
    except Exception:  # unreadable: reading the layer will say why
        return src
    return replace(src, geometry_type=str(info.get("geometry_type") or ""))


def read_bytes(src: Source) -> bytes:
    """The bytes of a source's file (a zip member read from the archive)."""
    if src.container is not None:
        return src.container.read(src.rel)
    return src.file.read_bytes()


def sidecar(src: Source, suffix: str) -> str | None:
    """A Shapefile source's sidecar (``.dbf``, ``.cpg``, ``.shx``) as spelled, or None."""
    if src.container is not None:
        rel = str(PurePosixPath(src.rel).with_suffix(suffix))
        return src.container.find(rel)
    for cand in (src.file.with_suffix(suffix), src.file.with_suffix(suffix.upper())):
        if cand.is_file():
            return str(cand)
    return None


@contextmanager
def open_sidecar(src: Source, found: str) -> Iterator[IO[bytes]]:
    """Open a sidecar found by :func:`sidecar` for reading bytes."""
    if src.container is not None:
        with src.container.open(found) as fh:
            yield fh
    else:
        with open(found, "rb") as fh:
            yield fh
