"""The ``iam-catalog`` command line: parse arguments, call one library function,
turn errors into an exit code and a one-line message.

Exit codes: 0 ok; 1 a diff found changes; 2 bad input or a failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parsers.detect import FORMATS
from parsers.errors import IamCatalogError
from parsers.model import Severity

EXIT_OK, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _progress(total: int, desc: str):  # type: ignore[no-untyped-def]
    """A tqdm bar on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr, leave=False)


def cmd_build(args: argparse.Namespace) -> int:
    from output.build import build, iter_source_files
    from output.writers import write_catalog_dir

    paths = [Path(p) for p in args.sources]
    bar = _progress(len(iter_source_files(paths)), "parsing")
    try:
        result = build(
            paths,
            fmt=args.format,
            size_cap=args.size_cap,
            kind=args.source_kind,
            note=args.note,
            on_file=(lambda _p: bar.update(1)) if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    catalog = result.catalog
    errors = [d for d in catalog.diagnostics if d.severity is Severity.ERROR]
    if result.usable_pages == 0:
        first = errors[0].message if errors else "no pages found"
        print(f"iam-catalog: error: nothing usable in the sources ({first})", file=sys.stderr)
        return EXIT_ERROR
    write_catalog_dir(catalog, Path(args.out))
    actions = sum(len(s.actions) for s in catalog.services)
    by_sev = {s: sum(1 for d in catalog.diagnostics if d.severity is s) for s in Severity}
    print(
        f"{result.files} files, {catalog.source.pages} pages, {len(catalog.services)} services, "
        f"{actions} actions, {len(catalog.diagnostics)} diagnostics "
        f"({by_sev[Severity.ERROR]} errors, {by_sev[Severity.WARNING]} warnings, "
        f"{by_sev[Severity.INFO]} info) -> {args.out}",
        file=sys.stderr,
    )
    if args.strict and errors:
        print(
            f"iam-catalog: error: --strict and {len(errors)} error diagnostic(s), first: "
            f"{errors[0].message}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def cmd_formats(args: argparse.Namespace) -> int:
    width = max(len(n) for n in FORMATS)
    for name, module in FORMATS.items():
        print(f"{name:<{width}}  {module.DESCRIPTION}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from output.build import load_catalog
    from output.diff import diff
    from output.report import render
    from output.writers import atomic_open

    old = load_catalog(Path(args.old))
    new = load_catalog(Path(args.new))
    result = diff(old, new)
    text = render(result, args.format)
    if args.output:
        with atomic_open(Path(args.output), "wb") as f:
            f.write(text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return EXIT_OK if result.is_empty else EXIT_CHANGED


def cmd_fetch(args: argparse.Namespace) -> int:
    from scraper.fetch import fetch_snapshot

    summary = fetch_snapshot(
        Path(args.out),
        base_url=args.base_url,
        formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
        concurrency=args.concurrency,
        previous=Path(args.previous) if args.previous else None,
        progress=sys.stderr.isatty(),
    )
    print(summary.line(), file=sys.stderr)
    return EXIT_OK if summary.complete else EXIT_ERROR


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="iam-catalog",
        description="Build a canonical catalog of AWS IAM actions, resource types and condition "
        "keys from the Service Authorization Reference, and report changes between releases.",
        epilog="examples:\n"
        "  iam-catalog fetch --out snapshots/2026-11-22\n"
        "  iam-catalog build snapshots/2026-11-22 --out build/catalog\n"
        "  iam-catalog diff old/catalog.json build/catalog/catalog.json --format md\n"
        "  iam-catalog formats",
        formatter_class=_Formatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="parse pages (files or folders, any mix of formats) into catalog.json and csv/",
        description="Parse SAR pages in any supported format and write DIR/catalog.json and "
        "DIR/csv/*.csv. Unreadable pages become diagnostics; the build exits 2 only when "
        "nothing usable was found (or, with --strict, on any error diagnostic).",
        epilog="example:\n  iam-catalog build corpus/html/2026-04-01_110d32e3 --out build/catalog",
        formatter_class=_Formatter,
    )
    b.add_argument("sources", nargs="+", metavar="SOURCE", help="page files or folders")
    b.add_argument("--out", required=True, metavar="DIR", help="output folder")
    b.add_argument("--format", choices=list(FORMATS), help="force one source format")
    b.add_argument("--strict", action="store_true", help="exit 2 on any error diagnostic")
    b.add_argument(
        "--size-cap",
        type=int,
        default=20 * 1024 * 1024,
        metavar="BYTES",
        help="skip (with a diagnostic) files larger than this (default 20 MB)",
    )
    b.add_argument(
        "--source-kind",
        choices=["files", "snapshot", "fixtures"],
        default="files",
        help="what to record as source.kind in catalog.json (default: files)",
    )
    b.add_argument("--note", help="free text recorded as source.note in catalog.json")
    b.set_defaults(func=cmd_build)

    d = sub.add_parser(
        "diff",
        help="report what changed between two catalogs or sources",
        description="Compare OLD and NEW (each a catalog.json or any source `build` accepts). "
        "Exit 0 when equal, 1 when different, 2 on error.",
        epilog="example:\n"
        "  iam-catalog diff corpus/html/2020-11-01_65f99eab build/catalog/catalog.json "
        "--format html --output report.html",
        formatter_class=_Formatter,
    )
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--format", choices=["md", "json", "html"], default="md")
    d.add_argument("--output", metavar="FILE", help="write the report here (default: stdout)")
    d.set_defaults(func=cmd_diff)

    f = sub.add_parser(
        "fetch",
        help="download the live reference into a snapshot folder",
        description="Fetch every SAR page (and optionally its .md rendering and AWS's "
        "programmatic JSON) into DIR with a manifest.json.",
        epilog="example:\n  iam-catalog fetch --out snapshots/2026-11-22 --previous "
        "snapshots/2026-11-21",
        formatter_class=_Formatter,
    )
    f.add_argument("--out", required=True, metavar="DIR")
    f.add_argument(
        "--base-url",
        default="https://docs.aws.amazon.com/service-authorization/latest/reference/",
        metavar="URL",
    )
    f.add_argument("--formats", default="html", help="comma-separated: html,md,json")
    f.add_argument("--concurrency", type=int, default=4, metavar="N")
    f.add_argument("--previous", metavar="DIR", help="earlier snapshot for conditional requests")
    f.set_defaults(func=cmd_fetch)

    fm = sub.add_parser(
        "formats",
        help="list the source formats this tool reads",
        description="List the source formats, one line each.",
        epilog="example:\n  iam-catalog formats",
        formatter_class=_Formatter,
    )
    fm.set_defaults(func=cmd_formats)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except IamCatalogError as e:
        print(f"iam-catalog: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        name = e.filename or ""
        print(f"iam-catalog: error: {name}: {e.strerror}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("iam-catalog: interrupted", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
