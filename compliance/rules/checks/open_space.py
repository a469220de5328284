"""Checks of plazas (广场)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...reading.scheme import Scheme
from ..model import Rule
from ..registry import Evaluation, RuleDoc, compare, declare, label, make_rows, register
from .common import (
    M2_PER_HA,
    NoParams,
    missing_layer,
)


@register("plaza_hard_area", NoParams, unit="ha")
def check_plaza_hard_area(scheme: Scheme, rule: Rule, params: NoParams) -> Evaluation:
    """SQ01: concentrated hard-surface area of each plaza, ha.

    From ``hard_area_m2`` where given, else the plaza polygon's area (saying so).
    """
    squares = scheme.layer("squares")
    if squares is None:
        return missing_layer("squares")
    attr = (
        squares["hard_area_m2"]
        if "hard_area_m2" in squares.columns
        else pd.Series(np.nan, index=squares.index)
    )
    has = attr.notna().to_numpy()
    area_m2 = np.where(has, attr.to_numpy(dtype=float), squares.area.to_numpy())
    ha = area_m2 / M2_PER_HA
    zh, en = label(squares, "广场", "plaza")
    return Evaluation(
        make_rows(
            squares,
            feature_id=squares["feature_id"],
            subject_zh=zh,
            subject_en=en,
            measured=ha,
            passed=compare(rule, ha),
            detail_zh=np.where(
                has, "按 hard_area_m2 字段的集中硬地面积", "无硬地面积字段，按广场用地面积计"
            ),
            detail_en=np.where(
                has, "hard_area_m2 attribute", "no hard-surface area given: plaza polygon area"
            ),
            method=np.where(
                has,
                "hard_area_m2 attribute",
                f"plaza polygon area in {scheme.crs_label} (no hard_area_m2)",
            ),
            method_zh=np.where(
                has,
                "集中硬地面积取自 hard_area_m2 字段",
                "广场用地面在量测坐标系中的面积（无 hard_area_m2 字段）",
            ),
        ),
        quantity_zh="集中硬地面积",
        quantity_en="concentrated hard-surface area",
    )


# --------------------------------------------------------------------------- green


# --------------------------------------------------------------------------- rule types

declare(
    "SQ01",
    title_zh="县城广场集中硬地面积",
    title_en="Plaza concentrated hard-surface area",
    check=check_plaza_hard_area,
    layer="squares",
    comparison="<=",
    doc=RuleDoc(
        what="The concentrated hard-surface area (集中硬地面积) of each plaza, ha.",
        why="County towns should not build large hard-paved plazas: at most 2 ha (1 ha "
        "in Hebi) of concentrated hard surface.",
        how=("`hard_area_m2`, else the plaza polygon's area, saying which."),
        references=("《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）",),
    ),
)
