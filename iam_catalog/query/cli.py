"""``iam-catalog query actions|expand|resource-types|arn|condition-keys|services``: parse
arguments, call :class:`Catalog`, print. Registered by :func:`add_parser`."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_CATALOG = Path("build/catalog/catalog.json")


def _open(args: argparse.Namespace) -> Any:
    from iam_catalog.query import Catalog

    if args.catalog:
        return Catalog.load(args.catalog)
    if args.releases and (Path(args.releases) / "latest").exists():
        return Catalog.latest(args.releases)
    return Catalog.load(DEFAULT_CATALOG)


def _emit(rows: list[Any], fmt: str, columns: list[str]) -> None:
    data = [dataclasses.asdict(r) if not isinstance(r, dict) else r for r in rows]
    if fmt == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    flat = [
        [";".join(v) if isinstance(v, list | tuple) else str(v) for v in (d[c] for c in columns)]
        for d in data
    ]
    if fmt == "csv":  # a spreadsheet reads it: cells defused as in the catalog's CSVs
        from iam_catalog.output.writers import defuse

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        w.writerows([[defuse(v) for v in row] for row in flat])
        return
    widths = [max([len(c)] + [len(r[i]) for r in flat]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in flat:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


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
        print(json.dumps(names, indent=2))
    else:
        print("\n".join(names))
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
