"""What changed between two versions of a scheme (修改后复核): findings fixed, new, changed.

A reviewer re-checking a revised submission, or a designer saving a drawing,
wants the findings of the second version set against those of the first:
which violations are resolved (``fixed``), which appeared (``new``), which
are still there with a different measured value (``changed``) and which are
as they were (``unchanged``).

Findings are matched rule by rule: first by ``rule_id`` and ``feature_id``
(the scheme's ``id`` field, a recognised id field or the GeoPackage FID), and
those left over by geometry: the same rule's findings whose geometries
overlap by at least :data:`MIN_OVERLAP` of their union (intersection over
union, measured in metres in a local projected CRS; lines and points are
widened by :data:`LINE_TOLERANCE_M` first), so a feature whose id was lost or
renumbered on export is still recognised.

:func:`diff_findings` does the matching and returns a GeoDataFrame;
:func:`diff_versions` reads two schemes or output folders and compares them;
:func:`write_diff` writes ``diff.geojson`` and ``diff.html``.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .engine import DECIMALS, FINDING_COLUMNS, UNIT_EN, UNIT_ZH, fmt
from .errors import InputError, OutputError

#: The values of the ``change`` property, in the order they are reported.
CHANGES: tuple[str, ...] = ("fixed", "new", "changed", "unchanged")

#: Statuses that are violations: a finding leaving them is ``fixed``, entering them ``new``.
VIOLATION = ("fail", "warn")

#: Least intersection over union for two findings of a rule to be the same feature
#: when their ids do not match (a method parameter of ours, not a plan's limit).
MIN_OVERLAP = 0.8

#: Half-width, metres, lines and points are widened by before their overlap is measured.
LINE_TOLERANCE_M = 5.0

DIFF_GEOJSON = "diff.geojson"
DIFF_HTML = "diff.html"

#: Columns :func:`diff_findings` adds to the findings' own.
DIFF_COLUMNS = ["change", "version", "status_before", "measured_before", "feature_id_before"]


def _prepared(findings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The findings with every column of :data:`FINDING_COLUMNS`, ids as text, a clean index."""
    f = findings.reset_index(drop=True).copy()
    for col in FINDING_COLUMNS:
        if col not in f.columns:
            f[col] = np.nan if col in ("measured", "limit", "limit_low") else ""
    for col in ("rule_id", "feature_id", "status"):
        f[col] = f[col].fillna("").astype(str)
    f["measured"] = pd.to_numeric(f["measured"], errors="coerce").astype(float)
    return f


def _key_pairs(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> pd.DataFrame:
    """Row positions (``o``, ``n``) of the same rule and feature id, unique on each side."""

    def keyed(f: gpd.GeoDataFrame) -> pd.DataFrame:
        k = pd.DataFrame({"rule_id": f["rule_id"], "feature_id": f["feature_id"]})
        k["pos"] = np.arange(len(f))
        return k[~k.duplicated(["rule_id", "feature_id"], keep=False)]

    pairs = keyed(old).merge(keyed(new), on=["rule_id", "feature_id"], suffixes=("_o", "_n"))
    return pd.DataFrame({"o": pairs["pos_o"].to_numpy(int), "n": pairs["pos_n"].to_numpy(int)})


def _utm_zone(geoms: gpd.GeoSeries) -> str:
    """The WGS 84 / UTM zone of the middle of geometries in degrees (``EPSG:326zz`` / ``327zz``)."""
    x0, y0, x1, y1 = geoms.total_bounds
    if not np.isfinite([x0, y0, x1, y1]).all():
        return "EPSG:3857"
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    zone = int(np.clip((lon + 180) // 6 + 1, 1, 60))
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _metric_areas(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' geometries as areas in a metric CRS (lines and points widened)."""
    crs = old.crs or new.crs
    if crs is None:
        raise InputError("the findings to compare have no CRS; expected EPSG:4326 as written")
    both = pd.concat([old.geometry.to_crs(crs), new.geometry.to_crs(crs)], ignore_index=True)
    both = gpd.GeoSeries(both, crs=crs)
    if both.crs is not None and both.crs.is_geographic:
        both = both.to_crs(_utm_zone(both))
    geoms = both.to_numpy()
    thin = shapely.get_dimensions(geoms) < 2
    geoms = geoms.copy()
    geoms[thin] = shapely.buffer(geoms[thin], LINE_TOLERANCE_M)
    return geoms[: len(old)], geoms[len(old) :]


def _geometry_pairs(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, o_left: np.ndarray, n_left: np.ndarray
) -> pd.DataFrame:
    """Pairs of still unmatched findings of one rule whose geometries overlap by MIN_OVERLAP."""
    empty = pd.DataFrame({"o": np.array([], int), "n": np.array([], int)})
    if not len(o_left) or not len(n_left):
        return empty
    g_old, g_new = _metric_areas(old.iloc[o_left], new.iloc[n_left])
    ok_o = ~(shapely.is_missing(g_old) | shapely.is_empty(g_old))
    ok_n = ~(shapely.is_missing(g_new) | shapely.is_empty(g_new))
    tree = shapely.STRtree(g_new[ok_n])
    i_o, i_n = tree.query(g_old[ok_o], predicate="intersects")
    if not len(i_o):
        return empty
    o_pos = o_left[ok_o][i_o]
    n_pos = n_left[ok_n][i_n]
    go, gn = g_old[ok_o][i_o], g_new[ok_n][i_n]
    same_rule = old["rule_id"].to_numpy()[o_pos] == new["rule_id"].to_numpy()[n_pos]
    inter = shapely.area(shapely.intersection(go, gn))
    union = shapely.area(shapely.union(go, gn))
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    cand = pd.DataFrame({"o": o_pos, "n": n_pos, "iou": iou})[same_rule & (iou >= MIN_OVERLAP)]
    cand = cand.sort_values("iou", ascending=False, kind="stable")
    cand = cand.drop_duplicates("o").drop_duplicates("n")  # best match first, one to one
    return cand[["o", "n"]].reset_index(drop=True)


def _same_value(before: np.ndarray, after: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Whether measured values are equal as printed (to each unit's decimals); NaN equals NaN."""
    decimals = np.array([DECIMALS.get(str(u), 2) for u in pd.unique(units)])
    places = pd.Series(decimals, index=pd.unique(units)).reindex(units).to_numpy(dtype=float)
    scale = 10.0**places
    b, a = np.round(before * scale), np.round(after * scale)
    return (b == a) | (np.isnan(before) & np.isnan(after))


def diff_findings(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Match the findings of two versions and say what changed for each.

    Parameters
    ----------
    old, new : geopandas.GeoDataFrame
        Findings of the first and the second version, columns of
        ``findings.geojson`` (:data:`compliance.engine.FINDING_COLUMNS`),
        any CRS (both are compared in a local metric CRS; EPSG:4326 as
        written is usual).  Usually without ``pass`` findings, as written.

    Returns
    -------
    geopandas.GeoDataFrame
        Every finding of either version once, in the CRS of ``new``, with
        the findings' columns and:

        ``change``
            ``fixed``: a finding of ``old`` that ``new`` does not have
            (the feature is gone or passes), or a violation (``fail`` or
            ``warn``) that is no longer one (e.g. excepted); ``new``: a
            finding of ``new`` that ``old`` did not have, or a violation
            that was none; ``changed``: a finding in both whose measured value (to
            the unit's printed decimals) or status moved; ``unchanged``.
        ``version``
            ``old`` or ``new``: which version the row's properties come
            from (``old`` for ``fixed`` findings, ``new`` otherwise).
        ``status_before``, ``measured_before``, ``feature_id_before``
            The matched finding of ``old`` (empty or NaN when none).

        Rows are ordered by change (:data:`CHANGES`), then rule and feature.

    Notes
    -----
    Matching is by ``rule_id`` and ``feature_id`` (ids repeated within a rule
    on one side take no part), then, for findings left over, by geometry:
    same rule and intersection over union of at least :data:`MIN_OVERLAP`
    (lines and points widened by :data:`LINE_TOLERANCE_M` metres), best
    overlap first, one to one.
    """
    o, n = _prepared(old), _prepared(new)
    crs = n.crs if n.crs is not None else o.crs
    if o.crs is not None and crs is not None and not o.crs.equals(crs):
        o = o.to_crs(crs)
    by_key = _key_pairs(o, n)
    o_left = np.setdiff1d(np.arange(len(o)), by_key["o"].to_numpy())
    n_left = np.setdiff1d(np.arange(len(n)), by_key["n"].to_numpy())
    by_geom = _geometry_pairs(o, n, o_left, n_left)
    pairs = pd.concat([by_key, by_geom], ignore_index=True)
    po, pn = pairs["o"].to_numpy(int), pairs["n"].to_numpy(int)

    was_bad = o["status"].isin(VIOLATION).to_numpy()
    is_bad = n["status"].isin(VIOLATION).to_numpy()
    same = _same_value(
        o["measured"].to_numpy()[po], n["measured"].to_numpy()[pn], n["unit"].to_numpy()[pn]
    ) & (o["status"].to_numpy()[po] == n["status"].to_numpy()[pn])
    pair_change = np.where(
        was_bad[po] & ~is_bad[pn],
        "fixed",
        np.where(~was_bad[po] & is_bad[pn], "new", np.where(same, "unchanged", "changed")),
    )
    # A matched pair is reported once, from the version that says most: the old
    # finding when it was fixed, the new one otherwise.
    from_old = pair_change == "fixed"
    unmatched_o = np.setdiff1d(np.arange(len(o)), po)
    unmatched_n = np.setdiff1d(np.arange(len(n)), pn)
    # A finding of one version only is fixed (gone) or new, whatever its status.
    unmatched_o_change = np.full(len(unmatched_o), "fixed", dtype=object)
    unmatched_n_change = np.full(len(unmatched_n), "new", dtype=object)

    parts = [
        _rows(o, po[from_old], "old", pair_change[from_old], o, po[from_old]),
        _rows(n, pn[~from_old], "new", pair_change[~from_old], o, po[~from_old]),
        _rows(o, unmatched_o, "old", unmatched_o_change, None, None),
        _rows(n, unmatched_n, "new", unmatched_n_change, None, None),
    ]
    out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    rank = out["change"].map({c: i for i, c in enumerate(CHANGES)})
    out = out.assign(_rank=rank).sort_values(
        ["_rank", "rule_id", "feature_id"], kind="stable", ignore_index=True
    )
    return out.drop(columns="_rank")[[*FINDING_COLUMNS, *DIFF_COLUMNS, "geometry"]]


def _rows(
    f: gpd.GeoDataFrame,
    pos: np.ndarray,
    version: str,
    change: np.ndarray,
    before: gpd.GeoDataFrame | None,
    before_pos: np.ndarray | None,
) -> pd.DataFrame:
    rows = f.iloc[pos][[*FINDING_COLUMNS, "geometry"]].reset_index(drop=True)
    rows["change"] = change
    rows["version"] = version
    if before is not None and before_pos is not None:
        b = before.iloc[before_pos]
        rows["status_before"] = b["status"].to_numpy()
        rows["measured_before"] = b["measured"].to_numpy(dtype=float)
        rows["feature_id_before"] = b["feature_id"].to_numpy()
    else:
        rows["status_before"] = ""
        rows["measured_before"] = np.nan
        rows["feature_id_before"] = ""
    return rows


# ------------------------------------------------------------------------ versions and files


@dataclass
class Version:
    """One side of a comparison: its findings (as written) and where they came from.

    Attributes
    ----------
    findings : geopandas.GeoDataFrame
        Findings as in ``findings.geojson`` (EPSG:4326, no ``pass`` rows).
    source : str
        The scheme or output folder.
    failed : bool
        Whether any rule failed (a finding with status ``fail``).
    """

    findings: gpd.GeoDataFrame
    source: str
    failed: bool


def read_version(
    path: str | Path,
    profile: str = "national",
    *,
    year: int | None = None,
    rules_dir: Path | None = None,
) -> Version:
    """The findings of one version: an output folder's ``findings.geojson``, or a check.

    Parameters
    ----------
    path : str or pathlib.Path
        A folder written by ``compliance check`` (holding ``findings.geojson``),
        or a scheme (anything :func:`compliance.check` reads), checked here.
    profile, year, rules_dir
        For checking a scheme (see :func:`compliance.check`); unused for an
        output folder.

    Returns
    -------
    Version

    Raises
    ------
    InputError
        The path does not exist, ``findings.geojson`` cannot be read, or the
        scheme cannot be read.
    """
    from .outputs.files import FINDINGS_FILE, findings_for_output

    p = Path(path)
    if not p.exists():
        raise InputError(
            f"{p}: no such file or folder; give a scheme or an output folder of "
            "`compliance check` (holding findings.geojson)"
        )
    written = p / FINDINGS_FILE
    if p.is_dir() and written.is_file():
        try:
            f = pyogrio.read_dataframe(written)
        except Exception as exc:  # pyogrio raises several error types
            raise InputError(
                f"{written}: cannot be read as GeoJSON ({' '.join(str(exc).split())}); "
                "run `compliance check` again"
            ) from exc
        if not len(f.columns) or "rule_id" not in f.columns:
            raise InputError(f"{written}: has no rule_id property; it is not a findings file")
        if f.crs is None:
            f = f.set_crs(4326)
        return Version(f, str(p), bool((f.get("status", pd.Series()) == "fail").any()))
    from .engine import check

    result = check(p, profile, year=year, rules_dir=rules_dir)
    return Version(findings_for_output(result), str(p), bool(result.exit_code))


def diff_versions(
    old: str | Path,
    new: str | Path,
    profile: str = "national",
    *,
    year: int | None = None,
    rules_dir: Path | None = None,
) -> tuple[gpd.GeoDataFrame, Version, Version]:
    """Compare two versions (schemes or output folders): :func:`diff_findings` of their findings.

    Returns
    -------
    (geopandas.GeoDataFrame, Version, Version)
        The diff (EPSG:4326) and both versions.

    Raises
    ------
    InputError
        Either version cannot be read or checked (see :func:`read_version`).
    """
    v_old = read_version(old, profile, year=year, rules_dir=rules_dir)
    v_new = read_version(new, profile, year=year, rules_dir=rules_dir)
    return diff_findings(v_old.findings, v_new.findings), v_old, v_new


def counts_per_rule(diff: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rows per rule and change: ``rule_id``, ``title_zh``, ``title_en``, :data:`CHANGES`."""
    if diff.empty:
        return pd.DataFrame(columns=["rule_id", "title_zh", "title_en", *CHANGES])
    counts = pd.crosstab(diff["rule_id"], diff["change"]).reindex(
        columns=list(CHANGES), fill_value=0
    )
    titles = diff.drop_duplicates("rule_id").set_index("rule_id")[["title_zh", "title_en"]]
    return titles.join(counts).reset_index().sort_values("rule_id", ignore_index=True)


_HEADS: dict[str, tuple[str, ...]] = {
    "zh": ("已整改 fixed", "新增 new", "有变化 changed", "未变化 unchanged"),
    "en": ("fixed", "new", "changed", "unchanged"),
}
_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "修改后复核：前后两版审查结果对比",
        "old": "原版本",
        "new": "修改版本",
        "counts": "各条规则的变化",
        "rule": "规则",
        "name": "名称",
        "fixed": "已整改（原有问题已消除）",
        "new_": "新增问题",
        "changed": "仍存在、量测值有变化",
        "none": "无",
        "before": "原量测值",
        "open": "（",
        "close": "）",
        "verdict_ok": "修改版本没有不符合的规则。",
        "verdict_fail": "修改版本仍有不符合的规则。",
    },
    "en": {
        "title": "Revised submission: what changed between two versions",
        "old": "first version",
        "new": "revised version",
        "counts": "Changes per rule",
        "rule": "Rule",
        "name": "Title",
        "fixed": "Fixed (violations of the first version resolved)",
        "new_": "New violations",
        "changed": "Still open, measured value moved",
        "none": "none",
        "before": "before",
        "open": " (",
        "close": ")",
        "verdict_ok": "The revised version breaks no rule.",
        "verdict_fail": "The revised version still breaks a rule.",
    },
}


def diff_html(diff: gpd.GeoDataFrame, v_old: Version, v_new: Version, *, lang: str = "zh") -> str:
    """The reviewer's page of a comparison: counts per rule, then each fixed and new violation.

    Parameters
    ----------
    diff : geopandas.GeoDataFrame
        From :func:`diff_findings`.
    v_old, v_new : Version
    lang : {"zh", "en"}
        Chinese (``message``, ``title_zh``) or English (``message_en``, ``title_en``).

    Returns
    -------
    str
        A self-contained HTML page (no scripts, no external resources).
    """
    t = _TEXT["zh" if lang == "zh" else "en"]
    heads = _HEADS["zh" if lang == "zh" else "en"]
    msg_col = "message" if lang == "zh" else "message_en"
    title_col = "title_zh" if lang == "zh" else "title_en"
    e = html.escape
    counts = counts_per_rule(diff)
    head = "".join(f"<th>{e(h)}</th>" for h in heads)
    rows = "".join(
        f"<tr><td>{e(str(r['rule_id']))}</td><td>{e(str(r[title_col]))}</td>"
        + "".join(f"<td class=n>{int(r[c])}</td>" for c in CHANGES)
        + "</tr>"
        for r in counts.to_dict("records")  # one row per rule
    )

    def items(change: str, with_before: bool = False) -> str:
        part = diff[diff["change"] == change]
        if part.empty:
            return f"<p class=none>{e(t['none'])}</p>"
        lis = []
        units = UNIT_ZH if lang == "zh" else UNIT_EN
        for r in part.to_dict("records"):  # the findings of one change: a reviewer's page
            extra = ""
            if with_before:
                unit = str(r["unit"])
                u = units.get(unit, " " + unit)
                was, now = fmt(r["measured_before"], unit), fmt(r["measured"], unit)
                moved = f"{e(t['before'])} {was}{e(u)} → {now}{e(u)}"
                extra = f" <span class=before>{t['open']}{moved}{t['close']}</span>"
            lis.append(
                f"<li><b>{e(str(r['rule_id']))} · {e(str(r['feature_id']))}</b> "
                f"{e(str(r[msg_col]))}{extra}</li>"
            )
        return "<ol>" + "".join(lis) + "</ol>"

    verdict = t["verdict_fail"] if v_new.failed else t["verdict_ok"]
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(t["title"])}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; max-width: 60em;
  margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: .25em .6em; }}
td.n {{ text-align: right; }} .none, .before {{ color: #666; }}
h2.fixed {{ color: #1a7f37; }} h2.new {{ color: #c62828; }} li {{ margin: .4em 0; }}
</style></head><body>
<h1>{e(t["title"])}</h1>
<p>{e(t["old"])}：{e(v_old.source)}<br>{e(t["new"])}：{e(v_new.source)}</p>
<p id="verdict">{e(verdict)}</p>
<h2>{e(t["counts"])}</h2>
<table id="counts"><thead><tr><th>{e(t["rule"])}</th><th>{e(t["name"])}</th>{head}</tr></thead>
<tbody>{rows}</tbody></table>
<h2 class="fixed" id="fixed">{e(t["fixed"])}</h2>{items("fixed")}
<h2 class="new" id="new">{e(t["new_"])}</h2>{items("new")}
<h2 id="changed">{e(t["changed"])}</h2>{items("changed", with_before=True)}
</body></html>
"""


def write_diff(
    diff: gpd.GeoDataFrame,
    v_old: Version,
    v_new: Version,
    out_dir: str | Path,
    *,
    lang: str = "zh",
    force: bool = False,
) -> Path:
    """Write ``diff.geojson`` (EPSG:4326) and ``diff.html`` into ``out_dir``.

    Each file is written beside its place and moved into it when complete.

    Raises
    ------
    OutputError
        ``out_dir`` is or contains either version, exists and is not empty
        (without ``force``), or cannot be written.
    """
    from .outputs.files import check_out_dir

    out = check_out_dir(out_dir, force=force, inputs=[v_old.source, v_new.source])
    try:
        out.mkdir(parents=True, exist_ok=True)
        geo = out / f".{DIFF_GEOJSON}.tmp"
        page = out / f".{DIFF_HTML}.tmp"
        g = diff.to_crs(4326) if diff.crs is not None else diff.set_crs(4326)
        g.to_file(geo, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"})
        page.write_text(diff_html(diff, v_old, v_new, lang=lang), encoding="utf-8")
        os.replace(geo, out / DIFF_GEOJSON)
        os.replace(page, out / DIFF_HTML)
    except OSError as exc:
        for tmp in (out / f".{DIFF_GEOJSON}.tmp", out / f".{DIFF_HTML}.tmp"):
            tmp.unlink(missing_ok=True)
        raise OutputError(f"{out_dir}: cannot write the comparison ({exc})") from exc
    return out
