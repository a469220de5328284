"""QGIS plugin: a Processing provider ``compliance`` with the algorithm ``check``.

This folder is a QGIS plugin as it stands: link or copy it into the plugins
folder of a QGIS profile (``compliance qgis-plugin-path`` prints where it
is).  QGIS imports it with its own Python and GDAL; the checker itself runs
as a separate process (the installed ``compliance`` command), so the two
never share a library.  Nothing here is imported by the checker, except
:data:`PLUGIN_DIR`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: This folder: what goes into QGIS's ``python/plugins`` (as ``compliance_qgis``).
PLUGIN_DIR = Path(__file__).resolve().parent


def classFactory(iface: Any) -> Any:
    """The plugin instance QGIS asks for when it loads the plugin."""
    from .plugin import CompliancePlugin

    return CompliancePlugin(iface)
