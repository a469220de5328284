"""Build the demo scheme ``demo.gpkg``: a planted violation and a passing case per rule.

Run ``python sample_data/demo/make_demo.py`` to rebuild it.  All coordinates
are metres in EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM 114E, the zone of
Hebi), offset from an origin near Hebi so that the numbers below read as local
coordinates.  ``README.md`` beside this file lists what is planted and the
values the checker must measure; ``tests/test_demo.py`` asserts them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon, box

CRS = "EPSG:4547"
X0, Y0 = 520_000.0, 3_950_000.0


def b(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    """A rectangle in local metres."""
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def line(*pts: tuple[float, float]) -> LineString:
    """A line in local metres."""
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def layers() -> dict[str, gpd.GeoDataFrame]:
    """The demo layers, keyed by contract layer name."""
    clusters = gpd.GeoDataFrame(
        {
            "id": ["N", "S", "E", "W"],
            "name": ["北组团", "南组团", "东组团", "西组团"],
            # S has no population of its own: it is summed from its parcels.
            "population": [700_000, None, 150_000, 200_000],
        },
        geometry=[
            b(0, 6150, 8000, 13150),  # 56 km2: CL01 fail; 12,500/km2: CL02 warn
            b(0, 0, 5000, 6000),  # 30 km2, 240,000 from parcels: 8,000/km2
            b(8080, 6150, 12080, 11150),  # 20 km2, 80 m from N: EC02 fail
            b(-4150, 0, -150, 6000),  # 24 km2, 150 m from S across corridor C2
        ],
        crs=CRS,
    )
    # C2 has a 60 m neck (x -60..0 for y 3000..3200): EC01 fail.
    neck = Polygon(
        [
            (X0 - 150, Y0 + 0),
            (X0 + 0, Y0 + 0),
            (X0 + 0, Y0 + 6000),
            (X0 - 150, Y0 + 6000),
            (X0 - 150, Y0 + 3200),
            (X0 - 60, Y0 + 3200),
            (X0 - 60, Y0 + 3000),
            (X0 - 150, Y0 + 3000),
        ]
    )
    corridors = gpd.GeoDataFrame(
        {
            "id": ["C1", "C2", "C3"],
            "name": ["南北生态廊道", "西部生态廊道", "东部生态廊道"],
        },
        geometry=[
            b(-200, 6000, 8200, 6150),  # 150 m wide between S and N; cut by parcel B1
            neck,
            b(5100, 0, 5220, 5000),  # plain rectangle 120 m wide: passes
        ],
        crs=CRS,
    )
    parcels = gpd.GeoDataFrame(
        {
            "id": ["R1", "R2", "R3", "R4", "B1", "G3"],
            "name": [
                "一号居住地块",
                "二号居住地块",
                "三号居住地块",
                "四号居住地块",
                "商业地块",
                "防护绿地",
            ],
            "land_use": ["0701", "0701", "R2", "070102", "0901", "1402"],
            "population": [60_000, 60_000, 60_000, 60_000, None, None],
        },
        geometry=[
            b(1200, 1000, 1400, 1400),  # 250 m from park P1: GR01, GR02 pass
            b(1900, 1000, 2100, 1400),  # 350 m from P1: GR01 fail, GR02 pass
            b(3000, 1000, 3300, 1400),  # 1,550 m from P1: GR01, GR02 fail
            b(4000, 3000, 4200, 3200),  # 291.5 m from green G2: GR01 pass, GR02 fail
            b(2000, 6000, 2030, 6150),  # commercial land across corridor C1: a 30 m break
            b(3350, 1000, 3450, 1400),  # protective green beside R3: does not count
        ],
        crs=CRS,
    )
    green = gpd.GeoDataFrame(
        {
            "id": ["P1", "G2", "G1"],
            "name": ["中心公园", "街角绿地", "小游园"],
            "kind": ["park", "green", "green"],
        },
        geometry=[
            b(1450, 1000, 1750, 1400),  # park, 12 ha
            b(4250, 3000, 4300, 3050),  # green, 2,500 m2 (counts for 300 m)
            b(3100, 1450, 3150, 1480),  # green, 1,500 m2 (too small to count)
        ],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {
            "id": ["RA", "RB", "RC", "RD", "RE"],
            "name": ["迎宾大道", "建设路", "淇河路", "朝歌路", "京港澳高速"],
            "red_line_width_m": [60.0, 30.0, None, None, 80.0],
            "road_class": ["primary", "secondary", "primary", "tertiary", "motorway"],
            "is_new": [True, False, True, False, False],
        },
        geometry=[
            line((1000, 8000), (5000, 8000)),  # 60 m red line: RD01 fail
            line((1000, 9000), (5000, 9000)),  # 30 m: pass
            b(1000, 10000, 1600, 10050),  # road land 600 x 50 m: RD01 fail, 50 m
            b(1000, 11000, 1500, 11024),  # road land 500 x 24 m: pass, 24 m
            line((6000, 7000), (6000, 12000)),  # motorway: out of scope
        ],
        crs=CRS,
    )
    squares = gpd.GeoDataFrame(
        {
            "id": ["Q1", "Q2", "Q3"],
            "name": ["人民广场", "文化广场", "街心广场"],
            "hard_area_m2": [25_000.0, None, 8_000.0],
        },
        geometry=[
            b(2000, 12000, 2200, 12150),  # hard area 2.5 ha: SQ01 fail
            b(3000, 12000, 3120, 12150),  # no hard area: polygon 1.8 ha, fails only in Hebi
            b(4000, 12000, 4100, 12100),  # hard area 0.8 ha: passes
        ],
        crs=CRS,
    )
    boundary = gpd.GeoDataFrame(
        # zone_type: the county town lies in a major agricultural-production zone (DN01)
        {
            "id": ["county"],
            "kind": ["county"],
            "zone_type": ["农产品主产区"],
            "population": [1_250_000],
        },
        geometry=[b(-4500, -500, 12500, 13500)],
        crs=CRS,
    )
    # Buildings east of the southern cluster: two new housing blocks and an existing factory.
    # New floor area 20,000 m2, of which K1's 12,000 m2 meets green-building standards
    # (GB02 60 % < 100 %: fail), is star-rated (GB03 60 % >= 30 %: pass) and prefabricated
    # (PF01 60 %: passes Hebi's 40 %, fails Jiaozuo's 应全部采用).  K3 is not new: out of
    # scope of those rules; its 200,000 m2 make the county town's floor area ÷ construction
    # land 220,000 / 324,500 = 0.68 (DN02 within Hebi's 0.6–0.8).
    buildings = gpd.GeoDataFrame(
        {
            "id": ["K1", "K2", "K3"],
            "name": ["一号住宅楼", "二号住宅楼", "产业园厂房"],
            "use": ["residential", "residential", "industrial"],
            "is_new": [True, True, False],
            "floors": [6, 11, 2],
            "height_m": [18.0, 33.0, 12.0],
            "floor_area_m2": [12_000.0, 8_000.0, 200_000.0],
            "green_standard": [True, False, False],
            "green_star": [1, 0, 0],
            "prefabricated": [True, False, False],
        },
        geometry=[b(6000, 1000, 6060, 1040), b(6200, 1000, 6240, 1030), b(6400, 1000, 6700, 1400)],
        crs=CRS,
    )
    # The residential district (居住小区) of K1 and K2: 56,000 m2 of floor area in all (its
    # other buildings are not drawn), so Alxa's 建筑面积5万平方米以上的居住小区 tier applies:
    # each new house needs one star (GB01 under alxa: K1 passes, K2 fails).
    districts = gpd.GeoDataFrame(
        {
            "id": ["D1"],
            "name": ["滨河小区"],
            "kind": ["居住小区"],
            "floor_area_m2": [56_000.0],
        },
        geometry=[b(5950, 950, 6300, 1100)],
        crs=CRS,
    )
    # Residential communities (居住社区) of the southern cluster: one of three is complete,
    # 33.3 % (CM01: Jiaozuo 60 % by 2030 fails, Hebi's 预期性 target warns).
    communities = gpd.GeoDataFrame(
        {
            "id": ["Y1", "Y2", "Y3"],
            "name": ["东风社区", "建设社区", "淇滨社区"],
            "complete": [True, False, False],
        },
        geometry=[b(1000, 500, 2500, 1500), b(2500, 500, 4000, 1500), b(1000, 1500, 2500, 2500)],
        crs=CRS,
    )
    # Waterlogging points (易涝积水点) in the built-up area: W1 eliminated, W2 not
    # (WL01, Bayannur: 1 point left, fails).
    waterlogging = gpd.GeoDataFrame(
        {
            "id": ["W1", "W2"],
            "name": ["迎宾大道下穿通道", "建设路积水点"],
            "resolved": [True, False],
            "severe": [True, True],
        },
        geometry=[Point(X0 + 3000, Y0 + 8000), Point(X0 + 3000, Y0 + 9000)],
        crs=CRS,
    )
    return {
        "boundary": boundary,
        "clusters": clusters,
        "corridors": corridors,
        "parcels": parcels,
        "green_spaces": green,
        "roads": roads,
        "squares": squares,
        "buildings": buildings,
        "districts": districts,
        "communities": communities,
        "waterlogging_points": waterlogging,
    }


def write(path: Path, crs: str | None = None) -> None:
    """Write the demo scheme as one GeoPackage, optionally reprojected."""
    if path.exists():
        path.unlink()
    for name, gdf in layers().items():
        out = gdf if crs is None else gdf.to_crs(crs)
        out.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("demo.gpkg")
    write(target)
    print(f"wrote {target}")
