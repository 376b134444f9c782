"""The ``iam-catalog`` command line: parse arguments, call one library function,
turn errors into an exit code and a one-line message.

Exit codes: 0 ok; 1 a diff found changes; 2 bad input or a failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from iam_catalog import __version__
from iam_catalog.parsers.detect import FORMATS
from iam_catalog.parsers.errors import IamCatalogError
from iam_catalog.parsers.model import Severity
from iam_catalog.scraper.discover import DEFAULT_BASE_URL, DEFAULT_JSON_BASE_URL

if TYPE_CHECKING:
    from iam_catalog.output.build import BuildResult
    from iam_catalog.scraper.http import HttpConfig

EXIT_OK, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _progress(total: int, desc: str):  # type: ignore[no-untyped-def]
    """A tqdm bar on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    # No monitor thread (a class setting in tqdm), so the build's worker processes are
    # forked from a process without threads.
    tqdm.monitor_interval = 0
    return tqdm(total=total, desc=desc, unit="file", file=sys.stderr, leave=False)


def _jobs(text: str) -> int:
    """``--jobs``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def cmd_build(args: argparse.Namespace) -> int:
    from iam_catalog.output.gc_pause import cyclic_gc_paused

    # Paused for the whole command, not just inside build() and the writers: once build()
    # turned it back on, the collector's first pass would scan every object the build made
    # (all of them lasting, none in a cycle) for nothing: some 30 ms on the 2026 pages.
    with cyclic_gc_paused():
        return _build(args)


def _build(args: argparse.Namespace) -> int:
    from iam_catalog.output.build import build

    bar = None  # on a terminal, once the build has listed the files it reads

    def start(total: int) -> None:
        nonlocal bar
        bar = _progress(total, "parsing")

    def advance(_path: Path) -> None:
        if bar is not None:
            bar.update(1)

    try:
        result = build(
            [Path(p) for p in args.sources],
            fmt=args.format,
            size_cap=args.size_cap,
            kind=args.source_kind,
            note=args.note,
            on_files=start,
            on_file=advance,
            allow_incomplete=args.allow_incomplete,
            previous=Path(args.previous) if args.previous else None,
            jobs=args.jobs,
            render=True,
        )
    finally:
        if bar is not None:
            bar.close()
    return _write_build(result, args.out, args.strict)


def _write_build(result: BuildResult, out: str, strict: bool) -> int:
    """Write a build's catalog to ``out`` and print its summary line (exit 2 when it found
    nothing usable, or with ``strict`` on any error diagnostic)."""
    from iam_catalog.output.writers import write_catalog_dir

    catalog = result.catalog
    errors = [d for d in catalog.diagnostics if d.severity is Severity.ERROR]
    if result.usable_pages == 0:
        first = errors[0].message if errors else "no pages found"
        print(f"iam-catalog: error: nothing usable in the sources ({first})", file=sys.stderr)
        return EXIT_ERROR
    write_catalog_dir(catalog, Path(out), result.rendered)
    actions = sum(len(s.actions) for s in catalog.services)
    by_sev = {s: sum(1 for d in catalog.diagnostics if d.severity is s) for s in Severity}
    print(
        f"{result.files} files, {catalog.source.pages} pages, {len(catalog.services)} services, "
        f"{actions} actions, {len(catalog.diagnostics)} diagnostics "
        f"({by_sev[Severity.ERROR]} errors, {by_sev[Severity.WARNING]} warnings, "
        f"{by_sev[Severity.INFO]} info) -> {out}",
        file=sys.stderr,
    )
    if strict and errors:
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
    from iam_catalog.output.build import load_catalog
    from iam_catalog.output.diff import diff
    from iam_catalog.output.report import render
    from iam_catalog.output.writers import atomic_open

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
    from iam_catalog.scraper.fetch import fetch_snapshot

    summary = fetch_snapshot(
        Path(args.out),
        base_url=args.base_url,
        json_base_url=args.json_base_url,
        formats=_formats(args.formats),
        concurrency=args.concurrency,
        previous=Path(args.previous) if args.previous else None,
        progress=sys.stderr.isatty(),
        config=_http_config(args),
    )
    print(summary.line(), file=sys.stderr)
    return EXIT_OK if summary.complete else EXIT_ERROR


def cmd_regenerate(args: argparse.Namespace) -> int:
    from iam_catalog.output.build import regenerate

    outcome = regenerate(
        snapshots=Path(args.snapshots),
        fixtures=Path(args.fixtures),
        base_url=args.base_url,
        json_base_url=args.json_base_url,
        formats=_formats(args.formats),
        concurrency=args.concurrency,
        config=_http_config(args),
        allow_incomplete=args.allow_incomplete,
        progress=sys.stderr.isatty(),
        render=True,
    )
    if outcome.fallback_reason is not None:
        print(
            f"iam-catalog: no network ({outcome.fallback_reason}); building from "
            f"{args.fixtures} instead (source.kind = fixtures)",
            file=sys.stderr,
        )
    elif outcome.fetch is not None:
        print(outcome.fetch.line(), file=sys.stderr)
    return _write_build(outcome.result, args.out, strict=False)


def cmd_export(args: argparse.Namespace) -> int:
    from iam_catalog.output.build import load_catalog
    from iam_catalog.output.exports import export

    export(args.export, load_catalog(Path(args.catalog)), Path(args.output))
    return EXIT_OK


def _add_export(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``iam-catalog export NAME CATALOG --output PATH``, one subcommand per registered export."""
    from iam_catalog.output.exports import EXPORTS, load

    e = sub.add_parser(
        "export",
        help="write a catalog in another tool's schema",
        description="Write CATALOG (a catalog.json or any source `build` accepts) in the "
        "schema of another tool. One subcommand per export: "
        + (", ".join(EXPORTS) or "none registered yet")
        + ".",
        formatter_class=_Formatter,
    )
    targets = e.add_subparsers(dest="export", required=True, metavar="NAME")
    for name in EXPORTS:
        module = load(name)
        t = targets.add_parser(
            name,
            help=module.DESCRIPTION,
            description=module.DESCRIPTION,
            epilog=f"example:\n  {module.EXAMPLE}",
            formatter_class=_Formatter,
        )
        t.add_argument("catalog", metavar="CATALOG", help="catalog.json or a source")
        t.add_argument(
            "--output",
            required=True,
            metavar=module.OUTPUT.upper(),
            help=f"{module.OUTPUT} to write",
        )
        t.set_defaults(func=cmd_export)


def _formats(value: str) -> tuple[str, ...]:
    return tuple(f.strip() for f in value.split(",") if f.strip())


def _http_config(args: argparse.Namespace) -> HttpConfig:
    from iam_catalog.scraper.http import HttpConfig

    return HttpConfig(
        rate=args.rate,
        read_timeout=args.timeout,
        connect_timeout=min(args.timeout, 10.0),
        retries=args.retries,
    )


def _add_fetch_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``fetch`` and ``regenerate``."""
    p.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        metavar="URL",
        help="folder of the SAR pages; its index page lists them (default: %(default)s)",
    )
    p.add_argument(
        "--json-base-url",
        default=DEFAULT_JSON_BASE_URL,
        metavar="URL",
        help="AWS's programmatic service list, for --formats json (default: %(default)s)",
    )
    p.add_argument(
        "--formats",
        default="html",
        help="comma-separated: html (the pages), md (their .md rendering), json (AWS's "
        "programmatic JSON); default: html",
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="parallel requests (default 4)"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=10.0,
        metavar="PER_S",
        help="requests per second per host, 0 for no limit (default 10)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=4,
        metavar="N",
        help="retries of a request after connection errors, timeouts, 429 and 5xx, with "
        "exponential backoff from 0.5 s (default 4)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for an answer and between body reads (default 30)",
    )


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="iam-catalog",
        description="Build a canonical catalog of AWS IAM actions, resource types and condition "
        "keys from the Service Authorization Reference, and report changes between releases.",
        epilog="examples:\n"
        "  iam-catalog fetch --out snapshots/2026-11-22\n"
        "  iam-catalog build snapshots/2026-11-22 --out build/catalog\n"
        "  iam-catalog regenerate --snapshots snapshots --out build/catalog\n"
        "  iam-catalog diff old/catalog.json build/catalog/catalog.json --format md\n"
        "  iam-catalog formats\n"
        "  iam-catalog --version",
        formatter_class=_Formatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        help="what to record as source.kind in catalog.json (default: snapshot when every "
        "SOURCE is a snapshot folder, else files)",
    )
    b.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="build an incomplete snapshot: take its failed pages from --previous (each a "
        "stale-page warning)",
    )
    b.add_argument(
        "--previous", metavar="DIR", help="earlier snapshot for --allow-incomplete to draw on"
    )
    b.add_argument("--note", help="free text recorded as source.note in catalog.json")
    b.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="processes that read and parse the pages (default: the number of CPUs; 1 does "
        "everything in this process); the output is the same for any N",
    )
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
    f.add_argument(
        "--out", required=True, metavar="DIR", help="snapshot folder (replaced if a snapshot)"
    )
    _add_fetch_options(f)
    f.add_argument("--previous", metavar="DIR", help="earlier snapshot for conditional requests")
    f.set_defaults(func=cmd_fetch)

    r = sub.add_parser(
        "regenerate",
        help="fetch a snapshot and build it (make catalog); with no network, build the "
        "sample pages instead",
        description="Fetch the reference into SNAPSHOTS/<UTC date>/ (conditionally against "
        "the newest snapshot in SNAPSHOTS) and build it into --out. When the site cannot be "
        "reached (no network), say so in one line and build --fixtures instead, recording "
        "source.kind = fixtures in catalog.json.",
        epilog="example:\n  iam-catalog regenerate --snapshots snapshots --out build/catalog "
        "--fixtures fixtures/pages",
        formatter_class=_Formatter,
    )
    r.add_argument("--snapshots", default="snapshots", metavar="DIR", help="default: snapshots")
    r.add_argument("--out", default="build/catalog", metavar="DIR", help="default: build/catalog")
    r.add_argument(
        "--fixtures", default="fixtures/pages", metavar="DIR", help="default: fixtures/pages"
    )
    _add_fetch_options(r)
    r.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="build an incomplete snapshot, taking failed pages from the previous one",
    )
    r.set_defaults(func=cmd_regenerate)

    fm = sub.add_parser(
        "formats",
        help="list the source formats this tool reads",
        description="List the source formats, one line each.",
        epilog="example:\n  iam-catalog formats",
        formatter_class=_Formatter,
    )
    fm.set_defaults(func=cmd_formats)

    _add_export(sub)
    from iam_catalog.history.cli import add_parser as add_history

    add_history(sub, _Formatter)
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
