"""The Processing algorithm ``compliance:check``: check layers open in QGIS, load the findings.

The layers chosen are exported into a temporary GeoPackage, one layer each,
named by the QGIS layer's name (``roads``, ``道路`` …: the checker maps
recognised names onto its data contract), then the installed ``compliance
check`` runs on it in a process of its own — QGIS's Python and GDAL never
load the checker's, nor the other way round.  The findings (``findings.gpkg``,
one layer per rule, styled when it carries ``layer_styles``) are added to the
project when the algorithm completes, and ``report.html`` is returned as an
HTML output (shown in the Processing results).

The checker is found, in order: the environment variable ``COMPLIANCE_EXE``,
the QGIS setting ``compliance/executable``, ``compliance`` on ``PATH``.  Either
may be a command with arguments (``/path/python -m compliance.cli``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsDataProvider,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputHtml,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingUtils,
    QgsSettings,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

#: The shipped profiles (``compliance profiles`` lists them).
PROFILES = ("national", "xinjiang", "alxa", "hebi", "jiaozuo", "bayannur")

#: What the checker's process must not inherit from QGIS's: its Python and GDAL/PROJ data.
_QGIS_ONLY_ENV = (
    "PYTHONHOME",
    "PYTHONPATH",
    "GDAL_DATA",
    "GDAL_DRIVER_PATH",
    "PROJ_LIB",
    "PROJ_DATA",
    "QGIS_PREFIX_PATH",
)


def checker_command() -> list[str]:
    """The command that runs the checker: ``COMPLIANCE_EXE``, the setting, or ``compliance``.

    Raises
    ------
    QgsProcessingException
        None of them names a program that exists.
    """
    given = os.environ.get("COMPLIANCE_EXE") or str(
        QgsSettings().value("compliance/executable", "") or ""
    )
    if given:
        cmd = shlex.split(given)
        if cmd and (Path(cmd[0]).is_file() or shutil.which(cmd[0])):
            return cmd
        raise QgsProcessingException(
            f"the checker command {given!r} (COMPLIANCE_EXE or the setting compliance/executable) "
            "does not exist; give the full path of the `compliance` program"
        )
    found = shutil.which("compliance")
    if found:
        return [found]
    raise QgsProcessingException(
        "the `compliance` program was not found on PATH; install it (pip install compliance) "
        "and set COMPLIANCE_EXE, or the setting compliance/executable, to its full path"
    )


def contract_name(layer: QgsVectorLayer) -> str:
    """The name a layer is exported under: its QGIS name, without the file's name before it.

    A layer named after its file (``demo``, as a layer opened from
    ``demo.gpkg|layername=roads`` may be) takes the layer name of its source.
    """
    name = layer.name().split(" — ")[-1].strip()
    source = layer.source()
    inner = ""
    for part in source.split("|")[1:]:
        if part.startswith("layername="):
            inner = part.removeprefix("layername=")
    stem = Path(source.split("|")[0]).stem
    if inner and (not name or name == stem):
        return inner
    return name or stem


class CheckAlgorithm(QgsProcessingAlgorithm):
    """``compliance:check``: check a scheme's layers against a rule profile."""

    LAYERS = "LAYERS"
    SCHEME_FILE = "SCHEME_FILE"
    PROFILE = "PROFILE"
    YEAR = "YEAR"
    REPLACE = "REPLACE"
    OUTPUT = "OUTPUT"

    def name(self) -> str:
        return "check"

    def displayName(self) -> str:
        return "Check a scheme (方案合规检查)"

    def shortHelpString(self) -> str:
        return (
            "Checks the chosen layers (or a GeoPackage / DXF file) against the spatial rules of "
            "a carbon-peaking plan (城乡建设领域碳达峰行动方案) and loads the findings, one "
            "styled layer per rule; the report (report.html) is in the results. Layers are "
            "read by their names: boundary, clusters, corridors, parcels, roads, squares, "
            "green_spaces, buildings … or 规划范围, 组团, 生态廊道, 地块, 道路, 广场, 绿地, 建筑. "
            "The installed `compliance` program does the checking (COMPLIANCE_EXE or the "
            "setting compliance/executable when it is not on PATH)."
        )

    def createInstance(self) -> CheckAlgorithm:
        return CheckAlgorithm()

    def flags(self) -> Any:
        # The layers are exported from the project: done on the main thread.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                self.LAYERS,
                "Scheme layers (方案图层)",
                layerType=QgsProcessing.TypeVectorAnyGeometry,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.SCHEME_FILE,
                "…or a scheme file (GeoPackage, DXF)",
                behavior=QgsProcessingParameterFile.File,
                fileFilter="Schemes (*.gpkg *.dxf *.zip *.geojson *.shp)",
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.PROFILE,
                "Rule profile (规则)",
                options=list(PROFILES),
                defaultValue="national",
                usesStaticStrings=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.YEAR,
                "Target year (目标年份; empty: the nearest not yet passed)",
                type=QgsProcessingParameterNumber.Integer,
                optional=True,
                minValue=2020,
                maxValue=2060,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.REPLACE, "Replace the output folder when it is not empty", defaultValue=False
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT, "Output folder (输出文件夹)")
        )
        self.addOutput(QgsProcessingOutputHtml("REPORT", "Report (审查报告)"))
        self.addOutput(QgsProcessingOutputFile("FINDINGS", "Findings GeoPackage"))
        self.addOutput(QgsProcessingOutputNumber("EXIT_CODE", "Exit status (0 pass, 1 failed)"))
        self.addOutput(QgsProcessingOutputNumber("LAYERS_LOADED", "Finding layers loaded"))
        self.addOutput(QgsProcessingOutputNumber("STYLED_LAYERS", "Finding layers with a style"))

    # ------------------------------------------------------------------------------- running

    def _export(self, layers: list[Any], context: QgsProcessingContext, feedback: Any) -> Path:
        """The layers in one temporary GeoPackage, each named by :func:`contract_name`."""
        gpkg = Path(QgsProcessingUtils.tempFolder()) / f"scheme_{uuid.uuid4().hex[:8]}.gpkg"
        names: dict[str, str] = {}
        for layer in layers:
            name = contract_name(layer)
            if name in names:
                raise QgsProcessingException(
                    f"layers '{names[name]}' and '{layer.name()}' are both named '{name}'; "
                    "choose one, or rename a layer"
                )
            names[name] = layer.name()
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = name
            options.fileEncoding = "UTF-8"
            options.actionOnExistingFile = (
                QgsVectorFileWriter.CreateOrOverwriteLayer
                if gpkg.exists()
                else QgsVectorFileWriter.CreateOrOverwriteFile
            )
            result = QgsVectorFileWriter.writeAsVectorFormatV3(
                layer, str(gpkg), context.transformContext(), options
            )
            if result[0] != QgsVectorFileWriter.NoError:
                raise QgsProcessingException(
                    f"layer '{layer.name()}' could not be exported ({result[1]})"
                )
            feedback.pushInfo(f"exported '{layer.name()}' as {name} ({layer.featureCount()})")
        return gpkg

    def _run_checker(self, cmd: list[str], feedback: Any) -> int:
        env = {k: v for k, v in os.environ.items() if k not in _QGIS_ONLY_ENV}
        env["PYTHONIOENCODING"] = "utf-8"
        feedback.pushCommandInfo(" ".join(shlex.quote(c) for c in cmd))
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        while proc.poll() is None:
            if feedback.isCanceled():
                proc.terminate()
                proc.wait(10)
                raise QgsProcessingException("cancelled")
            time.sleep(0.1)
        out, err = proc.communicate()
        for line in out.splitlines():
            feedback.pushConsoleInfo(line)
        if proc.returncode not in (0, 1):
            lines = [line for line in err.splitlines() if line.strip()]
            raise QgsProcessingException(lines[-1] if lines else f"exit status {proc.returncode}")
        return int(proc.returncode)

    def _load_findings(self, gpkg: Path, context: QgsProcessingContext) -> tuple[int, int]:
        """Add the finding layers of ``gpkg`` to the project on completion; (loaded, styled).

        Layers with geometries only: a rule that was not evaluated is a table
        of ``findings.gpkg`` (and a row of the report), not a layer to draw.
        """
        styled_tables: set[str] = set()
        con = sqlite3.connect(f"{gpkg.resolve().as_uri()}?mode=ro", uri=True)
        try:
            has_styles = con.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'"
            ).fetchone()
            if has_styles:
                styled_tables = {str(r[0]) for r in con.execute(_STYLED)}
        finally:
            con.close()
        probe = QgsVectorLayer(str(gpkg), "findings", "ogr")
        names = [
            s.split(QgsDataProvider.SUBLAYER_SEPARATOR)[1] for s in probe.dataProvider().subLayers()
        ]
        loaded = styled = 0
        for name in names:
            if name in ("summary", "layer_styles"):
                continue
            layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
            if not layer.isValid() or not layer.isSpatial():
                continue  # a rule not evaluated: a table, in report.html and summary
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(
                layer.id(), QgsProcessingContext.LayerDetails(name, context.project(), name)
            )
            loaded += 1
            styled += name in styled_tables
        return loaded, styled

    def processAlgorithm(self, parameters: Any, context: Any, feedback: Any) -> dict[str, Any]:
        layers = self.parameterAsLayerList(parameters, self.LAYERS, context)
        scheme_file = self.parameterAsFile(parameters, self.SCHEME_FILE, context)
        if not layers and not scheme_file:
            raise QgsProcessingException("choose the scheme's layers, or a GeoPackage / DXF file")
        profile = self.parameterAsEnumString(parameters, self.PROFILE, context) or "national"
        out = Path(self.parameterAsString(parameters, self.OUTPUT, context))
        cmd = checker_command()
        scheme = Path(scheme_file) if scheme_file else self._export(layers, context, feedback)
        args = ["check", str(scheme), "--profile", profile, "--out", str(out), "--offline"]
        year = parameters.get(self.YEAR)
        if year not in (None, ""):
            args += ["--year", str(self.parameterAsInt(parameters, self.YEAR, context))]
        if self.parameterAsBoolean(parameters, self.REPLACE, context) or (
            out.is_dir() and not any(out.iterdir())
        ):
            args.append("--force")  # an empty folder (Processing makes one) is replaced
        code = self._run_checker([*cmd, *args], feedback)
        findings = out / "findings.gpkg"
        loaded, styled = self._load_findings(findings, context) if findings.exists() else (0, 0)
        report = out / "report.html"
        feedback.pushInfo(f"report: {report.as_uri()}")
        return {
            self.OUTPUT: str(out),
            "REPORT": str(report),
            "FINDINGS": str(findings),
            "EXIT_CODE": code,
            "LAYERS_LOADED": loaded,
            "STYLED_LAYERS": styled,
        }


#: The tables of a GeoPackage that ``layer_styles`` gives a style.
_STYLED = "SELECT DISTINCT f_table_name FROM layer_styles"
