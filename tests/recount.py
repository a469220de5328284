"""An independent recount of road density, green access and plazas on real places.

Written apart from the checker, with other means, to test it against Chinese
practice as issue #11 states it:

- RD02: every counted road's length inside the boundary; a one-way road
  counts half wherever another one-way road runs the opposite way within
  40 m of it (its local direction, sampled every 2 m), in full elsewhere;
  ``*_link`` roads are not counted.
- GR01 / GR02: each residential parcel sampled on a 2 m grid; a sample is
  covered when it lies within the radius (300 m, 500 m) of a counted green
  space (touching pieces merged, ≥ 2,000 m² / parks ≥ 5,000 m²); a parcel
  fails when 1 % of its samples or more are uncovered, and warns instead
  when those lying farther than the radius inside the study extent's edge
  are under 1 %.
- SQ01: each plaza's hard surface (``hard_area_m2``, else its area) against
  the limit.

Run it as a script to print the comparison table for the six places:
``python tests/recount.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

import compliance

ROOT = Path(__file__).resolve().parents[1]
PLACES = (
    "nanjing_xinjiekou",
    "jiangxi_guixi",
    "shenzhen_longgang",
    "beijing_haidian",
    "beijing_cau",
    "shanghai_central_roads",
)
ROAD_CLASSES = {
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
}
GRID_M = 2.0


def place_path(place: str) -> Path:
    return ROOT / "sample_data" / place / "scheme.gpkg"


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.hypot(v[:, 0], v[:, 1])
    n[n == 0] = 1.0
    return v / n[:, None]


def _direction(lines: np.ndarray, at: np.ndarray) -> np.ndarray:
    length = shapely.length(lines)
    a = shapely.line_interpolate_point(lines, np.clip(at - 1.0, 0, length))
    b = shapely.line_interpolate_point(lines, np.clip(at + 1.0, 0, length))
    return _unit(shapely.get_coordinates(b) - shapely.get_coordinates(a))


def road_density(scheme: compliance.Scheme, gap_m: float = 40.0, step_m: float = 2.0) -> float:
    """Road-network density of the whole boundary, km/km², by 2 m samples."""
    roads = scheme.layer("roads")
    area = shapely.union_all(scheme.layer("boundary").geometry.to_numpy())
    roads = roads[roads.geometry.geom_type.str.contains("LineString")]
    cls = roads["road_class"].astype("string").str.lower()
    roads = roads[cls.isna() | cls.isin(ROAD_CLASSES)]
    one_way = roads["oneway"].astype("string").str.lower().isin(["true", "yes", "1", "-1"])
    geoms = roads.geometry.to_numpy()
    reverse = (roads["oneway"].astype("string") == "-1").fillna(False).to_numpy(dtype=bool)
    geoms = np.where(reverse, shapely.reverse(geoms), geoms)
    one_way = one_way.fillna(False).to_numpy(dtype=bool)
    total = float(shapely.length(shapely.intersection(geoms[~one_way], area)).sum())
    lines = geoms[one_way]
    if len(lines):
        length = shapely.length(lines)
        n = np.maximum(1, np.round(length / step_m)).astype(int)
        line = np.repeat(np.arange(len(lines)), n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        at = (k + 0.5) / np.repeat(n, n) * np.repeat(length, n)
        pts = shapely.line_interpolate_point(lines[line], at)
        own = _direction(lines[line], at)
        s, o = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=gap_m)
        keep = o != line[s]
        s, o = s[keep], o[keep]
        other = _direction(lines[o], shapely.line_locate_point(lines[o], pts[s]))
        opposite = (other * own[s]).sum(axis=1) < -0.7
        half = np.zeros(len(pts), dtype=bool)
        half[s[opposite]] = True
        inside = shapely.intersects(area, pts)
        total += float((np.repeat(length / n, n) * np.where(half, 0.5, 1.0) * inside).sum())
    return total / 1000.0 / (shapely.area(area) / 1e6)


def _grid(parcels: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample points on a ``step`` grid inside each parcel: (parcel index, points)."""
    idx: list[np.ndarray] = []
    pts: list[np.ndarray] = []
    for i, g in enumerate(parcels):  # a test's recount: clarity over speed
        x0, y0, x1, y1 = g.bounds
        xs = np.arange(np.floor(x0 / step) * step + step / 2, x1, step)
        ys = np.arange(np.floor(y0 / step) * step + step / 2, y1, step)
        xx, yy = np.meshgrid(xs, ys)
        p = shapely.points(xx.ravel(), yy.ravel())
        p = p[shapely.contains_xy(g, xx.ravel(), yy.ravel())]
        idx.append(np.full(len(p), i))
        pts.append(p)
    return np.concatenate(idx), np.concatenate(pts)


def green_statuses(
    scheme: compliance.Scheme,
    parcels: pd.DataFrame,
    kinds: tuple[str, ...],
    min_area_m2: float,
    radius_m: float,
    share: float = 0.01,
) -> pd.Series:
    """Status of each residential parcel (``feature_id`` → pass / warn / fail)."""
    greens = scheme.layer("green_spaces")
    if len(parcels) == 0 or greens is None:
        return pd.Series([], dtype=object)
    kind = greens["kind"].astype("string").str.lower()
    merged = shapely.get_parts(shapely.union_all(greens[kind.isin(kinds)].geometry.to_numpy()))
    merged = merged[shapely.area(merged) >= min_area_m2]
    served = shapely.buffer(shapely.union_all(merged), radius_m)
    shapely.prepare(served)
    geoms = parcels.geometry.to_numpy()
    which, pts = _grid(geoms, GRID_M)
    out = ~shapely.intersects(served, pts)
    n = np.bincount(which, minlength=len(geoms))
    bad = np.bincount(which, weights=out, minlength=len(geoms))
    boundary = scheme.layer("boundary")
    edge = shapely.union_all(boundary.geometry.to_numpy())
    inner = shapely.buffer(edge, -radius_m)
    sure = np.bincount(which, weights=out & shapely.intersects(inner, pts), minlength=len(geoms))
    extent = bool(
        (boundary.get("kind", pd.Series(dtype="string")).astype("string") == "extent").any()
        or ("study_extent" in boundary.columns and boundary["study_extent"].fillna(False).any())
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        fails = (bad / n >= share) & (bad * GRID_M**2 > 1.0)
        sure_fails = (sure / n >= share) & (sure * GRID_M**2 > 1.0)
    status = np.where(fails, np.where(extent & ~sure_fails, "warn", "fail"), "pass")
    return pd.Series(status, index=parcels["feature_id"].astype(str).to_numpy())


def compare_place(place: str) -> dict[str, object]:
    """The checker's results and the recount's for one place (profile ``national``)."""
    scheme = compliance.read_scheme(place_path(place))
    result = compliance.evaluate(scheme, compliance.load_profile("national"))
    f = result.findings
    row: dict[str, object] = {"place": place}
    rd = f[f["rule_id"] == "RD02"]
    row["RD02 checker"] = float(rd["measured"].iloc[0])
    row["RD02 recount"] = road_density(scheme)
    for code, kinds, min_area, radius in (
        ("GR01", ("park", "green"), 2000.0, 300.0),
        ("GR02", ("park",), 5000.0, 500.0),
    ):
        mine = f[f["rule_id"] == code].set_index(f["feature_id"].astype(str)[f["rule_id"] == code])
        parcels = scheme.layer("parcels")
        if parcels is None or mine.empty or mine["status"].iloc[0] == "not_evaluated":
            continue
        parcels = parcels[parcels["feature_id"].astype(str).isin(mine.index)]
        theirs = green_statuses(scheme, parcels, kinds, min_area, radius)
        same = mine["status"].reindex(theirs.index) == theirs
        row[f"{code} parcels"] = len(theirs)
        row[f"{code} differ"] = sorted(theirs.index[~same.to_numpy()])
    sq = f[f["rule_id"] == "SQ01"]
    boundary = scheme.layer("boundary")
    kinds = (
        set(boundary["kind"].astype("string").str.lower().dropna()) if "kind" in boundary else set()
    )
    squares = scheme.layer("squares")
    if kinds == {"city"}:  # 县城 clause: a city district is out of its scope
        row["SQ01 checker"] = sq["status"].iloc[0]
        row["SQ01 recount"] = "not_evaluated (city)"
    elif squares is None or squares.empty:
        row["SQ01 checker"] = sq["status"].iloc[0]
        row["SQ01 recount"] = "not_evaluated (no plazas)"
    else:
        squares = squares.set_index(squares["feature_id"].astype(str))
        area = squares.geometry.area
        hard = squares["hard_area_m2"].fillna(area) if "hard_area_m2" in squares else area
        limit = float(sq["limit"].iloc[0])
        theirs_sq = pd.Series(np.where(hard > limit, "fail", "pass"), index=squares.index)
        mine_sq = sq.set_index(sq["feature_id"].astype(str))["status"].reindex(squares.index)
        row["SQ01 checker"] = ",".join(mine_sq.replace("warn", "fail").fillna("-"))
        row["SQ01 recount"] = ",".join(theirs_sq)
    return row


if __name__ == "__main__":
    places = sys.argv[1:] or list(PLACES)
    rows = [compare_place(p) for p in places if place_path(p).exists()]
    print(pd.DataFrame(rows).to_string())
