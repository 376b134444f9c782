"""Queries on one catalog: :class:`Catalog` (the Python API and what ``iam-catalog query``
calls), its SQLite store, and IAM's ARN matching."""

from __future__ import annotations

from iam_catalog.query.catalog import (
    ActionMatch,
    ArnMatch,
    Catalog,
    ConditionKeyInfo,
    QueryError,
    ResourceTypeInfo,
)

__all__ = [
    "ActionMatch",
    "ArnMatch",
    "Catalog",
    "ConditionKeyInfo",
    "QueryError",
    "ResourceTypeInfo",
]
