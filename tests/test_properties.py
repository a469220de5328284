"""Property tests: random valid and broken geometries and attribute values.

Hypothesis writes a scheme GeoPackage of random layers (boxes, bow-ties,
duplicate points, zero-area slivers, rings of too few points, empty and null
geometries, tiny and huge features; numbers, NaN, infinities, negatives and
text with and without units in the numeric fields), runs ``compliance check``
with the Hebi profile (the most rules) and asserts that the run either

* succeeds (exit 0 or 1) with complete outputs and every finding geometry in
  ``findings.geojson`` valid, or null for a rule not evaluated, or
* fails with exit 2 and exactly one line on stderr, ``compliance: error: …``,
  writing nothing;

never exit 3, never a traceback, and the input is byte-identical afterwards.

The path rules have their own property: in a random tree of files, folders
and symbolic links, an ``--out`` that ``check_out_dir`` accepts (with
``--force``) can be replaced whole without changing a byte of any input, and
one it refuses for an input holds that input.

The number of examples is bounded: ``COMPLIANCE_PROPERTY_EXAMPLES`` (default
25; e.g. 500 for a long run on demand).  A failing example is printed as
drawn, with the blob to replay it (``@reproduce_failure``); set
``COMPLIANCE_PROPERTY_SHRINK=1`` to have it shrunk first (slow: each try is a
run).  No example database is written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from click.testing import CliRunner
from helpers import GK, X0, Y0
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from compliance.cli import main

EXAMPLES = int(os.environ.get("COMPLIANCE_PROPERTY_EXAMPLES", "25"))
#: Shrinking a failing scheme can take minutes (each try is a run): on demand only.
SHRINK = os.environ.get("COMPLIANCE_PROPERTY_SHRINK", "") not in ("", "0")
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a run reads, measures and writes files: seconds, not milliseconds
    database=None,  # nothing written into the checkout
    phases=tuple(Phase) if SHRINK else tuple(p for p in Phase if p is not Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

# ----------------------------------------------------------------------------- strategies

#: Offsets from the origin of the test schemes (X0, Y0 in EPSG:4547), metres:
#: often on a 550 m grid (neighbours 50 m to 1 km apart, as clusters, parcels
#: and parks are), else anywhere within a few km or a few hundred km.
OFFSET = st.one_of(
    st.integers(-4, 4).map(lambda k: 550.0 * k),
    st.floats(-2_000, 2_000),
    st.floats(-200_000, 200_000),
)
#: Feature sizes, metres: from a millimetre to 100 km, often 500 m.
SIZE = st.one_of(
    st.just(500.0),
    st.floats(1e-3, 1.0),
    st.floats(1.0, 3_000.0),
    st.floats(3_000.0, 100_000.0),
)

#: Kinds of polygon; plain boxes are drawn more often than each kind of breakage,
#: rings of too few points (which make a whole layer unreadable) least often.
POLYGON_KINDS = (
    "box",
    "box",
    "box",
    "bow_tie",
    "duplicate_points",
    "zero_area",
    "spike",
    "hole_outside",
    "overlapping_multi",
    "empty",
    "null",
    "few_points",
)
LINE_KINDS = ("line", "zigzag", "zero_length", "self_crossing", "empty", "null", "one_point")


@st.composite
def polygons(draw: st.DrawFn) -> tuple[str, Any]:
    """(kind, geometry); ``few_points`` gives raw WKB (shapely cannot build such a ring)."""
    kind = draw(st.sampled_from(POLYGON_KINDS))
    x, y = X0 + draw(OFFSET), Y0 + draw(OFFSET)
    w, h = draw(SIZE), draw(SIZE)
    if kind == "box":
        return kind, box(x, y, x + w, y + h)
    if kind == "bow_tie":
        return kind, Polygon([(x, y), (x + w, y + h), (x + w, y), (x, y + h)])
    if kind == "duplicate_points":
        return kind, Polygon(
            [(x, y), (x, y), (x + w, y), (x + w, y + h), (x + w, y + h), (x, y + h)]
        )
    if kind == "zero_area":
        return kind, Polygon([(x, y), (x + w, y), (x + 2 * w, y)])
    if kind == "spike":
        top = [(x + w / 2, y + h), (x + w / 2, y + 3 * h), (x + w / 2, y + h)]  # a spike
        return kind, Polygon([(x, y), (x + w, y), (x + w, y + h), *top, (x, y + h)])
    if kind == "hole_outside":
        hole = [(x + 2 * w, y), (x + 3 * w, y), (x + 3 * w, y + h), (x + 2 * w, y + h)]
        return kind, Polygon(box(x, y, x + w, y + h).exterior.coords, [hole])
    if kind == "overlapping_multi":
        return kind, MultiPolygon([box(x, y, x + w, y + h), box(x + w / 2, y, x + 2 * w, y + h)])
    if kind == "empty":
        return kind, Polygon()
    if kind == "null":
        return kind, None
    n = draw(st.integers(1, 3))  # a ring of 1 to 3 points: not a ring at all
    return kind, _wkb_polygon([(x + i * w, y + (i % 2) * h) for i in range(n)])


@st.composite
def lines(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(LINE_KINDS))
    x, y = X0 + draw(OFFSET), Y0 + draw(OFFSET)
    w, h = draw(SIZE), draw(SIZE)
    if kind == "line":
        return kind, LineString([(x, y), (x + w, y + h)])
    if kind == "zigzag":
        return kind, LineString([(x, y), (x + w, y), (x + w, y), (x, y + h), (x + w, y + h)])
    if kind == "zero_length":
        return kind, LineString([(x, y), (x, y)])
    if kind == "self_crossing":
        return kind, LineString([(x, y), (x + w, y + h), (x + w, y), (x, y + h)])
    if kind == "empty":
        return kind, LineString()
    if kind == "null":
        return kind, None
    return kind, _wkb_line([(x, y)])


@st.composite
def points(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["point", "point", "empty", "null", "polygon"]))
    if kind == "polygon":  # facilities may be polygons too
        return draw(polygons())
    x, y = X0 + draw(OFFSET), Y0 + draw(OFFSET)
    return kind, {"point": Point(x, y), "empty": Point(), "null": None}[kind]


def _wkb_polygon(ring: list[tuple[float, float]]) -> bytes:
    """ISO WKB (little-endian) of a polygon with one ring, however few its points."""
    body = struct.pack("<II", 1, len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)
    return struct.pack("<BI", 1, 3) + body


def _wkb_line(points: list[tuple[float, float]]) -> bytes:
    body = struct.pack("<I", len(points)) + b"".join(struct.pack("<dd", *p) for p in points)
    return struct.pack("<BI", 1, 2) + body


FINITE = st.floats(-1e7, 1e7, allow_nan=False)
ODD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e300, -1e-300])
UNITS = [
    "",
    "米",
    "m",
    " m",
    "公顷",
    "ha",
    "平方米",
    "㎡",
    "亩",
    "层",
    "人",
    "万",
    "万人",
    "km",
    "%",
]
PLAIN = st.builds(lambda v: f"{v:g}", FINITE)
WITH_UNIT = st.builds(lambda v, u: f"{v:g}{u}", FINITE, st.sampled_from(UNITS))
ODD_TEXT = st.one_of(
    st.sampled_from(
        ["", " ", "四十米", "40 apples", "30-40米", "约40米", "NaN", "-", "１２,０００"]
    ),
    st.text(max_size=6),
)
#: Text in a numeric field: mostly numbers (plain or with a unit), at times anything,
#: so that most runs get past reading and exercise the checks.
TEXT = st.one_of(PLAIN, PLAIN, PLAIN, WITH_UNIT, ODD_TEXT)


def numbers(n: int) -> st.SearchStrategy[list[float]]:
    """A column of ``n`` numbers, with NaN, infinities and negatives among them."""
    return st.lists(st.one_of(FINITE, FINITE, ODD), min_size=n, max_size=n)


def values(n: int) -> st.SearchStrategy[list[Any]]:
    """A column of ``n`` values: all numbers (with NaN, infinities, negatives) or all text."""
    numbers = st.lists(st.one_of(FINITE, ODD), min_size=n, max_size=n)
    texts = st.lists(st.one_of(TEXT, st.none()), min_size=n, max_size=n)
    return st.one_of(numbers, texts)


LAYERS = {
    # layer: (geometry strategy, numeric fields, text fields with their choices)
    "squares": (polygons, ["hard_area_m2"], {}),
    "buildings": (
        polygons,
        ["height_m", "floors", "floor_area_m2"],
        {"use": ["residential", "住宅", "office", None], "is_new": ["1", "0", "是", None]},
    ),
    "roads": (lines, ["red_line_width_m"], {"road_class": ["secondary", "trunk", None, "x"]}),
    "parcels": (polygons, ["population", "floor_area_m2"], {"land_use": ["0701", "R", 701, None]}),
    "green_spaces": (polygons, [], {"kind": ["park", "green", "protective", None]}),
    "clusters": (polygons, ["population"], {"name": ["北", None, ""]}),
    "corridors": (polygons, [], {"name": ["廊道", None]}),
    "facilities": (points, [], {"kind": ["school", "clinic", "market", None]}),
    "boundary": (polygons, ["population"], {"kind": ["city", "county", None]}),
}


@st.composite
def schemes(draw: st.DrawFn) -> dict[str, tuple[list[Any], dict[str, list[Any]]]]:
    """Layers by name: (geometries, columns), each layer of 1 to 4 features."""
    names = draw(st.lists(st.sampled_from(sorted(LAYERS)), min_size=1, max_size=4, unique=True))
    out = {}
    for name in names:
        geometry, numeric, text = LAYERS[name]
        n = draw(st.integers(1, 4))
        geoms = [draw(geometry())[1] for _ in range(n)]
        columns: dict[str, list[Any]] = {f: draw(values(n)) for f in numeric}
        for f, choices in text.items():
            columns[f] = [
                None if v is None else str(v)
                for v in draw(st.lists(st.sampled_from(choices), min_size=n, max_size=n))
            ]
        out[name] = (geoms, columns)
    return out


# ----------------------------------------------------------------------------- writing


def write_scheme(path: Path, layers: dict[str, tuple[list[Any], dict[str, list[Any]]]]) -> None:
    """Write the layers into one GeoPackage; raw WKB geometries are patched in afterwards."""
    raw: dict[str, dict[int, bytes]] = {}
    for name, (geoms, columns) in layers.items():
        shaped = [Point(X0, Y0) if isinstance(g, bytes) else g for g in geoms]
        patch = {i + 1: g for i, g in enumerate(geoms) if isinstance(g, bytes)}  # FID from 1
        if patch:
            raw[name] = patch
            if all(isinstance(g, bytes) for g in geoms):
                shaped[0] = box(X0, Y0, X0 + 1, Y0 + 1)  # a layer type to write with
        cols = {
            f: (
                np.asarray(v, dtype=float)  # NaN stays NaN, not NULL
                if all(isinstance(x, float) for x in v)
                else pd.array(v, dtype="string")
            )
            for f, v in columns.items()
        }
        gdf = gpd.GeoDataFrame(cols, geometry=shaped, crs=GK)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf.to_file(path, layer=name, engine="pyogrio")
    if raw:
        _patch_geometries(path, raw)


def _patch_geometries(path: Path, raw: dict[str, dict[int, bytes]]) -> None:
    con = sqlite3.connect(path)
    try:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            con.execute(f'DROP TRIGGER "{trigger}"')  # R-tree triggers need GDAL's functions
        for layer, blobs in raw.items():
            srs, column = con.execute(
                "SELECT srs_id, column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                (layer,),
            ).fetchone()
            for fid, wkb in blobs.items():
                blob = b"GP\x00\x01" + struct.pack("<i", srs) + wkb
                con.execute(f'UPDATE "{layer}" SET "{column}" = ? WHERE fid = ?', (blob, fid))
        con.commit()
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- properties


def _gist(error: str) -> str:
    """The kind of an error line, without paths and values (for hypothesis statistics)."""
    words = error.split(": ", 2)[-1].split()
    return " ".join(w for w in words[:8] if "/" not in w and "'" not in w)


def assert_run_is_sound(scheme: Path, out: Path, profile: str = "hebi") -> int:
    """Run the CLI and assert the properties of the module docstring; return the exit code."""
    before = _digest(scheme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = CliRunner().invoke(
            main, ["check", str(scheme), "--profile", profile, "--out", str(out), "--no-map"]
        )
    assert _digest(scheme) == before, "the input changed"
    text = res.stdout + res.stderr
    assert res.exit_code in (0, 1, 2), f"exit {res.exit_code}: {res.stderr}"
    assert "Traceback" not in text and "internal error" not in text, text
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
    event(f"exit {res.exit_code}" + (f": {_gist(res.stderr)}" if res.exit_code == 2 else ""))
    if res.exit_code == 2:
        assert res.stderr.startswith("compliance: error: "), res.stderr
        assert res.stderr.count("\n") == 1, res.stderr
        assert not out.exists()
        return 2
    assert all("warning" in line for line in res.stderr.splitlines()), res.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "findings.geojson",
        "findings.gpkg",
        "findings.xlsx",
        "opinion.docx",
        "report.html",
        "run.json",
        "summary.csv",
    ]
    data = json.loads((out / "findings.geojson").read_text("utf-8"))
    for feature in data["features"]:
        props, geometry = feature["properties"], feature["geometry"]
        where = f"{props['rule_id']} {props['feature_id']} {props['status']}"
        if geometry is None:
            assert props["status"] == "not_evaluated", f"{where}: no geometry"
            continue
        geom = shapely.geometry.shape(geometry)
        assert not geom.is_empty, f"{where}: empty geometry"
        assert geom.is_valid, f"{where}: {shapely.is_valid_reason(geom)}"
    return int(res.exit_code)


@SETTINGS
@given(layers=schemes())
def test_random_schemes_succeed_with_valid_findings_or_fail_in_one_line(layers):
    with tempfile.TemporaryDirectory() as tmp:
        scheme = Path(tmp) / "scheme.gpkg"
        write_scheme(scheme, layers)
        assert_run_is_sound(scheme, Path(tmp) / "out")


@st.composite
def neighbourhoods(draw: st.DrawFn) -> dict[str, tuple[list[Any], dict[str, list[Any]]]]:
    """Valid boxes on a 550 m grid: clusters 10 m to 1 km apart, corridors, parcels, parks.

    Exercises what random placement rarely does: pairs of clusters within the
    search distance of the continuity rule, with and without corridors.
    """
    cells = st.tuples(st.integers(0, 3), st.integers(0, 2))

    def boxes(n_min: int, n_max: int) -> list[Polygon]:
        placed = draw(st.lists(cells, min_size=n_min, max_size=n_max, unique=True))
        sizes = draw(
            st.lists(
                st.sampled_from([100.0, 300.0, 450.0, 540.0]),
                min_size=len(placed),
                max_size=len(placed),
            )
        )
        return [
            box(X0 + 550 * cx, Y0 + 550 * cy, X0 + 550 * cx + w, Y0 + 550 * cy + w)
            for (cx, cy), w in zip(placed, sizes, strict=True)
        ]

    clusters = boxes(2, 6)
    out: dict[str, tuple[list[Any], dict[str, list[Any]]]] = {
        "clusters": (clusters, {"population": draw(numbers(len(clusters)))})
    }
    if draw(st.booleans()):
        strips = [
            box(X0 - 100, Y0 + 540, X0 + 2300, Y0 + 550 + draw(st.sampled_from([5.0, 150.0])))
        ]
        out["corridors"] = (strips, {"name": ["廊道"]})
    if draw(st.booleans()):
        parcels = boxes(1, 6)
        uses = draw(
            st.lists(
                st.sampled_from(["0701", "R2", "1401", "0901"]),
                min_size=len(parcels),
                max_size=len(parcels),
            )
        )
        out["parcels"] = (parcels, {"land_use": uses, "population": draw(numbers(len(parcels)))})
    if draw(st.booleans()):
        parks = boxes(1, 3)
        kinds = draw(
            st.lists(st.sampled_from(["park", "green"]), min_size=len(parks), max_size=len(parks))
        )
        out["green_spaces"] = (parks, {"kind": kinds})
    return out


#: Clusters 50 m and 500 m apart and no corridors layer: EC02 must report, not crash.
CLUSTERS_WITHOUT_CORRIDORS = {
    "clusters": (
        [box(X0 + x, Y0, X0 + x + w, Y0 + 500) for x, w in [(0, 500), (550, 450), (1500, 500)]],
        {"population": [1000.0, 2000.0, 3000.0]},
    )
}

#: A corridor wholly covered by housing: EC01 fails, and must say where.
CORRIDOR_COVERED_BY_HOUSING = {
    "corridors": ([box(X0, Y0, X0 + 500, Y0 + 500)], {"name": ["廊道"]}),
    "parcels": ([box(X0, Y0, X0 + 500, Y0 + 500)], {"land_use": ["0701"]}),
}


#: Found by hypothesis: CL03's cells over clusters and parcels with odd populations once
#: made geopandas' overlay raise on a GeometryCollection (exit 3).
ODD_POPULATIONS = {
    "clusters": (
        [
            box(X0 + 1100, Y0, X0 + 1640, Y0 + 540),
            box(X0 + 1650, Y0, X0 + 2100, Y0 + 450),
            box(X0 + 550, Y0 + 550, X0 + 1000, Y0 + 1000),
            box(X0, Y0 + 1100, X0 + 300, Y0 + 1400),
            box(X0 + 1100, Y0 + 550, X0 + 1400, Y0 + 850),
            box(X0 + 1650, Y0 + 1100, X0 + 1950, Y0 + 1400),
        ],
        {"population": [-1.0, -1.0, 5686237.95196332, -1.0, -1.0, float("nan")]},
    ),
    "corridors": ([box(X0 - 100, Y0 + 540, X0 + 2300, Y0 + 700)], {"name": ["廊道"]}),
    "parcels": (
        [
            box(X0 + 1650, Y0, X0 + 2100, Y0 + 450),
            box(X0 + 1100, Y0, X0 + 1400, Y0 + 300),
            box(X0, Y0, X0 + 540, Y0 + 540),
            box(X0 + 1650, Y0 + 550, X0 + 1950, Y0 + 850),
            box(X0 + 550, Y0 + 550, X0 + 850, Y0 + 850),
            box(X0 + 1650, Y0 + 1100, X0 + 1750, Y0 + 1200),
        ],
        {
            "land_use": ["0901", "0901", "0701", "0701", "R2", "R2"],
            "population": [
                -5.403088421108303e-247,
                1.05,
                float("inf"),
                1181988.0958935674,
                float("-inf"),
                -1831062.526935583,
            ],
        },
    ),
    "green_spaces": ([box(X0 + 1100, Y0 + 1100, X0 + 1640, Y0 + 1640)], {"kind": ["green"]}),
}


@SETTINGS
@example(layers=CLUSTERS_WITHOUT_CORRIDORS)
@example(layers=CORRIDOR_COVERED_BY_HOUSING)
@example(layers=ODD_POPULATIONS)
@given(layers=neighbourhoods())
def test_random_neighbourhoods_succeed_with_valid_findings_or_fail_in_one_line(layers):
    with tempfile.TemporaryDirectory() as tmp:
        scheme = Path(tmp) / "scheme.gpkg"
        write_scheme(scheme, layers)
        assert_run_is_sound(scheme, Path(tmp) / "out")


#: Longitude and latitude anywhere on Earth, with the edges.
LONLAT = st.tuples(
    st.one_of(st.floats(-180, 180), st.sampled_from([-180.0, 0.0, 114.3, 180.0])),
    st.one_of(st.floats(-90, 90), st.sampled_from([-90.0, -60.0, 0.0, 35.7, 60.0, 90.0])),
)


@settings(SETTINGS, max_examples=max(EXAMPLES // 2, 1))
@given(corner=LONLAT, size_deg=st.floats(1e-7, 5.0))
def test_schemes_anywhere_on_earth_are_measured_or_refused_in_one_line(corner, size_deg):
    lon, lat = corner
    plaza = box(lon, lat, min(lon + size_deg, 180.0), min(lat + size_deg, 90.0))
    with tempfile.TemporaryDirectory() as tmp:
        scheme = Path(tmp) / "scheme.gpkg"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gpd.GeoDataFrame({"id": ["P0"]}, geometry=[plaza], crs="EPSG:4326").to_file(
                scheme, layer="squares"
            )
        assert_run_is_sound(scheme, Path(tmp) / "out")


# ----------------------------------------------------------------------------- path rules

#: Names of files and folders of the random trees: plain, with a blank, Chinese, hidden.
NAMES = st.sampled_from(["a", "b", "c d", "数据", ".h"])
PARTS = st.lists(NAMES, min_size=1, max_size=3)


def _tree_digest(root: Path, skip: Path | None) -> dict[str, bytes]:
    """Every regular file under ``root`` (not following links) and its bytes, but under ``skip``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        real = Path(os.path.realpath(p))
        if skip is not None and (real == skip or skip in real.parents):
            continue
        out[str(p.relative_to(root))] = p.read_bytes()
    return out


def _input_files(path: Path, out: Path) -> dict[str, bytes]:
    """What an input consists of: the file it is (or points to), or its folder's files."""
    if path.is_dir():
        return {f"{path}/{k}": v for k, v in _tree_digest(path, out).items()}
    return {str(path): path.read_bytes()} if path.is_file() else {}


@settings(SETTINGS, max_examples=max(EXAMPLES * 4, 1))
@given(
    files=st.lists(PARTS, min_size=1, max_size=6),
    links=st.lists(st.tuples(PARTS, PARTS), max_size=3),
    picks=st.lists(st.integers(0, 100), min_size=1, max_size=3),
    parent_of=st.lists(st.booleans(), min_size=3, max_size=3),
    out_parts=PARTS,
    dotdot=st.booleans(),
)
def test_an_output_replaced_never_deletes_an_input(
    files, links, picks, parent_of, out_parts, dotdot
):
    """Whatever the tree, links and paths: an --out accepted (with --force) can be replaced
    without losing a byte of any input; one refused names an input it holds."""
    from compliance.errors import OutputError
    from compliance.outputs.files import check_out_dir
    from compliance.paths import is_within

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made: list[Path] = []
        for parts in files:  # a handful of files
            p = root.joinpath(*parts)
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(("/".join(parts)).encode())
                made.append(p)
            except OSError:  # a file where a folder is wanted: skip it
                continue
        for link, target in links:  # symbolic links to anything in the tree
            p = root.joinpath(*link)
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.symlink_to(root.joinpath(*target))
                made.append(p)
            except OSError:
                continue
        if not made:
            return
        inputs = []
        for k, pick in enumerate(picks):  # one to three inputs, files or their folders
            p = made[pick % len(made)]
            inputs.append(p.parent if parent_of[k] and p.parent != root else p)
        out = root.joinpath(*out_parts)
        given = (out.parent / ".." / out.parent.name / out.name) if dotdot else out
        event("dotdot" if dotdot else "plain")
        before = _tree_digest(root, None)
        try:
            resolved = check_out_dir(given, force=True, inputs=inputs)
        except OutputError as exc:
            assert _tree_digest(root, None) == before  # refused: nothing touched
            if "would delete the input" in str(exc):
                event("refused: input inside")
                assert any(is_within(i, given) for i in inputs)
            return
        event("accepted")
        kept = {k: v for i in inputs for k, v in _input_files(i, resolved).items()}
        if resolved.is_dir():  # what write_outputs does to it with --force: replace it whole
            import shutil

            shutil.rmtree(resolved)
        after = {k: v for i in inputs for k, v in _input_files(i, resolved).items()}
        assert after == kept, "replacing the output deleted or changed an input"
