"""QGIS styles for ``findings.gpkg``: the ``layer_styles`` table QGIS reads.

QGIS looks in a GeoPackage for a table ``layer_styles`` (the layout QGIS
itself writes when a style is saved "in the database") and applies the row
of a layer with ``useAsDefault = 1`` when the layer is opened.  Each rule
layer gets one: its findings coloured by rule as on ``map.html``
(:func:`compliance.outputs.mapstyle.rule_colour`), categorised by
``status``: ``fail`` solid, ``warn`` dashed, ``excepted`` dotted and lighter.
The same style is given as SLD (OGC Symbology Encoding 1.1) for other
software (GeoServer, ArcGIS Pro imports).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .mapstyle import rule_colour

#: The ``layer_styles`` table as QGIS creates it in a GeoPackage.
LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""

#: Status, legend label, outline/line pen style (QGIS), SLD dash array, fill alpha 0-255.
STATUS_STYLES: tuple[tuple[str, str, str, str, int], ...] = (
    ("fail", "不符合 fail", "solid", "", 110),
    ("warn", "提示 warn", "dash", "8 4", 70),
    ("excepted", "例外 excepted", "dot", "2 3", 35),
    ("pass", "符合 pass", "solid", "", 25),
)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _props(options: dict[str, str]) -> str:
    """Symbol layer properties in both forms QGIS reads (``Option`` map and ``prop``)."""
    opt = "".join(
        f'<Option name={quoteattr(k)} value={quoteattr(v)} type="QString"/>'
        for k, v in options.items()
    )
    prop = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in options.items())
    return f'<Option type="Map">{opt}</Option>{prop}'


def _symbol(name: int, family: str, colour: str, pen: str, alpha: int) -> str:
    r, g, b = _rgb(colour)
    stroke = f"{r},{g},{b},255"
    if family == "polygons":
        cls, kind = "SimpleFill", "fill"
        options = {
            "color": f"{r},{g},{b},{alpha}",
            "style": "solid",
            "outline_color": stroke,
            "outline_style": pen,
            "outline_width": "0.7",
            "outline_width_unit": "MM",
            "joinstyle": "round",
        }
    elif family == "lines":
        cls, kind = "SimpleLine", "line"
        options = {
            "line_color": stroke,
            "line_style": pen,
            "line_width": "1.2",
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        }
    else:
        cls, kind = "SimpleMarker", "marker"
        options = {
            "name": "circle",
            "color": f"{r},{g},{b},{max(alpha, 160)}",
            "outline_color": stroke,
            "outline_style": pen,
            "outline_width": "0.5",
            "size": "3",
            "size_unit": "MM",
        }
    return (
        f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" pass="0" locked="0">{_props(options)}</layer>'
        "</symbol>"
    )


def qml(rule_id: str, family: str, label: str = "") -> str:
    """A QGIS style (QML) for a rule layer: categorised by ``status``, in the rule's colour.

    Parameters
    ----------
    rule_id : str
        The rule code; its colour is :func:`rule_colour`.
    family : {"polygons", "lines", "points"}
        The layer's geometry family.
    label : str
        Prefix of each category's legend label (e.g. ``"EC01 生态廊道净宽度"``).
    """
    colour = rule_colour(rule_id)
    geometry_type = {"points": 0, "lines": 1}.get(family, 2)
    cats, syms = [], []
    for i, (status, text, pen, _dash, alpha) in enumerate(STATUS_STYLES):
        shown = f"{label} · {text}" if label else text
        cats.append(
            f'<category symbol="{i}" value={quoteattr(status)} label={quoteattr(shown)} '
            'render="true"/>'
        )
        syms.append(_symbol(i, family, colour, pen, alpha))
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">'
        '<renderer-v2 type="categorizedSymbol" attr="status" symbollevels="0" '
        'enableorderby="0" forceraster="0">'
        f"<categories>{''.join(cats)}</categories><symbols>{''.join(syms)}</symbols>"
        "</renderer-v2><blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerOpacity>1</layerOpacity><layerGeometryType>"
        f"{geometry_type}</layerGeometryType></qgis>\n"
    )


def sld(layer: str, rule_id: str, family: str) -> str:
    """The same style as OGC SLD 1.1 (Symbology Encoding): one rule per status."""
    colour = rule_colour(rule_id)
    rules = []
    for status, text, _pen, dash, alpha in STATUS_STYLES:
        dash_param = (
            f'<se:SvgParameter name="stroke-dasharray">{dash}</se:SvgParameter>' if dash else ""
        )
        stroke = (
            f'<se:Stroke><se:SvgParameter name="stroke">{colour}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">{w}</se:SvgParameter>'
            f"{dash_param}</se:Stroke>"
        )
        fill = (
            f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{alpha / 255:.2f}</se:SvgParameter></se:Fill>'
        )
        if family == "polygons":
            sym = f"<se:PolygonSymbolizer>{fill}{stroke.format(w=2)}</se:PolygonSymbolizer>"
        elif family == "lines":
            sym = f"<se:LineSymbolizer>{stroke.format(w=4)}</se:LineSymbolizer>"
        else:
            sym = (
                "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle"
                f"</se:WellKnownName>{fill}{stroke.format(w=1)}</se:Mark>"
                "<se:Size>11</se:Size></se:Graphic></se:PointSymbolizer>"
            )
        rules.append(
            f"<se:Rule><se:Name>{status}</se:Name><se:Description><se:Title>{text}</se:Title>"
            "</se:Description><ogc:Filter><ogc:PropertyIsEqualTo>"
            "<ogc:PropertyName>status</ogc:PropertyName>"
            f"<ogc:Literal>{status}</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>"
            f"{sym}</se:Rule>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" '
        'xsi:schemaLocation="http://www.opengis.net/sld '
        'http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>"
        f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle>"
        "</NamedLayer></StyledLayerDescriptor>\n"
    )


def write_layer_styles(path: str | Path, layers: list[tuple[str, str, str, str]]) -> None:
    """Add a default QGIS style per layer to a GeoPackage's ``layer_styles`` table.

    Parameters
    ----------
    path : str or pathlib.Path
        The GeoPackage, written and closed.
    layers : list of (layer, rule_id, family, label)
        Each spatial layer to style: its table name, the rule whose colour it
        takes, ``polygons``, ``lines`` or ``points``, and a legend label.

    Notes
    -----
    The table is registered in ``gpkg_contents`` as ``attributes``, as QGIS
    does; the geometry column of each layer is read from ``gpkg_geometry_columns``.
    """
    con = sqlite3.connect(str(path))
    try:
        with con:
            con.execute(LAYER_STYLES_DDL)
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                "description, last_change) VALUES ('layer_styles', 'attributes', "
                "'layer_styles', 'QGIS styles of the layers', "
                "strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
            )
            geom_col = dict(
                con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")
            )
            con.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL)",
                [
                    (
                        layer,
                        geom_col.get(layer, "geom"),
                        layer,
                        qml(rule_id, family, label),
                        sld(layer, rule_id, family),
                        f"{label}: 按规则着色，不符合实线、提示虚线 / colour of the rule, "
                        "fail solid, warn dashed",
                    )
                    for layer, rule_id, family, label in layers
                ],
            )
    finally:
        con.close()
