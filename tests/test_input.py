"""Input as Chinese planning offices have it, and as messy as real data is.

Every case writes a real file in ``tmp_path`` and reads it with
:func:`compliance.read_scheme`; the assertions are on the values read and the
exact notes, warnings and error messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from helpers import DEMO, GK, X0, Y0
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

import compliance
from compliance.errors import InputError
from compliance.reading import fields
from compliance.reading import quantities as units
from compliance.reading.landuse import is_construction, is_residential
from compliance.reading.scheme import _reduce_to, far_from_china, far_from_china_warning

# ----------------------------------------------------------------------------- helpers


def sq(x: float, y: float, size: float) -> Polygon:
    """A square of ``size`` metres at local offset (x, y) in EPSG:4547."""
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def layer(geoms: list[object], crs: str | None = GK, **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def write_gpkg(path: Path, **layers: gpd.GeoDataFrame) -> Path:
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, engine="pyogrio")
    return path


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read(path: Path, **kw: object) -> compliance.Scheme:
    """Read a scheme and assert nothing was written or changed beside it."""
    folder = path if path.is_dir() else path.parent
    before = digest(folder)
    scheme = compliance.read_scheme(path, **kw)  # type: ignore[arg-type]
    assert digest(folder) == before, "reading changed or added files beside the input"
    return scheme


def refused(path: Path, **kw: object) -> str:
    """The one-line InputError message of reading ``path`` (the input left untouched)."""
    folder = path if path.is_dir() else path.parent
    before = digest(folder)
    with pytest.raises(InputError) as exc:
        compliance.read_scheme(path, **kw)  # type: ignore[arg-type]
    assert digest(folder) == before
    message = str(exc.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------- field names


def test_field_names_of_a_planning_office_are_recognised(tmp_path):
    parcels = layer(
        [sq(0, 0, 100), sq(200, 0, 100)],
        DKBH=["A-01", "A-02"],
        YDYHFLDM=["070101", "1401"],
        人口=[3000, 0],
        建筑面积=[25_000.0, 0.0],
        MC=["幸福里", "中心公园"],
    )
    buildings = layer(
        [sq(0, 0, 20)], JZBH=["J1"], 层数=[18], JZGD=[54.0], 用途=["住宅"], 是否新建=["是"]
    )
    scheme = read(write_gpkg(tmp_path / "s.gpkg", 地块=parcels, 建筑物=buildings))
    p = scheme.layers["parcels"]
    assert p["feature_id"].tolist() == ["A-01", "A-02"]
    assert p["land_use"].tolist() == ["070101", "1401"]
    assert p["population"].tolist() == [3000.0, 0.0]
    assert p["floor_area_m2"].tolist() == [25_000.0, 0.0]
    assert p["name"].tolist() == ["幸福里", "中心公园"]
    b = scheme.layers["buildings"]
    assert (b["floors"].iloc[0], b["height_m"].iloc[0], b["use"].iloc[0]) == (18.0, 54.0, "住宅")
    assert b["is_new"].tolist() == [True]
    assert "layer '地块' read as parcels" in scheme.notes
    assert "layer '建筑物' read as buildings" in scheme.notes
    for note in (
        "parcels: field YDYHFLDM read as land_use",
        "parcels: field 人口 read as population",
        "parcels: field 建筑面积 read as floor_area_m2",
        "parcels: field MC read as name",
        "parcels: field DKBH read as id",
        "buildings: field 层数 read as floors",
        "buildings: field JZGD read as height_m",
        "buildings: field 用途 read as use",
        "buildings: field 是否新建 read as is_new",
    ):
        assert note in scheme.notes
    assert scheme.warnings == []
    assert scheme.layer_sources["parcels"].endswith("s.gpkg layer '地块' (parcels)")


def test_every_recognised_name_stands_for_one_contract_name():
    contract_fields = {
        f for spec in compliance.reading.contract.LAYERS.values() for f in spec.fields
    }
    names = [n.casefold() for tiers in fields.FIELD_ALIASES.values() for t in tiers for n in t]
    assert len(names) == len(set(names)), "a field alias stands for two contract fields"
    assert set(fields.FIELD_ALIASES) <= contract_fields | {"id"}
    assert not set(names) & {f.casefold() for f in contract_fields}
    layer_names = [n.casefold() for ns in fields.LAYER_ALIASES.values() for n in ns]
    assert len(layer_names) == len(set(layer_names))
    assert set(fields.LAYER_ALIASES) == set(compliance.reading.contract.LAYERS)


def test_shapefile_upper_case_and_truncated_names(tmp_path):
    roads = layer(
        [LineString([(X0, Y0), (X0 + 500, Y0)])],
        HXKD=["40米"],
        dldj=["次干路"],
        red_line_width_m=[None],
    )
    roads = roads.drop(columns="red_line_width_m")
    roads.to_file(tmp_path / "道路中心线.shp", encoding="UTF-8")
    scheme = read(tmp_path)
    r = scheme.layers["roads"]
    assert (r["red_line_width_m"].iloc[0], r["road_class"].iloc[0]) == (40.0, "secondary")
    assert "roads: field HXKD read as red_line_width_m" in scheme.notes
    assert "roads: field dldj read as road_class" in scheme.notes
    assert "roads: 1 road_class value read from Chinese names, e.g. '次干路' → secondary" in (
        scheme.notes
    )


def test_two_recognised_fields_for_one_contract_field_are_refused(tmp_path):
    parcels = layer([sq(0, 0, 100)], YDYHFLDM=["0701"], YDDM=["R2"])
    msg = refused(write_gpkg(tmp_path / "s.gpkg", parcels=parcels))
    assert msg == (
        f"{tmp_path / 's.gpkg'} layer 'parcels': fields 'YDYHFLDM' and 'YDDM' are both read "
        "as land_use; keep one, or name the one to use in a mapping file (--field-map) under "
        "fields: parcels: {YDYHFLDM: land_use}"
    )


def test_planned_use_wins_over_current_use_and_contract_name_over_both(tmp_path):
    planned = layer([sq(0, 0, 100)], YDYHFLDM=["0901"], DLBM=["0701"])
    scheme = read(write_gpkg(tmp_path / "a.gpkg", parcels=planned))
    assert scheme.layers["parcels"]["land_use"].tolist() == ["0901"]
    assert (
        "parcels: field DLBM not used for land_use (also a name of it; YDYHFLDM takes precedence)"
        in scheme.notes
    )
    own = layer([sq(0, 0, 100)], land_use=["0702"], YDYHFLDM=["0901"])
    scheme = read(write_gpkg(tmp_path / "b.gpkg", parcels=own))
    assert scheme.layers["parcels"]["land_use"].tolist() == ["0702"]
    assert any("YDYHFLDM not used for land_use" in n for n in scheme.notes)


def test_mapping_file(tmp_path):
    parcels = layer([sq(0, 0, 100)], TDYT=["0701"], land_use=["0901"], 宗地号=["Z1"], POP=["2千"])
    gpkg = write_gpkg(tmp_path / "s.gpkg", 现状=parcels, 规划宗地=parcels)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "layers:\n  规划宗地: parcels\n  现状: null\n"
        "fields:\n  parcels:\n    TDYT: land_use\n    RKSL: population\n"
        "  '*':\n    宗地号: id\n",
        encoding="utf-8",
    )
    scheme = read(gpkg, field_map=mapping)
    p = scheme.layers["parcels"]
    assert (p["land_use"].iloc[0], p["feature_id"].iloc[0]) == ("0701", "Z1")
    assert "population" not in p.columns
    assert "layer '规划宗地' read as parcels" in scheme.notes
    assert (
        f"parcels: field TDYT read as land_use (mapping file {mapping}); "
        "the layer's own land_use field ignored"
    ) in scheme.notes
    assert f"parcels: field 宗地号 read as id (mapping file {mapping})" in scheme.notes
    assert scheme.warnings == [
        f"{gpkg} layer '规划宗地' (parcels): the mapping file {mapping} maps field 'RKSL' onto "
        "population, but the layer has no such field"
    ]
    assert any("not contract layers, not read: '现状'" in n for n in scheme.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("layer:\n  a: parcels\n", "layer: Extra inputs are not permitted"),
        ("layers:\n  a: parcel\n", "layers.a: 'parcel' is not a layer of the data contract"),
        ("fields:\n  parcels:\n    A: landuse\n", "fields.parcels.A: 'landuse' is not a field"),
        ("fields:\n  地块:\n    A: land_use\n", "fields.地块: not a layer of the data contract"),
        (
            "fields:\n  parcels:\n    A: land_use\n    B: land_use\n",
            "fields.parcels: 'A' and 'B' both map onto 'land_use'; keep one",
        ),
        ("layers: {a: parcels\n", "not valid YAML"),
        ("- parcels\n", "must be a YAML mapping"),
        ("land_use_codes: 2019\n", "land_use_codes: Input should be 'auto', '2023' or 'tdd'"),
    ],
)
def test_mapping_file_errors_name_the_file(tmp_path, text, expected):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        fields.load_field_map(mapping)
    assert str(exc.value).startswith(str(mapping))
    assert expected in str(exc.value)


def test_mapping_file_is_taken_by_check(tmp_path):
    squares = layer([sq(0, 0, 150)], YDMJ=[5000.0])  # 5000 m² hard surface of 2.25 ha
    gpkg = write_gpkg(tmp_path / "s.gpkg", 广场=squares)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields:\n  squares:\n    YDMJ: hard_area_m2\n", encoding="utf-8")
    scheme = read(gpkg, field_map=mapping)
    result = compliance.evaluate(scheme, compliance.load_profile("hebi"))
    sq01 = result.findings.set_index("rule_id").loc["SQ01"]
    assert sq01["measured"] == pytest.approx(0.5)  # the hard area, not the 2.25 ha polygon


# ----------------------------------------------------------------------------- layer names


@pytest.mark.parametrize(
    ("name", "contract"),
    [
        ("地块", "parcels"),
        ("控规地块", "parcels"),
        ("DLTB", "parcels"),
        ("道路中心线", "roads"),
        ("道路红线", "roads"),
        ("公园绿地", "green_spaces"),
        ("广场", "squares"),
        ("组团", "clusters"),
        ("生态廊道", "corridors"),
        ("规划范围", "boundary"),
        ("更新单元", "renewal_units"),
        ("绿道", "greenways"),
        ("公共服务设施", "facilities"),
        ("Parcels", "parcels"),
    ],
)
def test_chinese_layer_names(name, contract):
    assert fields.contract_layer(name) == (
        contract,
        "contract" if name.lower() == contract else "recognised",
    )


def test_chinese_file_stem_in_a_folder(tmp_path):
    layer([sq(0, 0, 150)], 名称=["人民广场"]).to_file(tmp_path / "广场.geojson")
    scheme = read(tmp_path)
    assert scheme.layers["squares"]["name"].tolist() == ["人民广场"]
    assert "layer '广场' read as squares" in scheme.notes


def test_two_layers_for_one_contract_layer(tmp_path):
    a = layer([sq(0, 0, 100)])
    gpkg = write_gpkg(tmp_path / "s.gpkg", 地块=a, 用地=a)
    assert refused(gpkg) == (
        f"{gpkg}: '地块' and '用地' are both read as the parcels layer; keep one, or name the "
        "one to read in a mapping file (--field-map), e.g. layers: {地块: parcels}"
    )
    write_gpkg(gpkg, parcels=a)
    scheme = read(gpkg)
    assert "parcels: '地块', '用地' not read ('parcels' is read as parcels)" in scheme.notes
    mapping = tmp_path / "m.yaml"
    mapping.write_text("layers:\n  用地: parcels\n", encoding="utf-8")
    scheme = read(gpkg, field_map=mapping)
    assert "parcels: '地块', 'parcels' not read ('用地' is read as parcels)" in scheme.notes


def test_unrecognised_layers_are_named(tmp_path):
    gpkg = write_gpkg(tmp_path / "s.gpkg", 规划道路网=layer([sq(0, 0, 100)]))
    msg = refused(gpkg)
    assert "found '规划道路网'" in msg and "map them in a mapping file (--field-map)" in msg


# ----------------------------------------------------------------------------- land-use codes


def test_third_land_survey_codes_from_dlbm_read_as_2023_codes(tmp_path):
    codes = ["0810", "1101", "0702", "08H2", "0201K", 701, "1207"]
    dltb = layer([sq(200 * i, 0, 100) for i in range(len(codes))], DLBM=codes)
    scheme = read(write_gpkg(tmp_path / "s.gpkg", DLTB=dltb))
    land_use = scheme.layers["parcels"]["land_use"]
    assert land_use.tolist() == ["14", "1701", "0703", "08", "0201", "0701", "24"]
    # a 三调 park (0810) and river (1101) do not break a corridor; 三调 0701 is housing
    assert is_construction(land_use).tolist() == [False, False, True, True, False, True, False]
    assert is_residential(land_use).tolist() == [False, False, False, False, False, True, False]
    assert (
        "parcels: DLBM holds 第三次全国国土调查 (三调) codes; 6 values read as 2023 用地用海 "
        "codes, e.g. '0810' → 14"
    ) in scheme.notes


def test_land_use_codes_as_given_when_the_mapping_file_says_2023(tmp_path):
    dltb = layer([sq(0, 0, 100)], DLBM=["1101"])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("land_use_codes: '2023'\n", encoding="utf-8")
    scheme = read(write_gpkg(tmp_path / "s.gpkg", DLTB=dltb), field_map=mapping)
    assert scheme.layers["parcels"]["land_use"].tolist() == ["1101"]  # 2023 仓储用地


def test_land_use_names_letters_and_code_with_name(tmp_path):
    values = ["住宅用地", "二类居住用地", "0701城镇住宅用地", "R2", "G1", "1402", "公园绿地", None]
    parcels = layer([sq(200 * i, 0, 100) for i in range(len(values))], 用地性质=values)
    scheme = read(write_gpkg(tmp_path / "s.gpkg", parcels=parcels))
    land_use = scheme.layers["parcels"]["land_use"]
    assert land_use.iloc[:7].tolist() == ["07", "R2", "0701", "R2", "G1", "1402", "1401"]
    assert pd.isna(land_use.iloc[7])
    assert "parcels: 3 land_use class names read as codes, e.g. '住宅用地' → 07" in scheme.notes
    assert (
        "parcels: 1 land_use value written as code and name, e.g. '0701城镇住宅用地' → 0701"
        in scheme.notes
    )


def test_green_space_kinds_in_chinese(tmp_path):
    greens = layer(
        [sq(0, 0, 100), sq(200, 0, 100), sq(400, 0, 100)],
        绿地类型=["公园绿地", "防护绿地", "park"],
    )
    scheme = read(write_gpkg(tmp_path / "s.gpkg", 绿地=greens))
    assert scheme.layers["green_spaces"]["kind"].tolist() == ["park", "protective", "park"]


# ----------------------------------------------------------------------------- encodings


def _shapefile(folder: Path, encoding: str) -> Path:
    folder.mkdir()
    parcels = layer(
        [sq(0, 0, 100), sq(200, 0, 100)],
        YDXZ=["住宅用地", "公园绿地"],
        MC=["幸福里小区", "人民公园"],
    )
    parcels.to_file(folder / "地块.shp", encoding=encoding)
    return folder / "地块.shp"


def test_gbk_shapefile_without_cpg_is_read_as_gb18030(tmp_path):
    shp = _shapefile(tmp_path / "s", "GBK")
    shp.with_suffix(".cpg").unlink()
    assert shp.with_suffix(".dbf").read_bytes()[29] == 0  # no language driver id either
    garbled = pyogrio.read_dataframe(shp)["MC"].tolist()
    assert garbled != ["幸福里小区", "人民公园"]  # GDAL alone reads GBK as ISO-8859-1
    scheme = read(shp.parent)
    p = scheme.layers["parcels"]
    assert p["name"].tolist() == ["幸福里小区", "人民公园"]
    assert p["land_use"].tolist() == ["07", "1401"]
    assert "parcels: 地块.shp has no .cpg and its text is not UTF-8; read as GB18030 (GBK)" in (
        scheme.notes
    )


def test_utf8_shapefile_without_cpg_is_read_as_utf8(tmp_path):
    shp = _shapefile(tmp_path / "s", "UTF-8")
    shp.with_suffix(".cpg").unlink()
    scheme = read(shp.parent)
    assert scheme.layers["parcels"]["name"].tolist() == ["幸福里小区", "人民公园"]
    assert "parcels: 地块.shp has no .cpg; its text read as UTF-8" in scheme.notes


def test_gbk_shapefile_with_cpg_needs_nothing(tmp_path):
    shp = _shapefile(tmp_path / "s", "GBK")
    scheme = read(shp.parent)
    assert scheme.layers["parcels"]["name"].tolist() == ["幸福里小区", "人民公园"]
    assert not any(".cpg" in n for n in scheme.notes)


# ----------------------------------------------------------------------------- numbers as text


@pytest.mark.parametrize(
    ("text", "dimension", "value"),
    [
        ("40米", "length", 40.0),
        ("40 m", "length", 40.0),
        ("０.０５公里", "length", 50.0),
        ("1.2km", "length", 1200.0),
        ("2公顷", "area", 20_000.0),
        ("3亩", "area", 2000.0),
        ("12,000㎡", "area", 12_000.0),
        ("2.5万平方米", "area", 25_000.0),
        ("1 平方公里", "area", 1e6),
        ("5 hm2", "area", 50_000.0),
        ("18层", "storeys", 18.0),
        ("18", "storeys", 18.0),
        ("1.5万", "persons", 15_000.0),
        ("1.5万人", "persons", 15_000.0),
        ("300人", "persons", 300.0),
    ],
)
def test_numbers_with_chinese_units(text, dimension, value):
    parsed = units.parse_quantity(text, dimension)
    assert parsed.value == pytest.approx(value)
    assert parsed.problem == ""


@pytest.mark.parametrize(
    ("text", "dimension", "problem"),
    [
        ("40公顷", "length", "'公顷' is 面积 an area in square metres"),
        ("40米", "area", "'米' is 长度 a length in metres"),
        ("18层", "persons", "'层' is 层数 a number of storeys"),
        ("40米", "storeys", "'米' is 长度 a length in metres"),
        ("30-40米", "length", "a range, not one number"),
        ("约40米", "length", "not a number"),
        ("四十米", "length", "not a number"),
        ("40米左右", "length", "unit '米左右' not understood"),
        ("3户", "persons", "unit '户' not understood"),
        ("50%", "storeys", "a percentage"),
    ],
)
def test_text_that_is_ambiguous_or_of_another_dimension_is_not_read(text, dimension, problem):
    parsed = units.parse_quantity(text, dimension)
    assert (parsed.value, parsed.problem) == (None, problem)


def test_text_numbers_in_a_layer_are_converted_with_a_note(tmp_path):
    lines = [LineString([(X0, Y0 + 100 * i), (X0 + 500, Y0 + 100 * i)]) for i in range(5)]
    roads = layer(lines, 红线宽度=["40米", "45", "0.05公里", None, "40米"])
    scheme = read(write_gpkg(tmp_path / "s.gpkg", roads=roads))
    widths = scheme.layers["roads"]["red_line_width_m"].tolist()
    assert widths[:3] + widths[4:] == [40.0, 45.0, 50.0, 40.0] and np.isnan(widths[3])
    assert (
        "roads.red_line_width_m: 3 values parsed from text with units, e.g. '40米' → 40.0"
        in scheme.notes
    )


def test_text_of_the_wrong_dimension_is_refused_naming_file_layer_field_feature(tmp_path):
    lines = [LineString([(X0, Y0 + 100 * i), (X0 + 500, Y0 + 100 * i)]) for i in range(3)]
    roads = layer(lines, id=["R0", "R1", "R2"], HXKD=["40米", "40公顷", "30-40米"])
    gpkg = write_gpkg(tmp_path / "s.gpkg", 道路=roads)
    assert refused(gpkg) == (
        f"{gpkg} layer '道路' (roads): field 'red_line_width_m' (from HXKD) holds text that is "
        "not 长度 a length in metres: feature R1 has '40公顷' ('公顷' is 面积 an area in square "
        "metres) (and 1 more); write a plain number in the unit the field name gives, or a "
        "number with its unit such as '40米', '2公顷', '18层', '1.5万'"
    )


def test_each_distinct_text_is_parsed_once(monkeypatch):
    calls: list[str] = []
    real = units.parse_quantity

    def counting(text: str, dimension: units.Dimension) -> units.Parsed:
        calls.append(text)
        return real(text, dimension)

    monkeypatch.setattr(units, "parse_quantity", counting)
    column = pd.Series(["40米", "2公里", "40米", 12.0, "7"] * 1000)
    res = units.parse_column(column, "length")
    assert sorted(calls) == ["2公里", "40米"]
    assert res.values.iloc[:5].tolist() == [40.0, 2000.0, 40.0, 12.0, 7.0]
    assert (res.parsed, res.bad_position) == (3000, None)


def test_negative_and_absurd_values_are_ignored_with_a_warning(tmp_path):
    buildings = layer(
        [sq(0, 0, 20), sq(100, 0, 20), sq(200, 0, 20), sq(300, 0, 20)],
        id=["B0", "B1", "B2", "B3"],
        floors=[12, -3, 2000, "2000层"],
        height_m=[36.0, 5000.0, 40.0, 0.0],
    )
    gpkg = write_gpkg(tmp_path / "s.gpkg", buildings=buildings)
    scheme = read(gpkg)
    b = scheme.layers["buildings"]
    assert b["floors"].tolist()[0] == 12.0 and b["floors"].iloc[1:].isna().all()
    assert b["height_m"].tolist()[0::2] == [36.0, 40.0] and b["height_m"].iloc[[1, 3]].isna().all()
    where = f"{gpkg} layer 'buildings'"
    assert scheme.warnings == [
        f"{where}: field 'floors', feature B1: -3 is below 1 层; value ignored "
        "(数值不合理，已忽略)",
        f"{where}: field 'floors', feature B2: 2000 is implausible (the tallest buildings have "
        "about 160 storeys) (and 1 more); value ignored (数值不合理，已忽略)",
        f"{where}: field 'height_m', feature B3: 0 is not above 0 m; value ignored "
        "(数值不合理，已忽略)",
        f"{where}: field 'height_m', feature B1: 5000 is implausible (the tallest buildings are "
        "under 1,000 m); value ignored (数值不合理，已忽略)",
    ]


def test_density_bound_is_per_area_of_the_feature(tmp_path):
    parcels = layer(
        [sq(0, 0, 100), sq(200, 0, 100)], id=["P0", "P1"], population=[30_000, 60_000]
    )  # 3 and 6 persons per m² of a 1 ha parcel
    scheme = read(write_gpkg(tmp_path / "s.gpkg", parcels=parcels))
    assert scheme.layers["parcels"]["population"].tolist()[0] == 30_000.0
    assert np.isnan(scheme.layers["parcels"]["population"].iloc[1])
    assert len(scheme.warnings) == 1 and "feature P1: 60000 is implausible" in scheme.warnings[0]


# ----------------------------------------------------------------------------- geometries


def test_z_coordinates_are_dropped(tmp_path):
    z = shapely.force_3d(sq(0, 0, 100), 50.0)
    layer([z], id=["P0"]).to_file(tmp_path / "squares.geojson")
    scheme = read(tmp_path)
    g = scheme.layers["squares"].geometry
    assert not shapely.has_z(g.array).any() and g.area.iloc[0] == pytest.approx(10_000.0)
    assert "squares: Z coordinates dropped from 1 feature (measured in 2-D)" in scheme.notes


def test_m_values_are_dropped(tmp_path):
    gpkg = write_gpkg(tmp_path / "s.gpkg", squares=layer([sq(0, 0, 10)], id=["P0"]))
    x, y = X0, Y0
    zm = shapely.from_wkt(
        f"POLYGON ZM (({x} {y} 5 1, {x + 200} {y} 5 2, {x + 200} {y + 200} 5 3, "
        f"{x} {y + 200} 5 4, {x} {y} 5 1))"
    )
    con = sqlite3.connect(gpkg)
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        con.execute(f'DROP TRIGGER "{trigger}"')  # the R-tree triggers need GDAL's functions
    blob = b"GP\x00\x01" + struct.pack("<i", 4547)
    blob += shapely.to_wkb(zm, flavor="iso", output_dimension=4, byte_order=1)
    con.execute("UPDATE squares SET geom = ?", (blob,))
    con.execute("UPDATE gpkg_geometry_columns SET z = 1, m = 1")
    con.commit()
    con.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyogrio's warning about M must not escape
        scheme = read(gpkg)
    assert scheme.layers["squares"].area.iloc[0] == pytest.approx(40_000.0)
    assert "squares: M (measure) values dropped; only x and y are used" in scheme.notes
    assert "squares: Z coordinates dropped from 1 feature (measured in 2-D)" in scheme.notes


def test_features_of_another_type_are_dropped_with_a_warning(tmp_path):
    mixed = layer(
        [sq(0, 0, 100), Point(X0, Y0), LineString([(X0, Y0), (X0, Y0 + 5)]), sq(200, 0, 50)],
        id=["P0", "P1", "P2", "P3"],
    )
    gpkg = write_gpkg(tmp_path / "s.gpkg", squares=mixed)
    scheme = read(gpkg)
    assert scheme.layers["squares"]["feature_id"].tolist() == ["P0", "P3"]
    assert scheme.warnings == [
        f"{gpkg} layer 'squares': 2 features are not Polygon or MultiPolygon and were dropped "
        "(first: feature P1, a Point); 图层几何类型混杂"
    ]


def test_a_layer_with_no_feature_of_its_type_is_refused(tmp_path):
    points = layer([Point(X0, Y0), Point(X0 + 1, Y0)], id=["P0", "P1"])
    gpkg = write_gpkg(tmp_path / "s.gpkg", squares=points)
    assert refused(gpkg) == (
        f"{gpkg} layer 'squares': no feature is a Polygon or MultiPolygon; feature P0 is a "
        "Point, expected Polygon or MultiPolygon; split or convert the layer"
    )


def test_geometry_collection_counts_as_another_type(tmp_path):
    gc = shapely.GeometryCollection([sq(0, 0, 100), LineString([(X0, Y0), (X0, Y0 + 9)])])
    gpkg = write_gpkg(tmp_path / "s.gpkg", squares=layer([gc], id=["P0"]))
    assert "feature P0 is a GeometryCollection" in refused(gpkg)


def test_collections_are_reduced_to_the_layer_type():
    gc = shapely.GeometryCollection(
        [sq(0, 0, 10), LineString([(X0, Y0), (X0, Y0 + 9)]), Point(X0, Y0), sq(50, 0, 10)]
    )
    lines_only = shapely.GeometryCollection([LineString([(X0, Y0), (X0, Y0 + 9)]), Point(X0, Y0)])
    out = _reduce_to(np.array([gc, lines_only], dtype=object), ("Polygon", "MultiPolygon"))
    assert out[0].geom_type == "MultiPolygon" and out[0].area == pytest.approx(200.0)
    assert out[1] is None
    roads = _reduce_to(np.array([lines_only], dtype=object), ("LineString", "Polygon"))
    assert roads[0].geom_type == "LineString" and roads[0].length == pytest.approx(9.0)


def test_invalid_geometries_are_repaired_with_a_warning(tmp_path):
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    gpkg = write_gpkg(
        tmp_path / "s.gpkg", squares=layer([bow_tie, sq(200, 0, 10)], id=["P0", "P1"])
    )
    scheme = read(gpkg)
    g = scheme.layers["squares"].geometry
    assert g.is_valid.all() and g.area.iloc[0] == pytest.approx(5000.0)
    assert g.geom_type.iloc[0] == "MultiPolygon"  # the two triangles
    assert scheme.repaired == {"squares": 1}
    assert scheme.warnings == [
        f"{gpkg} layer 'squares': 1 invalid geometries repaired with make_valid (first: feature "
        f"P0, Self-intersection[{X0 + 50:.0f} {Y0 + 50:.0f}]); 几何无效已修复"
    ]


def test_slivers_and_collapsed_rings_are_dropped_with_a_warning(tmp_path):
    tiny = box(X0, Y0, X0 + 0.05, Y0 + 0.05)  # 0.0025 m²
    flat = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0)])  # a ring with no area
    gpkg = write_gpkg(
        tmp_path / "s.gpkg", squares=layer([sq(0, 0, 100), tiny, flat], id=["P0", "P1", "P2"])
    )
    scheme = read(gpkg)
    assert scheme.layers["squares"]["feature_id"].tolist() == ["P0"]
    where = f"{gpkg} layer 'squares'"
    assert (
        f"{where}: 1 polygons have zero area (under 0.01 m², slivers) and were dropped "
        "(first: feature P1); 零面积碎片" in scheme.warnings
    )
    assert (
        f"{where}: 1 invalid geometries have no area or length (zero area, collapsed when "
        "repaired) and were dropped (first: feature P2); 零面积碎片"
    ) in scheme.warnings


def test_multi_part_features_are_kept(tmp_path):
    parts = MultiPolygon([sq(0, 0, 100), sq(300, 0, 100)])
    scheme = read(write_gpkg(tmp_path / "s.gpkg", squares=layer([parts], id=["P0"])))
    g = scheme.layers["squares"].geometry
    assert (g.geom_type.iloc[0], g.area.iloc[0]) == ("MultiPolygon", pytest.approx(20_000.0))
    assert scheme.warnings == []


def test_unclosed_ring_in_geojson_is_closed_with_a_warning(tmp_path):
    ring = [[114.0, 35.0], [114.001, 35.0], [114.001, 35.001], [114.0, 35.001]]  # not closed
    closed = [[114.01, 35.0], [114.011, 35.0], [114.011, 35.001], [114.01, 35.0]]
    features = [
        {
            "type": "Feature",
            "properties": {"id": i},
            "geometry": {"type": "Polygon", "coordinates": [r]},
        }
        for i, r in (("Q1", ring), ("Q2", closed))
    ]
    path = tmp_path / "squares.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(shapely.errors.GEOSException), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: "Non closed ring detected"
        gpd.read_file(path)  # what reading it plainly does
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheme = read(tmp_path)
    assert [str(w.message) for w in caught] == []  # GDAL's warning is ours to word
    s = scheme.layers["squares"]
    assert s["feature_id"].tolist() == ["Q1", "Q2"]
    assert s.area.iloc[0] == pytest.approx(10_130, rel=0.01)  # 0.001° × 0.001° at 35°N
    assert scheme.warnings == [
        f"{path}: 1 polygon rings were not closed and have been closed (first: feature Q1); "
        "多边形未闭合已闭合"
    ]


def test_null_and_empty_geometries_are_dropped_with_a_warning(tmp_path):
    gpkg = write_gpkg(
        tmp_path / "s.gpkg", squares=layer([sq(0, 0, 100), None, Polygon()], id=["P0", "P1", "P2"])
    )
    scheme = read(gpkg)
    assert scheme.dropped_empty == {"squares": 2}
    assert scheme.warnings == [
        f"{gpkg} layer 'squares': 2 null or empty geometries dropped (first: feature P1); "
        "空几何已忽略"
    ]


def test_empty_layer_is_treated_as_absent(tmp_path):
    gpkg = write_gpkg(
        tmp_path / "s.gpkg",
        squares=layer([], id=[]),
        clusters=layer([sq(0, 0, 1000)], id=["C0"]),
    )
    scheme = read(gpkg)
    assert set(scheme.layers) == {"clusters"} and scheme.layer("squares") is None
    assert f"squares: {gpkg} layer 'squares' has no features; the layer is treated as absent" in (
        scheme.notes
    )


# ----------------------------------------------------------------------------- CRS and place


def test_centre_and_far_from_china(tmp_path):
    hebi = read(DEMO)
    assert hebi.centre_lonlat == pytest.approx((114.27, 35.74), abs=0.01)
    assert not far_from_china(hebi) and far_from_china_warning(hebi) is None
    helsinki = layer([box(24.94, 60.16, 24.95, 60.17)], crs="EPSG:4326", id=["P0"])
    scheme = read(write_gpkg(tmp_path / "s.gpkg", squares=helsinki))
    assert scheme.crs.to_epsg() == 32635 and far_from_china(scheme)
    assert far_from_china_warning(scheme) == (
        f"{tmp_path / 's.gpkg'}: the data lies far from China, centred at 24.945°, 60.165° "
        "(lon, lat; China is 73–136°E, 3–54°N); check the layers' CRS "
        "(数据不在中国境内，请检查坐标系)"
    )


def test_projected_coordinates_under_a_crs_in_degrees_are_refused(tmp_path):
    wrong = layer([sq(0, 0, 100)], crs="EPSG:4490", id=["P0"])  # CGCS2000 degrees
    gpkg = write_gpkg(tmp_path / "s.gpkg", squares=wrong)
    msg = refused(gpkg)
    assert msg.startswith(f"{gpkg} layer 'squares': the CRS EPSG:4490 China Geodetic Coordinate")
    assert "feature P0 has coordinates like 520000, 3950000; the layer's CRS is wrong" in msg


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize("damage", ["truncated", "pages", "header"])
def test_damaged_geopackage_is_refused(tmp_path, damage):
    data = DEMO.read_bytes()
    bad = tmp_path / "bad.gpkg"
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
        expected = f"of {len(data):,} bytes); copy it again or export it again"
    elif damage == "pages":
        page = 4096
        rng = np.random.default_rng(0)
        garbage = rng.integers(0, 256, 3 * page, dtype=np.uint8).tobytes()
        bad.write_bytes(data[: 2 * page] + garbage + data[5 * page :])
        expected = "the GeoPackage is damaged (SQLite"
    else:
        bad.write_bytes(b"\0" * 100 + data[100:])
        expected = "it is not an SQLite database"
    msg = refused(bad)
    assert msg.startswith(f"{bad}: cannot be read") and expected in msg
    assert sorted(os.listdir(tmp_path)) == ["bad.gpkg"]  # no -journal, -wal or -shm


def test_shapefile_without_shx_is_read_through_a_temporary_copy(tmp_path):
    shp = _shapefile(tmp_path / "s", "UTF-8")
    shp.with_suffix(".shx").unlink()
    scheme = read(shp.parent)  # asserts the folder is unchanged: no .shx written into it
    assert scheme.layers["parcels"]["name"].tolist() == ["幸福里小区", "人民公园"]
    assert (
        "parcels: 地块.shp has no .shx; the index was rebuilt in a temporary copy "
        "(restored .shx; the input is unchanged)"
    ) in scheme.notes
    assert pyogrio.get_gdal_config_option("SHAPE_RESTORE_SHX") is None  # option reset


def test_shapefile_without_dbf_is_refused(tmp_path):
    shp = _shapefile(tmp_path / "s", "UTF-8")
    shp.with_suffix(".dbf").unlink()
    assert refused(shp.parent) == (
        f"{shp} (parcels): the attribute table 地块.dbf is missing beside 地块.shp, so the "
        "features have no fields; copy the .dbf next to the .shp (缺少 .dbf 属性表)"
    )


def test_geometry_made_invalid_by_projection_is_repaired(tmp_path):
    """A bow-tie repaired in its own CRS can cross itself again once projected to another zone."""
    x, y = 358_229, 3_950_000
    bow = Polygon([(x, y), (x + 2, y + 70_000), (x + 2, y), (x, y + 70_000)])
    far = box(320_000, 3_950_000, 320_100, 3_950_100)
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[bow, far], crs="EPSG:4547").to_file(
        tmp_path / "s.gpkg", layer="clusters"
    )
    scheme = compliance.read_scheme(tmp_path / "s.gpkg")
    assert scheme.crs.to_epsg() == 4546  # the centre lies in the CM 111E zone
    assert shapely.is_valid(scheme.layers["clusters"].geometry.to_numpy()).all()
    assert any("became invalid when projected" in n for n in scheme.notes)
