"""Exports: the catalog in other tools' schemas, one module per target, registered by name.

Every export module has the same shape (house style 26):

- ``NAME``: the name on the command line (``iam-catalog export NAME ...``);
- ``DESCRIPTION``: one line for ``iam-catalog export --help``;
- ``OUTPUT``: ``"file"`` or ``"folder"``, what ``--output`` names;
- ``EXAMPLE``: the command a user of that tool runs, for ``--help``;
- ``write(catalog, out)``: write the export to the path ``out`` (a file or a folder that
  does not exist yet), deterministic bytes for the same catalog.

:func:`export` is the edge: it has the module write into a temporary path beside the
target and renames it into place only when the module finished, so a failed export
leaves the earlier file (or folder) as it was.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from iam_catalog.atomic import new_temp_folder

if TYPE_CHECKING:
    from iam_catalog.parsers.model import Catalog

# name -> module, imported only when that export runs (the command line stays quick).
EXPORTS: dict[str, str] = {
    "policy-sentry": "iam_catalog.output.exports.policy_sentry",
    "parliament": "iam_catalog.output.exports.parliament",
    "aws-json": "iam_catalog.output.exports.aws_json",
    "sqlite": "iam_catalog.output.exports.sqlite",
}


def load(name: str) -> ModuleType:
    """The export module registered as ``name``."""
    return importlib.import_module(EXPORTS[name])


def export(name: str, catalog: Catalog, output: Path) -> None:
    """Write ``catalog`` as export ``name`` to ``output``, atomically."""
    module = load(name)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temp_folder(output.parent, f".{output.name}.", ".tmp")
    try:
        target = tmp / output.name
        module.write(catalog, target)
        if module.OUTPUT == "folder" and output.is_dir():
            old = tmp / ".old"
            os.replace(output, old)
        os.replace(target, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
