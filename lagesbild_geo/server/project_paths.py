"""Where the downloadable QGIS project is (:mod:`.qgis_project`) and its OpenAPI paths.

Apart from the project's module so that the OpenAPI document (made by :mod:`.config` at
start-up) names it without importing what builds it (which reads :mod:`.config`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PREFIX = "/qgis"
NAME = "lagesbild"
QGZ_TYPE = "application/vnd.qgis.qgz"
QGS_TYPE = "application/vnd.qgis.qgs+xml"


def openapi_paths(response: Callable[..., dict], error: dict) -> dict[str, Any]:
    """The two paths, their responses written with ``response`` (openapi_extra's)."""

    def get(media_type: str, what: str) -> dict[str, Any]:
        return {"get": {
            "summary": f"QGIS-projekt ({what}) med tjänstens lager, stilsatta / the QGIS project",
            "description": "Ett projekt att börja från: lägesbild, heta punkter och trend per "
                           "indikator från den här tjänsten, stilsatta, över områdena. / "
                           "The public layers of this service, styled, over the area outlines.",
            "tags": ["server"],
            "responses": {
                "200": response("The project", {"type": "string", "format": "binary"},
                                media_type),
                "304": response("Not modified (If-None-Match)"),
                "503": response("The database cannot be reached", error),
            },
        }}  # fmt: skip

    base = f"{PREFIX}/{NAME}"
    return {f"{base}.qgz": get(QGZ_TYPE, ".qgz"), f"{base}.qgs": get(QGS_TYPE, ".qgs")}
