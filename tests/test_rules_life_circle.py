"""LC01, the 15-minute life circle (十五分钟生活圈): exact distances, straight and along roads.

Every scheme is built in memory in EPSG:4547 around (X0, Y0).  The residential
parcel ``P`` is a 20 m square centred on (X0, Y0), so its representative point
is (X0, Y0).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from helpers import X0, Y0, evaluate_rule, finding, make_rule, make_scheme

import compliance
from compliance.rules.checks.life_circle import LifeCircleParams
from compliance.rules.measures.network import network_distance_m, snap_to_nodes, walk_network


def parcels(*centres: tuple[str, float, float]) -> gpd.GeoDataFrame:
    """Residential parcels (0701): 20 m squares centred on (X0 + dx, Y0 + dy)."""
    return gpd.GeoDataFrame(
        {"id": [c[0] for c in centres], "land_use": ["0701"] * len(centres)},
        geometry=[
            shapely.box(X0 + dx - 10, Y0 + dy - 10, X0 + dx + 10, Y0 + dy + 10)
            for _, dx, dy in centres
        ],
    )


def facilities(*rows: tuple[str | None, shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"kind": [k for k, _ in rows]}, geometry=[g for _, g in rows])


def lc01(**params: object) -> compliance.Rule:
    return make_rule("LC01", "life_circle", layer="parcels", limit=1000.0, unit="m", params=params)


def pt(dx: float, dy: float) -> shapely.Point:
    return shapely.Point(X0 + dx, Y0 + dy)


# --------------------------------------------------------------------------- straight line


def test_straight_fails_on_the_farthest_kind() -> None:
    scheme = make_scheme(
        parcels=parcels(("P", 0, 0)),
        facilities=facilities(("school", pt(600, 0)), ("clinic", pt(0, 1200))),
    )
    f = finding(evaluate_rule(scheme, lc01(kinds=["school", "clinic"])), "LC01", "P")
    assert f["status"] == "fail"
    assert f["measured"] == 1200.0
    assert "最远为医疗卫生设施（clinic）1,200.0 米" in f["message"]
    assert "farthest: clinic at 1,200.0 m" in f["message_en"]
    assert "beyond" not in f["message_en"]  # listed only when several kinds are too far
    assert f["method"].startswith("straight-line distance")


def test_straight_passes_within_the_limit_polygon_at_its_boundary() -> None:
    # The clinic is a 100 m square whose near edge is 900 m east; its centre is 950 m.
    clinic = shapely.box(X0 + 900, Y0 - 50, X0 + 1000, Y0 + 50)
    scheme = make_scheme(
        parcels=parcels(("P", 0, 0), ("Q", 0, -3000)),
        facilities=facilities(
            ("School", pt(0, 600)), (" clinic ", clinic), ("clinic", pt(0, 5000))
        ),
    )
    result = evaluate_rule(scheme, lc01(kinds=["school", "CLINIC"]))
    p = finding(result, "LC01", "P")
    assert p["status"] == "pass"
    assert p["measured"] == 900.0  # kind compared case-insensitively, polygon reached at its edge
    assert "farthest: clinic at 900.0 m" in p["message_en"]
    q = finding(result, "LC01", "Q")
    assert q["status"] == "fail"
    assert q["measured"] == 3600.0  # the school; the clinic square's corner is nearer
    assert "farthest: school at 3,600.0 m" in q["message_en"]
    assert "beyond 1,000 m: school, clinic" in q["message_en"]  # clinic corner: 2,984.3 m


def test_missing_kind_fails_unmeasured() -> None:
    scheme = make_scheme(
        parcels=parcels(("P", 0, 0)),
        facilities=facilities(("school", pt(300, 400)), ("clinic", pt(0, 100)), (None, pt(0, 10))),
    )
    result = evaluate_rule(scheme, lc01(kinds=["school", "clinic", "elderly_care"]))
    f = finding(result, "LC01", "P")
    assert f["status"] == "fail"
    assert np.isnan(f["measured"])
    assert "方案中没有以下设施：养老设施（elderly_care）" in f["message"]
    assert "no facility of kind elderly_care in the scheme" in f["message_en"]
    assert "farthest measured: school at 500.0 m" in f["message_en"]  # the kinds present
    assert "可量测的设施中最远为中小学（school）500.0 米" in f["message"]


def test_default_kinds_and_no_facilities_layer() -> None:
    assert LifeCircleParams().kinds == [
        "school",
        "clinic",
        "market",
        "community_centre",
        "elderly_care",
        "sports",
    ]
    result = evaluate_rule(make_scheme(parcels=parcels(("P", 0, 0))), lc01())
    f = result.findings.iloc[0]
    assert len(result.findings) == 1
    assert f["status"] == "not_evaluated"
    assert "the scheme has no 'facilities' layer" in f["message_en"]
    assert "facilities" in f["message"]


# --------------------------------------------------------------------------- network

# An L of roads: A (0, -30) → M (300, -30) → K (600, -30) as one line, K → B (600, 420)
# as another, joined at their shared vertex K; a motorway A → B (750 m) is not walkable.
# The school at (560, 420) is 700 m from P in a straight line (3-4-5 triangle) and
# 30 (P→A) + 600 (A→K) + 450 (K→B) + 40 (B→school) = 1,120 m on foot.
ROADS = gpd.GeoDataFrame(
    {"road_class": ["residential", "footway", "motorway"]},
    geometry=[
        shapely.LineString([(X0, Y0 - 30), (X0 + 300, Y0 - 30), (X0 + 600, Y0 - 30)]),
        shapely.LineString([(X0 + 600, Y0 - 30), (X0 + 600, Y0 + 420)]),
        shapely.LineString([(X0, Y0 - 30), (X0 + 600, Y0 + 420)]),
    ],
)


def l_scheme() -> compliance.Scheme:
    return make_scheme(
        parcels=parcels(("P", 0, 0), ("far", 0, 300)),
        facilities=facilities(("school", pt(560, 420))),
        roads=ROADS,
    )


def test_network_walk_fails_where_straight_passes() -> None:
    scheme = l_scheme()
    straight = finding(evaluate_rule(scheme, lc01(kinds=["school"])), "LC01", "P")
    assert straight["status"] == "pass"
    assert straight["measured"] == pytest.approx(700.0, abs=1e-9)
    walk = finding(evaluate_rule(scheme, lc01(kinds=["school"], method="network")), "LC01", "P")
    assert walk["status"] == "fail"
    assert walk["measured"] == pytest.approx(30 + 600 + 450 + 40, abs=1e-6)
    assert "farthest: school at 1,120.0 m" in walk["message_en"]
    assert "步行距离" in walk["message"]
    assert walk["method"].startswith("walking distance along the roads centreline network")


def test_network_parcel_beyond_snap_is_unreachable() -> None:
    # "far" is centred at (0, 300): its nearest node, A, is 330 m away.
    result = evaluate_rule(l_scheme(), lc01(kinds=["school"], method="network"))
    f = finding(result, "LC01", "far")
    assert f["status"] == "fail"
    assert np.isnan(f["measured"])
    assert "representative point 330.0 m from the nearest road node" in f["message_en"]
    assert "unreachable along the network" in f["message_en"]
    assert "超过 200 米的接入距离" in f["message"]
    wide = evaluate_rule(l_scheme(), lc01(kinds=["school"], method="network", max_snap_m=400))
    f = finding(wide, "LC01", "far")
    assert f["measured"] == pytest.approx(330 + 1050 + 40, abs=1e-6)


def test_network_facility_beyond_snap_or_cutoff_is_unreachable() -> None:
    # A clinic 250 m off the network is left out; a market 3,500 m along it is past
    # the 3 × 1,000 m search radius.
    roads = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(X0, Y0 - 30), (X0 + 3500, Y0 - 30), (X0 + 4000, Y0 - 30)])]
    )
    scheme = make_scheme(
        parcels=parcels(("P", 0, 0)),
        facilities=facilities(("clinic", pt(0, 250)), ("market", pt(3500, -30))),
        roads=roads,
    )
    f = finding(
        evaluate_rule(scheme, lc01(kinds=["clinic", "market"], method="network")), "LC01", "P"
    )
    assert f["status"] == "fail"
    assert np.isnan(f["measured"])
    assert (
        "not reachable within 3,000 m along the road network (not connected, or farther): "
        "clinic, market" in f["message_en"]
    )
    assert "沿路网 3,000 米内无法到达（路网不连通或更远）：医疗卫生设施（clinic）" in f["message"]
    assert "1 facility farther from the network left out" in f["method"]


def test_network_without_roads_is_not_evaluated() -> None:
    scheme = make_scheme(
        parcels=parcels(("P", 0, 0)), facilities=facilities(("school", pt(0, 100)))
    )
    result = evaluate_rule(scheme, lc01(kinds=["school"], method="network"))
    assert result.findings["status"].tolist() == ["not_evaluated"]
    assert "roads" in result.findings["message_en"].iloc[0]


def test_walk_network_builds_segments_and_offsets() -> None:
    lines = ROADS.geometry.to_numpy()[:2]
    net = walk_network(lines)
    assert net.graph.number_of_nodes() == 4  # A, M, K, B
    assert sorted(w for _, _, w in net.graph.edges(data="weight")) == [300.0, 300.0, 450.0]
    node, snap = snap_to_nodes(net, np.array([pt(0, 0), pt(560, 420)], dtype=object))
    np.testing.assert_allclose(snap, [30.0, 40.0])
    dist = network_distance_m(net, node[1:], snap[1:], cutoff_m=5000)
    assert dist[node[0]] == pytest.approx(40 + 450 + 600)
    assert net.graph.number_of_nodes() == 4  # the virtual source is gone again


def test_lines_join_at_shared_vertices_only() -> None:
    # A line crossing A → M mid-segment without a vertex there (a bridge) is not joined.
    bridge = shapely.LineString([(X0 + 150, Y0 - 100), (X0 + 150, Y0 + 100)])
    net = walk_network(np.array([*ROADS.geometry.to_numpy()[:2], bridge], dtype=object))
    assert net.graph.number_of_nodes() == 6
    assert nx.number_connected_components(net.graph) == 2
