"""The layers of the data contract (``spec/CONTRACT.md``): names, geometry types, fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerSpec:
    """What the contract expects of one input layer."""

    geometry: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    text: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """Every contract field of the layer."""
        return self.numeric + self.boolean + self.text


POLYGON = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")

#: The layers of the data contract, their geometry types and numeric fields.
LAYERS: dict[str, LayerSpec] = {
    "boundary": LayerSpec(
        POLYGON,
        numeric=("population",),
        boolean=("study_extent",),
        text=("kind", "name", "zone_type", "admin"),
    ),
    "clusters": LayerSpec(POLYGON, numeric=("population",), text=("name",)),
    "corridors": LayerSpec(POLYGON, text=("name",)),
    "parcels": LayerSpec(
        POLYGON,
        numeric=("population", "floor_area_m2", "permeable_area_m2"),
        text=("land_use", "name"),
    ),
    "roads": LayerSpec(
        LINE + POLYGON,
        numeric=("red_line_width_m",),
        boolean=("is_new", "oneway"),
        text=("road_class", "width_source", "name"),
    ),
    "squares": LayerSpec(POLYGON, numeric=("hard_area_m2",), text=("name",)),
    "green_spaces": LayerSpec(POLYGON, text=("kind", "name")),
    "buildings": LayerSpec(
        POLYGON,
        numeric=(
            "floors",
            "height_m",
            "floor_area_m2",
            "pv_area_m2",
            "roof_area_m2",
            "green_star",
            "prefab_floor_area_m2",
        ),
        boolean=("is_new", "solar_thermal", "demolished", "green_standard", "prefabricated"),
        text=("use", "investor", "name"),
    ),
    "renewal_units": LayerSpec(
        POLYGON, numeric=("existing_floor_area_m2", "demolished_floor_area_m2"), text=("name",)
    ),
    # Extensions of the contract, for the rules of RULES.md beyond the headline ones.
    "greenways": LayerSpec(LINE, text=("name",)),
    "facilities": LayerSpec(POINT + POLYGON, text=("kind", "name")),
    "height_zones": LayerSpec(POLYGON, text=("name",)),
    # districts: residential districts (居住小区), new urban districts (城市新建区) and green
    # eco-districts (绿色生态城区), by kind; floor_area_m2 = the district's gross floor area (GB01)
    "districts": LayerSpec(POLYGON, numeric=("floor_area_m2",), text=("kind", "name")),
    # residential communities (居住社区): complete = 完整居住社区 (CM01)
    "communities": LayerSpec(POLYGON, boolean=("complete",), text=("name",)),
    # waterlogging points (易涝积水点): resolved = eliminated, severe = 严重影响生产生活安全 (WL01)
    "waterlogging_points": LayerSpec(POINT, boolean=("resolved", "severe"), text=("name",)),
}
