"""``iam-catalog history add|backfill|show|log``: parse arguments, call :class:`History`,
print. Registered on the main parser by :func:`add_parser`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0


def _value(v: Any) -> str:
    return "-" if v is None else json.dumps(v, ensure_ascii=False)


def _change_line(c: Any) -> str:
    item = f"{c.service}:{c.item}" if c.item else c.service
    if c.kind == "resource_type_changed" or c.kind.startswith("resource_type"):
        item = f"{c.service}/{c.item}"
    what = f" {c.field}: {_value(c.old)} -> {_value(c.new)}" if c.field else ""
    return f"{c.date}  {c.severity:<8}  {c.kind:<22}  {item}{what}"


def cmd_add(args: argparse.Namespace) -> int:
    from iam_catalog.history import add_release
    from iam_catalog.output.build import load_catalog

    result = add_release(Path(args.db), load_catalog(Path(args.source)), args.date)
    state = "added" if result.added else "already there (same source), nothing changed"
    print(
        f"{args.db}: release {result.date} {state}: {result.versions_opened} versions "
        f"opened, {result.versions_closed} closed",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from iam_catalog.history import History, backfill

    def report(source: Path, result: Any) -> None:
        print(
            f"{source}: release {result.date}: {result.versions_opened} versions opened, "
            f"{result.versions_closed} closed",
            file=sys.stderr,
        )

    with History.open(Path(args.db), create=True) as history:
        backfill(history, [Path(f) for f in args.folders], on_release=report)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from iam_catalog.history import History

    with History.open(Path(args.db)) as history:
        found = [history.show(item) for item in args.items]
    if args.format == "json":
        print(json.dumps([h.to_dict() for h in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    md = args.format == "md"
    for h in found:
        if md:
            print(f"## `{h.item}`\n")
        else:
            print(h.item)
        if h.kind is None:
            print("  never seen in this history\n")
            continue
        print(
            f"{'- ' if md else '  '}{h.kind}: first seen {h.first_seen}, last seen "
            f"{h.last_seen}, removed {h.removed or '-'}"
        )
        if md and h.changes:
            print("\n| date | severity | kind | field | old | new |\n|---|---|---|---|---|---|")
        for c in h.changes:
            if md:
                print(
                    f"| {c.date} | {c.severity} | {c.kind} | {c.field or ''} | "
                    f"{_value(c.old) if c.field else ''} | {_value(c.new) if c.field else ''} |"
                )
            else:
                print("  " + _change_line(c))
        print()
    return EXIT_OK


def cmd_log(args: argparse.Namespace) -> int:
    from iam_catalog.history import History

    severities = [s.strip() for s in args.severity.split(",")] if args.severity else None
    with History.open(Path(args.db)) as history:
        changes = history.log(since=args.since, service=args.service, severities=severities)
    if args.format == "json":
        print(json.dumps([c.to_dict() for c in changes], indent=2, ensure_ascii=False))
    elif args.format == "md":
        print("| date | severity | kind | item | field | old | new |")
        print("|---|---|---|---|---|---|---|")
        for c in changes:
            item = f"{c.service}:{c.item}" if c.item else c.service
            print(
                f"| {c.date} | {c.severity} | {c.kind} | `{item}` | {c.field or ''} | "
                f"{_value(c.old) if c.field else ''} | {_value(c.new) if c.field else ''} |"
            )
    else:
        for c in changes:
            print(_change_line(c))
    return EXIT_OK


def _severities(text: str) -> str:
    from iam_catalog.output.diff import ChangeSeverity

    allowed = {s.value for s in ChangeSeverity}
    for s in text.split(","):
        if s.strip() not in allowed:
            raise argparse.ArgumentTypeError(
                f"{s.strip()!r} is not one of {', '.join(sorted(allowed))}"
            )
    return text


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``history`` and its subcommands to the main parser's subcommands."""
    h = sub.add_parser(
        "history",
        help="the history of every item across releases (one SQLite file)",
        description="Record releases in a history database (item versions valid from one "
        "release to the next) and ask when an item appeared, changed and went.",
        epilog="examples:\n"
        "  iam-catalog history add --db history.sqlite --date 2026-12-01 "
        "build/catalog/catalog.json\n"
        "  iam-catalog history show --db history.sqlite s3 s3:GetObject\n"
        "  iam-catalog history log --db history.sqlite --severity breaking,security",
        formatter_class=formatter,
    )
    cmds = h.add_subparsers(dest="history_command", required=True, metavar="COMMAND")

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", required=True, metavar="FILE", help="the history database")

    a = cmds.add_parser(
        "add",
        help="add one release",
        description="Add SOURCE (a catalog.json, a snapshot or a folder of pages, built as "
        "`build` would) as the release of --date. Releases may be added in any date order; "
        "the same release added again changes nothing. Creates FILE if needed.",
        epilog="example:\n  iam-catalog history add --db history.sqlite --date 2026-12-02 "
        "build/catalog/catalog.json",
        formatter_class=formatter,
    )
    db_option(a)
    a.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the release's date")
    a.add_argument("source", metavar="SOURCE")
    a.set_defaults(func=cmd_add)

    b = cmds.add_parser(
        "backfill",
        help="add a release per folder, dated from its name or manifest",
        description="Add a release per FOLDER (a folder of pages, a snapshot or a "
        "catalog.json), dated by the first YYYY-MM-DD in its name (else a snapshot "
        "manifest's created_at).",
        epilog="example:\n  iam-catalog history backfill --db history.sqlite snapshots/*",
        formatter_class=formatter,
    )
    db_option(b)
    b.add_argument("folders", nargs="+", metavar="FOLDER")
    b.set_defaults(func=cmd_backfill)

    s = cmds.add_parser(
        "show",
        help="when items appeared, changed and went",
        description="For each ITEM (s3, s3:GetObject, s3:ResourceTag/${TagKey}, s3/object "
        "for a resource type; case-insensitive): first_seen, last_seen, removed and every "
        "change, with the kinds and severities of `diff`.",
        epilog="example:\n  iam-catalog history show --db history.sqlite s3:GetObject "
        "--format json",
        formatter_class=formatter,
    )
    db_option(s)
    s.add_argument("items", nargs="+", metavar="ITEM")
    s.add_argument("--format", choices=["text", "json", "md"], default="text")
    s.set_defaults(func=cmd_show)

    lg = cmds.add_parser(
        "log",
        help="the changes across releases, newest first",
        description="Every change between consecutive releases, newest release first.",
        epilog="example:\n  iam-catalog history log --db history.sqlite --since 2026-01-01 "
        "--service s3 --severity breaking,security",
        formatter_class=formatter,
    )
    db_option(lg)
    lg.add_argument("--since", metavar="YYYY-MM-DD", help="only releases on or after this")
    lg.add_argument("--service", metavar="PREFIX", help="only this service")
    lg.add_argument("--severity", type=_severities, metavar="LIST", help="e.g. breaking,security")
    lg.add_argument("--format", choices=["text", "json", "md"], default="text")
    lg.set_defaults(func=cmd_log)
