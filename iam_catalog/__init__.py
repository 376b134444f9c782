"""iam-catalog: a canonical, versioned catalog of AWS IAM actions, resource types and
condition keys, built from the Service Authorization Reference in every format it was
published in.

The pipeline lives in three subpackages: :mod:`iam_catalog.scraper` (the only network
code), :mod:`iam_catalog.parsers` (pure text to model) and :mod:`iam_catalog.output`
(everything that leaves the pipeline: build, writers, diff, reports, command line).

The public facade: :class:`Catalog` (``iam_catalog.query``) and :class:`History`
(``iam_catalog.history``), imported on first use so
that ``import iam_catalog`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iam_catalog.parsers.model import Catalog as CatalogModel

_LAZY = {"History": "iam_catalog.history", "Catalog": "iam_catalog.query"}


def load(path: str) -> CatalogModel:
    """The catalog model (:class:`iam_catalog.parsers.model.Catalog`) of a catalog.json or
    any source ``build`` reads."""
    from pathlib import Path

    from iam_catalog.output.build import load_catalog

    return load_catalog(Path(path))


def _version() -> str:
    # Looked up on first use: importlib.metadata alone costs more than a whole query.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iam-catalog")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> object:
    if name == "__version__":
        return _version()
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'iam_catalog' has no attribute {name!r}")
