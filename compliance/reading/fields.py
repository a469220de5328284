"""Layer and field names as Chinese planning data has them, and a mapping file for the rest.

Planning offices hand over layers named ``地块`` or ``道路中心线`` with fields
such as ``YDYHFLDM`` (用地用海分类代码), ``DLBM`` (地类编码), ``层数`` or
``高度``.  This module recognises the common ones without configuration
(:data:`LAYER_ALIASES`, :data:`FIELD_ALIASES`), reads a user's mapping file for
anything else (:func:`load_field_map`), and turns Chinese values into the
contract's (land-use class names into codes, 三调 codes into 2023 codes,
``公园绿地`` into ``park``, ``主干路`` into ``primary``).

Where the names come from:

- 《国土空间调查、规划、用途管制用地用海分类指南》(自然资发〔2023〕234号) and the
  国土空间规划 databases built on it: ``YDYHFLDM`` 用地用海分类代码, the 2023
  class names (城镇住宅用地 0701, 公园绿地 1401 …).
- 第三次全国国土调查 (TD/T 1055-2019, 三调) and the annual 变更调查: layer
  ``DLTB`` 地类图斑, fields ``DLBM`` 地类编码, ``BSM`` 标识码, layer ``XZQ``
  行政区 with ``XZQMC``; the 三调 working classification (工作分类) codes
  translated by :data:`TDD_TO_2023`.
- 不动产登记数据库标准 (TD/T 1066) 自然幢 ``ZRZ``: ``ZCS`` 总层数, ``DSCS``
  地上层数, ``JZWGD`` 建筑物高度, ``SCJZMJ`` 实测建筑面积, ``GHYT`` 规划用途.
- 控制性详细规划 (控规) datasets and their 拼音 abbreviations: ``DKBH`` 地块编号,
  ``YDDM`` 用地代码, ``YDXZ`` 用地性质 (GB 50137-2011 letters), ``JZMJ``
  建筑面积, ``JZGD`` 建筑高度, ``JZCS`` 建筑层数, ``RK`` 人口, ``HXKD`` 红线宽度,
  ``DLDJ`` 道路等级, ``SFXJ`` 是否新建, ``JZYT`` 建筑用途.

A name is matched case-insensitively (Shapefile tools upper-case names).
Recognition never picks silently between candidates: an explicit mapping
wins, then the contract's own name, then the dBase-truncated contract name,
then the alias tiers in order; two candidates on the same level are an
:class:`~compliance.errors.InputError` naming both, and a candidate on a lower
level is noted as ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from ..notes import Note, layer_zh
from ..safeyaml import load_yaml_file
from ..wording import count_en, noun_en
from .contract import LAYERS
from .landuse import normalize_codes

#: Shapefile (dBase) field names hold at most 10 characters.
DBF_NAME_LENGTH = 10

#: Recognised layer names per contract layer (matched case-insensitively).
LAYER_ALIASES: dict[str, tuple[str, ...]] = {
    "parcels": (
        "地块",
        "用地",
        "规划用地",
        "控规地块",
        "规划地块",
        "用地规划",
        "土地利用规划",
        "用地用海",
        "用地用海分类",
        "地类图斑",  # 三调 layer DLTB
        "DLTB",
        "parcel",
    ),
    "roads": (
        "道路",
        "道路中心线",
        "道路红线",
        "道路用地",  # road land (polygons), beside 道路中心线 in a File Geodatabase
        "城市道路",
        "规划道路",
        "路网",
        "DLZXX",  # 道路中心线
        "road",
    ),
    "buildings": ("建筑", "建筑物", "房屋", "建筑轮廓", "JZW", "ZRZ", "building"),  # ZRZ 自然幢
    "green_spaces": ("绿地", "公园绿地", "城市绿地", "绿地系统", "公园", "green", "greenspace"),
    "squares": ("广场", "城市广场", "广场用地", "square"),
    "clusters": ("组团", "城市组团", "功能组团", "cluster"),
    "corridors": ("生态廊道", "廊道", "绿廊", "corridor"),
    "boundary": (
        "规划范围",
        "用地红线",  # a site plan's 用地红线 / 建设用地红线 (the site boundary)
        "建设用地红线",
        "用地范围",
        "边界",
        "规划边界",
        "研究范围",
        "范围线",
        "行政区",
        "行政区划",
        "XZQ",  # 三调 layer 行政区
        "boundaries",
    ),
    "renewal_units": ("更新单元", "城市更新单元", "renewal_unit"),
    "greenways": ("绿道", "greenway"),
    "facilities": ("设施", "公共服务设施", "公服设施", "配套设施", "服务设施", "facility"),
    "height_zones": ("高度分区", "高度控制分区", "限高分区", "height_zone"),
    "districts": (
        "居住小区",
        "小区",
        "住宅小区",
        "城市新建区",
        "绿色生态城区",
        "片区",
        "district",
        "residential_district",
    ),
    "communities": ("居住社区", "社区", "完整社区", "community"),
    "waterlogging_points": ("易涝积水点", "积水点", "易涝点", "waterlogging_point"),
}

#: Recognised field names per contract field, in tiers: the first tier holding
#: a field of the layer wins (a lower tier's field is noted as ignored); two
#: fields of the same tier are an error.  ``id`` gives the feature id.
FIELD_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "id": (
        ("DKBH", "地块编号", "编号", "BH"),  # 控规 地块编号
        ("BSM", "标识码"),  # 三调 / 国土空间规划数据库 标识码
    ),
    "land_use": (
        (  # planned use: 2023 codes (YDYHFLDM) or GB 50137 letters (控规 YDDM, YDXZ)
            "YDYHFLDM",
            "用地用海分类代码",
            "用地用海代码",
            "用地用海分类",
            "YDDM",
            "用地代码",
            "用地分类代码",
            "YDXZ",
            "用地性质",
            "用地性质代码",
            "规划用地性质",
            "用地类别",
        ),
        ("DLBM", "地类编码", "地类代码", "DLDM"),  # current use: 三调 地类编码
    ),
    "floors": (
        ("层数", "建筑层数", "地上层数", "CS", "JZCS", "DSCS"),
        ("总层数", "ZCS"),  # 不动产 ZRZ 总层数 counts basements too
    ),
    "height_m": (("高度", "建筑高度", "建筑物高度", "JZGD", "JZWGD"),),
    "population": (
        (
            "人口",
            "人口数",
            "人口规模",
            "规划人口",
            "居住人口",
            "常住人口",
            "RK",
            "RKS",
            "GHRK",
            "RKGM",
        ),
    ),
    "floor_area_m2": (
        ("建筑面积", "总建筑面积", "JZMJ", "ZJZMJ", "SCJZMJ"),
        ("计容建筑面积", "JRJZMJ"),
    ),
    "hard_area_m2": (("硬地面积", "硬质铺装面积", "集中硬地面积", "广场硬地面积"),),
    "permeable_area_m2": (("透水面积", "可透水面积", "透水铺装面积"),),
    "existing_floor_area_m2": (("现状建筑面积", "XZJZMJ"),),
    "demolished_floor_area_m2": (("拆除建筑面积", "拆除面积", "CCJZMJ"),),
    "roof_area_m2": (("屋顶面积", "屋面面积"),),
    "pv_area_m2": (("光伏面积", "光伏板面积", "光伏安装面积"),),
    "green_star": (("绿色建筑星级", "绿建星级", "星级"),),
    "name": (
        ("名称", "MC"),
        (
            "地块名称",
            "道路名称",
            "路名",
            "建筑名称",
            "组团名称",
            "廊道名称",
            "广场名称",
            "公园名称",
            "绿地名称",
            "设施名称",
            "单元名称",
            "行政区名称",
            "XZQMC",
        ),
    ),
    "red_line_width_m": (
        ("道路红线宽度", "红线宽度", "红线宽", "HXKD", "DLHXKD"),
        ("道路宽度", "路宽", "DLKD"),  # 控规 道路一览表: 道路宽度 is the red-line width
    ),
    "road_class": (("道路等级", "道路级别", "DLDJ", "等级"),),
    "is_new": (("是否新建", "新建", "SFXJ"),),
    "oneway": (("单行", "是否单行", "单向"),),
    "use": (
        (
            "用途",
            "建筑用途",
            "房屋用途",
            "规划用途",
            "使用功能",
            "建筑功能",
            "JZYT",
            "FWYT",
            "GHYT",
        ),
    ),
    "kind": (("类型", "类别", "绿地类型", "绿地类别", "设施类型", "设施类别", "级别", "行政级别"),),
    "investor": (("投资主体", "投资方", "建设单位"),),
    "solar_thermal": (("太阳能热水", "太阳能热利用"),),
    "demolished": (("是否拆除", "拆除"),),
}

#: 第三次全国国土调查 (三调) working-classification codes → 2023 用地用海 codes.
#: Where a 三调 class spans several 2023 classes the 2023 parent is given
#: (``0810`` 公园与绿地 → ``14``, ``08H2`` 科教文卫 → ``08``).  Codes with the
#: ``K`` suffix (可调整地类) map as their base class.
TDD_TO_2023: dict[str, str] = {
    "0201": "0201",
    "0202": "0202",
    "0203": "0203",
    "0204": "0205",  # 其他园地
    "0303": "0507",  # 红树林地
    "0304": "0501",  # 森林沼泽
    "0305": "0303",  # 灌木林地
    "0306": "0502",  # 灌丛沼泽
    "0307": "0304",  # 其他林地
    "0402": "0503",  # 沼泽草地
    "0403": "0402",  # 人工牧草地
    "0404": "0403",  # 其他草地
    "05H1": "09",  # 商业服务业设施用地
    "0508": "1101",  # 物流仓储用地
    "0601": "1001",  # 工业用地
    "0602": "1002",  # 采矿用地
    "0603": "1003",  # 盐田
    "0701": "0701",  # 城镇住宅用地
    "0702": "0703",  # 农村宅基地
    "08H1": "0801",  # 机关团体新闻出版用地
    "08H2": "08",  # 科教文卫用地
    "0809": "13",  # 公用设施用地
    "0810": "14",  # 公园与绿地
    "0810A": "1403",  # 广场用地
    "09": "15",  # 特殊用地
    "1001": "1201",  # 铁路用地
    "1002": "1206",  # 轨道交通用地
    "1003": "1202",  # 公路用地
    "1004": "1207",  # 城镇村道路用地
    "1005": "1208",  # 交通服务场站用地
    "1006": "0601",  # 农村道路
    "1007": "1203",  # 机场用地
    "1008": "1204",  # 港口码头用地
    "1009": "1205",  # 管道运输用地
    "1101": "1701",  # 河流水面
    "1102": "1702",  # 湖泊水面
    "1103": "1703",  # 水库水面
    "1104": "1704",  # 坑塘水面
    "1104A": "1704",  # 养殖坑塘
    "1105": "0505",  # 沿海滩涂
    "1106": "0506",  # 内陆滩涂
    "1107": "1705",  # 沟渠
    "1107A": "1705",  # 干渠
    "1108": "0504",  # 沼泽地
    "1109": "13",  # 水工建筑用地
    "1110": "1706",  # 冰川及永久积雪
    "1201": "24",  # 空闲地
    "1202": "0602",  # 设施农用地
    "1203": "24",  # 田坎
    "1204": "24",  # 盐碱地
    "1205": "24",  # 沙地
    "1206": "24",  # 裸土地
    "1207": "24",  # 裸岩石砾地
}

#: Land-use class names → codes: the 2023 names, the 三调 names that differ,
#: and the GB 50137-2011 names of the residential subclasses.
LAND_USE_NAMES: dict[str, str] = {
    "耕地": "01",
    "园地": "02",
    "林地": "03",
    "草地": "04",
    "湿地": "05",
    "农业设施建设用地": "06",
    "居住用地": "07",
    "住宅用地": "07",
    "城镇住宅用地": "0701",
    "城镇社区服务设施用地": "0702",
    "农村宅基地": "0703",
    "农村社区服务设施用地": "0704",
    "公共管理与公共服务用地": "08",
    "机关团体用地": "0801",
    "科研用地": "0802",
    "文化用地": "0803",
    "教育用地": "0804",
    "体育用地": "0805",
    "医疗卫生用地": "0806",
    "社会福利用地": "0807",
    "商业服务业用地": "09",
    "商业用地": "0901",
    "商务金融用地": "0902",
    "娱乐康体用地": "0903",
    "工矿用地": "10",
    "工业用地": "1001",
    "采矿用地": "1002",
    "仓储用地": "11",
    "物流仓储用地": "1101",
    "储备库用地": "1102",
    "交通运输用地": "12",
    "铁路用地": "1201",
    "公路用地": "1202",
    "城镇村道路用地": "1207",
    "交通场站用地": "1208",
    "公用设施用地": "13",
    "绿地与开敞空间用地": "14",
    "公园绿地": "1401",
    "防护绿地": "1402",
    "广场用地": "1403",
    "特殊用地": "15",
    "留白用地": "16",
    "陆地水域": "17",
    "其他土地": "24",
    "一类居住用地": "R1",
    "二类居住用地": "R2",
    "三类居住用地": "R3",
    "公共管理与公共服务设施用地": "A",
    "商业服务业设施用地": "B",
    "道路与交通设施用地": "S",
    "城市道路用地": "S1",
    "绿地与广场用地": "G",
    "非建设用地": "E",
}

#: Chinese values of text fields → the contract's values, per (layer, field).
VALUE_NAMES: dict[tuple[str, str], dict[str, str]] = {
    ("green_spaces", "kind"): {
        **dict.fromkeys(
            ("公园绿地", "公园", "综合公园", "社区公园", "专类公园", "游园", "1401", "G1"), "park"
        ),
        **dict.fromkeys(("防护绿地", "1402", "G2"), "protective"),
        **dict.fromkeys(("绿地", "附属绿地", "其他绿地", "区域绿地"), "green"),
    },
    ("boundary", "kind"): {
        **dict.fromkeys(("市", "城市", "地级市", "市域", "中心城区"), "city"),
        **dict.fromkeys(("县", "县城", "县域"), "county"),
    },
    ("facilities", "kind"): {
        **dict.fromkeys(("学校", "小学", "中学", "初中", "九年一贯制学校"), "school"),
        **dict.fromkeys(("幼儿园", "托儿所"), "kindergarten"),
        **dict.fromkeys(
            ("社区卫生服务中心", "社区卫生服务站", "卫生服务中心", "卫生院", "门诊部", "诊所"),
            "clinic",
        ),
        **dict.fromkeys(("菜市场", "农贸市场", "生鲜超市"), "market"),
        **dict.fromkeys(("社区服务中心", "社区服务站", "社区中心"), "community_centre"),
        **dict.fromkeys(
            ("养老院", "老年养护院", "日间照料中心", "老年人日间照料中心", "养老服务中心"),
            "elderly_care",
        ),
        **dict.fromkeys(("运动场", "运动场地", "体育场", "体育馆", "健身场地"), "sports"),
    },
    ("roads", "road_class"): {  # GB 50220 / GB/T 51328 classes as OpenStreetMap names them
        "高速公路": "motorway",
        **dict.fromkeys(("快速路", "城市快速路"), "trunk"),
        **dict.fromkeys(("主干路", "主干道", "城市主干路"), "primary"),
        **dict.fromkeys(("次干路", "次干道", "城市次干路"), "secondary"),
        **dict.fromkeys(("支路", "城市支路"), "tertiary"),
    },
}

#: A land-use value written as code and name, e.g. ``0701城镇住宅用地`` or ``R2 二类居住用地``.
_CODE_AND_NAME = re.compile(r"^\s*([0-9]{2,6}[A-Z]?|[A-Za-z][0-9]{0,2}[a-z]?)\s*[\u4e00-\u9fff（(]")

LandUseCodes = Literal["auto", "2023", "tdd"]


class _DxfSection(BaseModel):
    """The mapping file's ``dxf`` section: what CAD layers mean beyond their names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    existing_buildings: list[str] = Field(default_factory=list)


class _FieldMapFile(BaseModel):
    """The mapping file's schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layers: dict[str, str | None] = Field(default_factory=dict)
    fields: dict[str, dict[str, str]] = Field(default_factory=dict)
    land_use_codes: LandUseCodes = "auto"
    source_crs: str | int | None = None
    dxf: _DxfSection = Field(default_factory=lambda: _DxfSection())


@dataclass(frozen=True)
class FieldMap:
    """A user's mapping of source layer and field names onto the data contract.

    Written as YAML::

        layers:                     # source layer (or file stem) -> contract layer
          规划地块: parcels
          现状用地: null            # not read
        fields:
          "*":                      # every layer that has the contract field
            BH: id
          parcels:                  # source field -> contract field
            TDYT: land_use
        land_use_codes: auto        # auto | 2023 | tdd (三调 codes in the land-use field)
        source_crs: EPSG:4526       # CRS of inputs that have none (a DXF drawing)
        dxf:
          existing_buildings: [ZP-XZJZ]   # CAD layers of existing buildings (is_new false)

    CAD layer names of a DXF drawing are source layers like any other: map
    them under ``layers``.

    Attributes
    ----------
    path : str
        The file it was read from (named in notes and errors).
    layers : dict of str to str
    fields : dict of str to dict of str to str
        Per contract layer (or ``"*"``), source field → contract field.
    land_use_codes : {"auto", "2023", "tdd"}
        ``auto``: a ``DLBM``/``地类编码`` field holds 三调 codes, any other
        land-use field 2023 codes or GB 50137 letters; ``tdd``: every land-use
        field holds 三调 codes; ``2023``: none does.
    source_crs : str or None
        The CRS of input layers that carry none (a DXF drawing, a Shapefile
        without ``.prj``), as ``--source-crs`` gives it; the option wins.
    dxf_existing_buildings : tuple of str
        CAD layers whose buildings exist already (``is_new`` false), beyond
        the recognised names (现状建筑 …).
    """

    path: str = ""
    layers: dict[str, str | None] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    land_use_codes: LandUseCodes = "auto"
    source_crs: str | None = None
    dxf_existing_buildings: tuple[str, ...] = ()

    def field_sources(self, layer: str) -> list[tuple[str, str, str]]:
        """(source field, contract field, section) pairs for a contract layer, its section first."""
        out = [(s, t, layer) for s, t in self.fields.get(layer, {}).items()]
        out += [(s, t, "*") for s, t in self.fields.get("*", {}).items()]
        return out


def _contract() -> dict[str, tuple[str, ...]]:

    return {name: (*spec.fields, "id") for name, spec in LAYERS.items()}


def load_field_map(path: str | Path) -> FieldMap:
    """Read and validate a mapping file of layer and field names.

    Parameters
    ----------
    path : str or pathlib.Path
        A YAML file with ``layers``, ``fields`` and ``land_use_codes`` (see
        :class:`FieldMap`).

    Returns
    -------
    FieldMap

    Raises
    ------
    InputError
        The file is missing or not YAML; it has a key other than ``layers``,
        ``fields``, ``land_use_codes``; it maps onto a layer or field the
        data contract does not have; or it maps two source fields onto one
        contract field of a layer.  The message names the file (and line).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: the mapping file is not found")
    data = load_yaml_file(p)  # size and aliases limited: a small file cannot exhaust memory
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{p}: the mapping file must be a YAML mapping with layers and fields")
    try:
        raw = _FieldMapFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(k) for k in err["loc"])
        raise InputError(
            f"{p}: {loc}: {err['msg']} (a mapping file holds layers, fields, land_use_codes, "
            f"source_crs and dxf)"
        ) from exc
    contract = _contract()
    for source, target in raw.layers.items():
        if target is not None and target not in contract:
            raise InputError(
                f"{p}: layers.{source}: '{target}' is not a layer of the data contract "
                f"({', '.join(contract)})"
            )
    every_field = sorted({f for fields in contract.values() for f in fields})
    for section, pairs in raw.fields.items():
        if section != "*" and section not in contract:
            raise InputError(
                f"{p}: fields.{section}: not a layer of the data contract; key the fields "
                f"by contract layer ({', '.join(contract)}) or '*'"
            )
        allowed = every_field if section == "*" else contract[section]
        seen: dict[str, str] = {}
        for source, target in pairs.items():
            if target not in allowed:
                raise InputError(
                    f"{p}: fields.{section}.{source}: '{target}' is not a field of "
                    f"{'any contract layer' if section == '*' else section} "
                    f"({', '.join(allowed)})"
                )
            if target in seen:
                raise InputError(
                    f"{p}: fields.{section}: '{seen[target]}' and '{source}' both map onto "
                    f"'{target}'; keep one"
                )
            seen[target] = source
    source_crs = None if raw.source_crs is None else str(raw.source_crs)
    if source_crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(int(source_crs) if source_crs.isdigit() else source_crs)
        except CRSError as exc:
            raise InputError(
                f"{p}: source_crs: '{source_crs}' is not a CRS pyproj knows; give e.g. "
                f"EPSG:4526 (CGCS2000 / 3-degree Gauss-Kruger zone 38)"
            ) from exc
    return FieldMap(
        path=str(p),
        layers=dict(raw.layers),
        fields={k: dict(v) for k, v in raw.fields.items()},
        land_use_codes=raw.land_use_codes,
        source_crs=source_crs,
        dxf_existing_buildings=tuple(raw.dxf.existing_buildings),
    )


def _key(name: str) -> str:
    return name.strip().casefold()


def contract_layer(name: str, field_map: FieldMap | None = None) -> tuple[str | None, str]:
    """The contract layer a source layer (or file stem) stands for.

    Parameters
    ----------
    name : str
        The layer's name in a GeoPackage, or a file's stem.
    field_map : FieldMap, optional

    Returns
    -------
    (layer, how) : tuple
        ``layer`` is the contract layer or None; ``how`` is ``"contract"`` (the
        name is the contract's), ``"mapping"`` (the mapping file says so; a
        layer it maps to ``null`` is not read) or ``"recognised"``
        (:data:`LAYER_ALIASES`).
    """

    if field_map is not None:
        for source, target in field_map.layers.items():
            if _key(source) == _key(name):
                return target, "mapping"
    if name in LAYERS:
        return name, "contract"
    k = _key(name)
    for layer in LAYERS:
        if k == layer:
            return layer, "contract"
    for layer, aliases in LAYER_ALIASES.items():
        if any(_key(a) == k for a in aliases):
            return layer, "recognised"
    return None, ""


@dataclass
class FieldResolution:
    """How a layer's source fields map onto its contract fields.

    Attributes
    ----------
    renames : dict of str to str
        Source column → contract field, for :meth:`pandas.DataFrame.rename`.
    drop : list of str
        Columns to drop first: a contract-named column that an explicit
        mapping replaces.
    sources : dict of str to str
        Contract field → the source column it is read from.
    notes : list of str
    warnings : list of str
    """

    renames: dict[str, str] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _levels(
    target: str, layer: str, field_map: FieldMap | None
) -> list[tuple[str, tuple[str, ...]]]:
    """Candidate names for a contract field, highest precedence first, with a label."""
    levels: list[tuple[str, tuple[str, ...]]] = []
    if field_map is not None:
        for section in (layer, "*"):
            names = tuple(s for s, t in field_map.fields.get(section, {}).items() if t == target)
            if names:
                levels.append((f"mapping file {field_map.path}", names))
    levels.append(("contract", (target,)))
    if len(target) > DBF_NAME_LENGTH:
        levels.append(("dBase-truncated", (target[:DBF_NAME_LENGTH],)))
    for tier in FIELD_ALIASES.get(target, ()):
        levels.append(("recognised", tier))
    return levels


def resolve_fields(
    columns: Iterable[str],
    layer: str,
    contract_fields: Sequence[str],
    *,
    where: str,
    field_map: FieldMap | None = None,
) -> FieldResolution:
    """Decide which source column stands for each contract field of a layer.

    Parameters
    ----------
    columns : iterable of str
        The layer's attribute columns.
    layer : str
        The contract layer (``parcels`` …).
    contract_fields : sequence of str
        The contract fields of the layer (and ``id``).
    where : str
        File and layer, for messages.
    field_map : FieldMap, optional

    Returns
    -------
    FieldResolution
        Renames, with a note per rename (``parcels: field YDYHFLDM read as
        land_use``) and per ignored candidate.

    Raises
    ------
    InputError
        Two source columns are candidates of the same precedence for one
        contract field (e.g. ``YDYHFLDM`` and ``YDDM``); the message names
        both and the mapping-file line that settles it.
    """
    cols = [c for c in columns if isinstance(c, str)]
    by_key: dict[str, list[str]] = {}
    for c in cols:
        by_key.setdefault(_key(c), []).append(c)
    res = FieldResolution()
    claimed: set[str] = set()
    # explicit mappings claim their columns before any recognition
    mapped = {t for _, t, _ in field_map.field_sources(layer)} if field_map else set()
    order = sorted(contract_fields, key=lambda t: t not in mapped)
    for target in order:
        chosen: str | None = None
        chosen_level = ""
        ignored: list[str] = []
        for label, names in _levels(target, layer, field_map):
            found = [c for n in names for c in by_key.get(_key(n), []) if c not in claimed]
            found = list(dict.fromkeys(found))
            if not found:
                continue
            if chosen is None:
                if len(found) > 1:
                    raise InputError(
                        f"{where}: fields {' and '.join(repr(f) for f in found)} are both "
                        f"{'named' if label == 'contract' else 'read as'} {target}; keep one, "
                        f"or name the one to use in a mapping file (--field-map) under "
                        f"fields: {layer}: {{{found[0]}: {target}}}"
                    )
                chosen, chosen_level = found[0], label
            else:
                ignored.extend(f for f in found if f != chosen)
        if chosen is None:
            continue
        claimed.add(chosen)
        res.sources[target] = chosen
        if chosen != target:
            if target in cols and chosen_level.startswith("mapping"):
                res.drop.append(target)
                ignored = [i for i in ignored if i != target]
                res.notes.append(
                    Note(
                        f"{layer}: field {chosen} read as {target} ({chosen_level}); "
                        f"the layer's own {target} field ignored",
                        f"{layer_zh(layer)}：字段 {chosen} 读作 {target}（映射文件），"
                        f"图层自带的 {target} 字段未使用",
                    )
                )
            else:
                how = f" ({chosen_level})" if chosen_level.startswith("mapping") else ""
                res.notes.append(
                    Note(
                        f"{layer}: field {chosen} read as {target}{how}",
                        f"{layer_zh(layer)}：字段 {chosen} 读作 {target}"
                        + ("（映射文件）" if how else ""),
                    )
                )
            res.renames[chosen] = target
        if ignored:
            res.notes.append(
                Note(
                    f"{layer}: field {', '.join(ignored)} not used for {target} "
                    f"(also a name of it; {chosen} takes precedence)",
                    f"{layer_zh(layer)}：字段 {'、'.join(ignored)} 也可读作 {target}，"
                    f"但以 {chosen} 为准，未使用",
                )
            )
    if field_map is not None:
        have = {_key(c) for c in cols}
        for source, target, section in field_map.field_sources(layer):
            if section == layer and _key(source) not in have:
                res.warnings.append(
                    f"{where}: the mapping file {field_map.path} maps field '{source}' onto "
                    f"{target}, but the layer has no such field"
                )
    return res


def _examples(before: pd.Series, after: pd.Series, changed: pd.Series) -> tuple[int, str]:
    n = int(changed.sum())
    if not n:
        return 0, ""
    i = changed.to_numpy().nonzero()[0][0]
    return n, f"'{before.iloc[i]}' → {after.iloc[i]}"


def is_tdd_field(source: str) -> bool:
    """Whether a land-use source field is the 三调 地类编码 (``DLBM``, ``地类编码`` …)."""
    return _key(source) in {_key(n) for n in FIELD_ALIASES["land_use"][1]}


def translate_values(
    frame: pd.DataFrame,
    layer: str,
    sources: Mapping[str, str],
    field_map: FieldMap | None = None,
) -> list[str]:
    """Turn Chinese values of a layer's text fields into the contract's, in place.

    - ``land_use``: a value written as code and name (``0701城镇住宅用地``)
      keeps its code; a class name (``住宅用地``, ``二类居住用地``) becomes its
      code (:data:`LAND_USE_NAMES`); 三调 codes (from a ``DLBM`` field, or any
      field when the mapping file says ``land_use_codes: tdd``) become 2023
      codes (:data:`TDD_TO_2023`).
    - ``kind`` of green spaces, the boundary and facilities, and
      ``road_class``: :data:`VALUE_NAMES`.

    Parameters
    ----------
    frame : pandas.DataFrame
        The layer, its columns already renamed to contract fields.
    layer : str
    sources : mapping of str to str
        Contract field → source column (:attr:`FieldResolution.sources`).
    field_map : FieldMap, optional

    Returns
    -------
    list of str
        A note per translation, with a count and an example.
    """
    notes: list[str] = []
    if "land_use" in frame.columns and frame["land_use"].notna().any():
        before = frame["land_use"].astype("string").str.normalize("NFKC").str.strip()
        codes = before.str.extract(_CODE_AND_NAME, expand=False).astype("string")
        value = codes.fillna(before)
        named = value.map(LAND_USE_NAMES).astype("string")
        value = named.fillna(value)
        n, ex = _examples(before, value, (value != before).fillna(False) & named.isna())
        if n:
            notes.append(
                Note(
                    f"{layer}: {n} land_use {noun_en(n, 'value')} written as code and name, "
                    f"e.g. {ex}",
                    f"{layer_zh(layer)}：{n:,} 个用地代码 land_use 写作“代码+名称”，"
                    f"已取代码，如 {ex}",
                )
            )
        n, ex = _examples(before, value, named.notna())
        if n:
            notes.append(
                Note(
                    f"{layer}: {n} land_use class {noun_en(n, 'name')} read as codes, e.g. {ex}",
                    f"{layer_zh(layer)}：{n:,} 个用地分类名称已读作代码，如 {ex}",
                )
            )
        mode = field_map.land_use_codes if field_map else "auto"
        source = sources.get("land_use", "land_use")
        if mode == "tdd" or (mode == "auto" and is_tdd_field(source)):
            norm = normalize_codes(value)
            base = norm.str.replace(r"K$", "", regex=True)
            tdd = base.map(TDD_TO_2023).astype("string")
            n, ex = _examples(norm, tdd, tdd.notna() & (tdd != norm).fillna(False))
            value = tdd.fillna(value)
            if n:
                notes.append(
                    Note(
                        f"{layer}: {source} holds 第三次全国国土调查 (三调) codes; "
                        f"{count_en(n, 'value')} "
                        f"read as 2023 用地用海 codes, e.g. {ex}",
                        f"{layer_zh(layer)}：字段 {source} 为第三次全国国土调查（三调）地类代码，"
                        f"{n:,} 个值已对应为 2023 年用地用海分类代码，如 {ex}",
                    )
                )
        if (value != before).fillna(False).any():
            frame["land_use"] = value.astype("str")
    for (lyr, fld), table in VALUE_NAMES.items():
        if lyr != layer or fld not in frame.columns:
            continue
        before = frame[fld].astype("string").str.strip()
        after = before.map(table).astype("string")
        n, ex = _examples(before, after, after.notna() & (after != before).fillna(False))
        if n:
            frame[fld] = after.fillna(before).astype("str")
            notes.append(
                Note(
                    f"{layer}: {n} {fld} {noun_en(n, 'value')} read from Chinese names, e.g. {ex}",
                    f"{layer_zh(layer)}：字段 {fld} 的 {n:,} 个中文取值已读作代码，如 {ex}",
                )
            )
    return notes
