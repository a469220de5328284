"""Measures of distance to the nearest target: straight line, and along a walking network.

Used by the 15-minute life circle (十五分钟生活圈, LC01): GB 50180-2018
《城市居住区规划设计标准》 defines the life circles by walking time and
distance (15-minute ≈ 800–1,000 m, 10-minute ≈ 500 m, 5-minute ≈ 300 m on
foot), so the distance that matters is the walk along the street network;
the straight line is its lower bound.

Everything is in metres in a projected metric CRS.  The network is an
undirected :mod:`networkx` graph of road centreline segments (walking goes
both ways along a one-way street); targets reach all nodes at once through
one Dijkstra search per target set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

if TYPE_CHECKING:  # networkx is imported where a network is built: it is slow to import
    import networkx as nx

#: Node coordinates are rounded to this many metres: segment ends closer than
#: this are one node.
NODE_PRECISION_M = 0.01


def nearest_distance_m(origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Straight-line distance from each origin to the nearest target, in metres.

    Parameters
    ----------
    origins : numpy.ndarray of shapely geometries
        Points (or any geometries), projected metric CRS.
    targets : numpy.ndarray of shapely geometries
        Points or polygons in the same CRS; the distance to a polygon is to its
        nearest point (0 inside it).  Null and empty geometries are ignored.

    Returns
    -------
    numpy.ndarray
        Float distances aligned with ``origins``; NaN for every origin when
        there is no target, and for null or empty origins.
    """
    out = np.full(len(origins), np.nan)
    targets = targets[~(shapely.is_missing(targets) | shapely.is_empty(targets))]
    if len(targets) == 0 or len(origins) == 0:
        return out
    ok = ~(shapely.is_missing(origins) | shapely.is_empty(origins))
    tree = STRtree(targets)
    (src, _), dist = tree.query_nearest(origins[ok], return_distance=True, all_matches=False)
    out[np.flatnonzero(ok)[src]] = dist
    return out


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking graph of road centrelines.

    Attributes
    ----------
    graph : networkx.Graph
        Nodes are integers ``0 … n-1`` (indices of :attr:`nodes`); each edge
        has ``weight`` = segment length, m.
    nodes : numpy.ndarray of shapely Points
        Node locations (segment ends rounded to :data:`NODE_PRECISION_M`),
        projected metric CRS.
    """

    graph: nx.Graph
    nodes: np.ndarray

    @cached_property
    def tree(self) -> STRtree:
        """Spatial index of :attr:`nodes` (built once)."""
        return STRtree(self.nodes)


def walk_network(lines: np.ndarray) -> WalkNetwork:
    """Build the walking graph of road centrelines.

    Each LineString (MultiLineStrings are split into their parts) is cut into
    its straight segments; segment ends rounded to :data:`NODE_PRECISION_M`
    are the nodes, and a segment is an undirected edge weighted by its length
    in metres.  Lines therefore connect where they share a vertex (as OSM
    ways do at junctions), not where they merely cross (a bridge over a
    street is no junction).  Of parallel segments between the same two nodes
    the shortest is kept; zero-length segments are dropped.

    Parameters
    ----------
    lines : numpy.ndarray of shapely geometries
        LineStrings or MultiLineStrings in a projected metric CRS; other
        geometry types, null and empty geometries are ignored.

    Returns
    -------
    WalkNetwork
        The graph and its node points (no node when there is no segment).
    """
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    length_m = np.hypot(*(end - start).T)
    keys = np.rint(np.vstack([start, end]) / NODE_PRECISION_M).astype(np.int64)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = len(start)
    edges = pd.DataFrame({"u": inverse[:n], "v": inverse[n:], "w": length_m})
    edges = edges[edges["u"] != edges["v"]]
    lo, hi = np.minimum(edges["u"], edges["v"]), np.maximum(edges["u"], edges["v"])
    edges = (
        pd.DataFrame({"u": lo, "v": hi, "w": edges["w"]}).groupby(["u", "v"], as_index=False).min()
    )
    used = np.unique(edges[["u", "v"]].to_numpy())
    renumber = np.full(len(unique), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(len(used)))
    graph.add_weighted_edges_from(
        zip(
            renumber[edges["u"].to_numpy()].tolist(),
            renumber[edges["v"].to_numpy()].tolist(),
            edges["w"].to_numpy(dtype=float).tolist(),
            strict=True,
        )
    )
    xy = unique[used] * NODE_PRECISION_M
    return WalkNetwork(graph=graph, nodes=shapely.points(xy.reshape(-1, 2)))


def snap_to_nodes(network: WalkNetwork, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest network node of each geometry and the straight distance to it.

    Parameters
    ----------
    network : WalkNetwork
    geoms : numpy.ndarray of shapely geometries
        Points or polygons in the network's CRS; a polygon's distance is from
        its nearest point (0 when the node lies inside it).

    Returns
    -------
    node : numpy.ndarray of int
        Node index per geometry, -1 where there is none (no node, null or
        empty geometry).
    distance_m : numpy.ndarray of float
        Distance to that node, m; NaN where ``node`` is -1.
    """
    node = np.full(len(geoms), -1, dtype=np.int64)
    distance_m = np.full(len(geoms), np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(network.nodes) == 0 or not ok.any():
        return node, distance_m
    (src, hit), dist = network.tree.query_nearest(
        geoms[ok], return_distance=True, all_matches=False
    )
    where = np.flatnonzero(ok)[src]
    node[where], distance_m[where] = hit, dist
    return node, distance_m


def network_distance_m(
    network: WalkNetwork,
    source_nodes: np.ndarray,
    source_offsets_m: np.ndarray,
    *,
    cutoff_m: float,
) -> np.ndarray:
    """Shortest walk from the nearest source to every node, in metres.

    One Dijkstra search (:func:`networkx.multi_source_dijkstra_path_length`)
    from a virtual node joined to each source node by an edge as long as the
    source's offset (its snap distance), so a node's distance is
    ``min over sources of (offset + path length)``.  The virtual node is
    removed from the graph again before returning.

    Parameters
    ----------
    network : WalkNetwork
    source_nodes : numpy.ndarray of int
        Node index of each source (e.g. each facility of one kind); -1
        entries are ignored.
    source_offsets_m : numpy.ndarray of float
        Distance from each source to its node, m.
    cutoff_m : float
        Search radius, m: nodes farther than this are not reached.

    Returns
    -------
    numpy.ndarray
        Distance per node, m; ``inf`` where no source is reachable within
        ``cutoff_m`` (other component, or too far).
    """
    out = np.full(len(network.nodes), np.inf)
    keep = np.asarray(source_nodes) >= 0
    if not keep.any():
        return out
    offsets = (
        pd.Series(np.asarray(source_offsets_m, dtype=float)[keep])
        .groupby(np.asarray(source_nodes)[keep])
        .min()
    )
    graph = network.graph
    virtual = ("sources",)
    graph.add_weighted_edges_from(
        zip(
            [virtual] * len(offsets),
            offsets.index.tolist(),
            offsets.to_numpy().tolist(),
            strict=True,
        )
    )
    import networkx as nx

    try:
        reached = nx.multi_source_dijkstra_path_length(graph, {virtual}, cutoff=cutoff_m)
    finally:
        graph.remove_node(virtual)
    reached.pop(virtual, None)
    if reached:
        idx = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
        out[idx] = np.fromiter(reached.values(), dtype=float, count=len(reached))
    return out
