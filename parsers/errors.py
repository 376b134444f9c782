"""Typed errors of iam-catalog. Row-level problems are diagnostics, not exceptions."""


class IamCatalogError(Exception):
    """Root of every error this project raises on purpose."""


class ParseError(IamCatalogError):
    """A page could not be parsed at all (row-level problems are diagnostics instead)."""


class UnknownFormatError(IamCatalogError):
    """No registered format recognises the input, or an unknown format name was asked for."""


class FetchError(IamCatalogError):
    """A page or index could not be fetched after all retries."""


class SourceError(IamCatalogError):
    """A source path or snapshot cannot be used (missing, unreadable, incomplete)."""


class OutputError(IamCatalogError):
    """An output path that cannot be written as asked (not a folder, holds other files)."""
