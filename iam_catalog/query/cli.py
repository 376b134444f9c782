"""``iam-catalog query actions|expand|resource-types|arn|condition-keys|services``: parse
arguments, call :class:`Catalog`, print. Registered by :func:`add_parser`."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_CATALOG = Path("build/catalog/catalog.json")
# The widest a table column is padded to; a longer cell runs on into the next column.
TABLE_COLUMN_CAP = 48


def _open(args: argparse.Namespace) -> Any:
    from iam_catalog.query import Catalog

    if args.catalog:
        return Catalog.load(args.catalog)
    if args.releases and (Path(args.releases) / "latest").exists():
        return Catalog.latest(args.releases)
    return Catalog.load(DEFAULT_CATALOG)


def _emit(rows: Sequence[Any], fmt: str, columns: list[str]) -> None:
    """Print rows (dataclasses or dicts): JSON (every field), CSV or a table (``columns``)."""
    if fmt == "json":
        import orjson

        # orjson: the same text as json.dumps(indent=2, ensure_ascii=False), some ten times
        # faster, which is most of a cold query for the whole catalog (20,727 actions).
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    get = (lambda r, c: r[c]) if rows and isinstance(rows[0], dict) else getattr
    # Column by column: a column holds lists (joined with ";") or single values.
    cells = []
    for c in columns:
        values = [get(r, c) for r in rows]
        many = bool(values) and isinstance(values[0], tuple | list)
        cells.append([";".join(v) for v in values] if many else [str(v) for v in values])
    if fmt == "csv":  # a spreadsheet reads it: cells defused as in the catalog's CSVs
        from iam_catalog.output.writers import defuse

        text = io.StringIO()  # one write to stdout, not one per row
        w = csv.writer(text, lineterminator="\n")
        w.writerow(columns)
        w.writerows([[defuse(v) for v in row] for row in zip(*cells, strict=True)])
        sys.stdout.write(text.getvalue())
        return
    # Padded to the longest cell up to a cap: one action's 30 resource types would
    # otherwise pad every line of the answer past a thousand columns.
    widths = [
        min(max(map(len, [c, *col])), TABLE_COLUMN_CAP)
        for c, col in zip(columns, cells, strict=True)
    ]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*r).rstrip() for r in [columns, *zip(*cells, strict=True)]]
    sys.stdout.write("\n".join(lines) + "\n")


def cmd_actions(args: argparse.Namespace) -> int:
    found = _open(args).actions(
        service=args.service,
        access_level=args.access_level,
        resource_type=args.resource_type,
        condition_key=args.condition_key,
        wildcard_only=args.wildcard_only,
    )
    columns = ["action", "access_levels", "resource_types", "condition_keys"]
    return _answer(found, args, columns + (["via"] if args.condition_key else []))


def cmd_expand(args: argparse.Namespace) -> int:
    names = _open(args).expand(*args.patterns, invert=args.invert)
    if args.format == "json":
        return _answer(names, args, [])
    sys.stdout.write("".join(f"{n}\n" for n in names))
    return 0


def cmd_resource_types(args: argparse.Namespace) -> int:
    found = _open(args).resource_types(args.service)
    return _answer(found, args, ["service", "name", "arn_formats", "condition_keys"])


def cmd_arn(args: argparse.Namespace) -> int:
    found = _open(args).match_arn(args.arn)
    return _answer(found, args, ["service", "resource_type", "arn_format", "actions"])


def cmd_condition_keys(args: argparse.Namespace) -> int:
    found = _open(args).condition_keys(action=args.action, service=args.service)
    columns = ["service", "name", "types", "description"]
    return _answer(found, args, columns + (["via"] if args.action else []))


def cmd_services(args: argparse.Namespace) -> int:
    found = [{"prefix": p, "name": n} for p, n in _open(args).services(args.name)]
    return _answer(found, args, ["prefix", "name"])


def _answer(rows: Sequence[Any], args: argparse.Namespace, columns: list[str]) -> int:
    _emit(rows, args.format, columns)
    return 0


TABULAR = ["table", "json", "csv"]
"""The ``--format`` choices of a command that answers with rows (the first: default)."""


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``query`` and its subcommands to the main parser's subcommands."""
    q = sub.add_parser(
        "query",
        help="answer everyday questions about the catalog (actions, wildcards, ARNs, keys)",
        description="Query the latest release (--releases DIR, its latest/), a catalog "
        "(--catalog: catalog.json, a SQLite export or any source), else "
        "build/catalog/catalog.json.",
        epilog="examples:\n"
        "  iam-catalog query actions --service s3 --access-level write\n"
        "  iam-catalog query expand 's3:Get*' --format json\n"
        "  iam-catalog query arn arn:aws:s3:::my-bucket/photos/cat.jpg",
        formatter_class=formatter,
    )
    cmds = q.add_subparsers(dest="query_command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Any, help: str, description: str, example: str, formats: list[str]
    ) -> argparse.ArgumentParser:
        """A subcommand with the options every query takes (spelled once)."""
        p = cmds.add_parser(
            name,
            help=help,
            description=description,
            epilog=f"example:\n  iam-catalog query {name} {example}",
            formatter_class=formatter,
        )
        p.add_argument("--catalog", metavar="PATH", help="catalog.json, SQLite export or source")
        p.add_argument(
            "--releases",
            default="RELEASES",
            metavar="DIR",
            help="releases folder whose latest/ to query (default: RELEASES)",
        )
        p.add_argument("--format", choices=formats, default=formats[0])
        p.set_defaults(func=func)
        return p

    a = command(
        "actions",
        cmd_actions,
        "actions by service, access level, resource type, condition key",
        "Actions matching every filter. --access-level L: L among its access levels. "
        "--condition-key K: K on the action, on one of its rows or through one of its "
        "resource types (column via says which). --wildcard-only: no resource type.",
        "--service ec2 --condition-key 'aws:ResourceTag/${TagKey}' --format json",
        TABULAR,
    )
    a.add_argument("--service", metavar="PREFIX")
    a.add_argument(
        "--access-level",
        metavar="LEVEL",
        help="read, write, list, tagging or permissions-management",
    )
    a.add_argument("--resource-type", metavar="NAME")
    a.add_argument("--condition-key", metavar="KEY")
    a.add_argument("--wildcard-only", action="store_true")

    e = command(
        "expand",
        cmd_expand,
        "IAM wildcard expansion of action patterns",
        "The actions the patterns match (* and ?, case-insensitive; '*:CreateTags' across "
        "services); --invert: those none matches (NotAction).",
        "'s3:Get*' 's3:List*' --invert --format json",
        ["text", "json"],
    )
    e.add_argument("patterns", nargs="+", metavar="PATTERN")
    e.add_argument("--invert", action="store_true")

    r = command(
        "resource-types",
        cmd_resource_types,
        "a service's resource types and ARN formats",
        "The resource types of a service with their ARN formats and keys.",
        "--service s3",
        TABULAR,
    )
    r.add_argument("--service", required=True, metavar="PREFIX")

    n = command(
        "arn",
        cmd_arn,
        "which resource types an ARN is, and the actions that take them",
        "The resource types whose ARN formats match ARN (IAM's rules; * and ? allowed) and "
        "the actions that take each.",
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        TABULAR,
    )
    n.add_argument("arn", metavar="ARN")

    k = command(
        "condition-keys",
        cmd_condition_keys,
        "condition keys of an action or a service, with types",
        "The condition keys an action takes (and where), or a service defines.",
        "--action s3:GetObject",
        TABULAR,
    )
    group = k.add_mutually_exclusive_group(required=True)
    group.add_argument("--action", metavar="PREFIX:NAME")
    group.add_argument("--service", metavar="PREFIX")

    s = command(
        "services",
        cmd_services,
        "service prefixes and names",
        "Services by prefix, or whose name contains NAME.",
        "'Amazon S3'",
        TABULAR,
    )
    s.add_argument("name", nargs="?", metavar="NAME-OR-PREFIX")
