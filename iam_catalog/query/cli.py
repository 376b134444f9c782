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
    if args.condition_key:
        columns.append("via")
    _emit(found, args.format, columns)
    return 0


def cmd_expand(args: argparse.Namespace) -> int:
    names = _open(args).expand(*args.patterns, invert=args.invert)
    if args.format == "json":
        _emit(names, "json", [])
    else:
        sys.stdout.write("".join(f"{n}\n" for n in names))
    return 0


def cmd_resource_types(args: argparse.Namespace) -> int:
    _emit(
        _open(args).resource_types(args.service),
        args.format,
        ["service", "name", "arn_formats", "condition_keys"],
    )
    return 0


def cmd_arn(args: argparse.Namespace) -> int:
    _emit(
        _open(args).match_arn(args.arn),
        args.format,
        ["service", "resource_type", "arn_format", "actions"],
    )
    return 0


def cmd_condition_keys(args: argparse.Namespace) -> int:
    found = _open(args).condition_keys(action=args.action, service=args.service)
    columns = ["service", "name", "types", "description"] + (["via"] if args.action else [])
    _emit(found, args.format, columns)
    return 0


def cmd_services(args: argparse.Namespace) -> int:
    rows = [{"prefix": p, "name": n} for p, n in _open(args).services(args.name)]
    _emit(rows, args.format, ["prefix", "name"])
    return 0


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

    def common(p: argparse.ArgumentParser, formats: list[str]) -> None:
        p.add_argument("--catalog", metavar="PATH", help="catalog.json, SQLite export or source")
        p.add_argument(
            "--releases",
            default="RELEASES",
            metavar="DIR",
            help="releases folder whose latest/ to query (default: RELEASES)",
        )
        p.add_argument("--format", choices=formats, default=formats[0])

    a = cmds.add_parser(
        "actions",
        help="actions by service, access level, resource type, condition key",
        description="Actions matching every filter. --access-level L: L among its access "
        "levels. --condition-key K: K on the action, on one of its rows or through one of "
        "its resource types (column via says which). --wildcard-only: no resource type.",
        epilog="example:\n  iam-catalog query actions --service ec2 "
        "--condition-key 'aws:ResourceTag/${TagKey}' --format json",
        formatter_class=formatter,
    )
    common(a, ["table", "json", "csv"])
    a.add_argument("--service", metavar="PREFIX")
    a.add_argument(
        "--access-level",
        metavar="LEVEL",
        help="read, write, list, tagging or permissions-management",
    )
    a.add_argument("--resource-type", metavar="NAME")
    a.add_argument("--condition-key", metavar="KEY")
    a.add_argument("--wildcard-only", action="store_true")
    a.set_defaults(func=cmd_actions)

    e = cmds.add_parser(
        "expand",
        help="IAM wildcard expansion of action patterns",
        description="The actions the patterns match (* and ?, case-insensitive; "
        "'*:CreateTags' across services); --invert: those none matches (NotAction).",
        epilog="example:\n  iam-catalog query expand 's3:Get*' 's3:List*' --invert --format json",
        formatter_class=formatter,
    )
    common(e, ["text", "json"])
    e.add_argument("patterns", nargs="+", metavar="PATTERN")
    e.add_argument("--invert", action="store_true")
    e.set_defaults(func=cmd_expand)

    r = cmds.add_parser(
        "resource-types",
        help="a service's resource types and ARN formats",
        description="The resource types of a service with their ARN formats and keys.",
        epilog="example:\n  iam-catalog query resource-types --service s3",
        formatter_class=formatter,
    )
    common(r, ["table", "json", "csv"])
    r.add_argument("--service", required=True, metavar="PREFIX")
    r.set_defaults(func=cmd_resource_types)

    n = cmds.add_parser(
        "arn",
        help="which resource types an ARN is, and the actions that take them",
        description="The resource types whose ARN formats match ARN (IAM's rules; * and ? "
        "allowed) and the actions that take each.",
        epilog="example:\n  iam-catalog query arn "
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        formatter_class=formatter,
    )
    common(n, ["table", "json", "csv"])
    n.add_argument("arn", metavar="ARN")
    n.set_defaults(func=cmd_arn)

    k = cmds.add_parser(
        "condition-keys",
        help="condition keys of an action or a service, with types",
        description="The condition keys an action takes (and where), or a service defines.",
        epilog="example:\n  iam-catalog query condition-keys --action s3:GetObject",
        formatter_class=formatter,
    )
    common(k, ["table", "json", "csv"])
    group = k.add_mutually_exclusive_group(required=True)
    group.add_argument("--action", metavar="PREFIX:NAME")
    group.add_argument("--service", metavar="PREFIX")
    k.set_defaults(func=cmd_condition_keys)

    s = cmds.add_parser(
        "services",
        help="service prefixes and names",
        description="Services by prefix, or whose name contains NAME.",
        epilog="example:\n  iam-catalog query services 'Amazon S3'",
        formatter_class=formatter,
    )
    common(s, ["table", "json", "csv"])
    s.add_argument("name", nargs="?", metavar="NAME-OR-PREFIX")
    s.set_defaults(func=cmd_services)
