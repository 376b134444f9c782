"""The ``iam-catalog`` command line: parse arguments, call one library function,
turn errors into an exit code and a one-line message.

Exit codes: 0 ok; 1 a diff found changes; 2 bad input or a failure.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from iam_catalog.parsers.errors import IamCatalogError, OutputError
from iam_catalog.parsers.model import Diagnostic, Severity

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
    from iam_catalog.output.writers import check_output_folder
    from iam_catalog.page_cache import PageCache

    out = Path(args.out)
    check_output_folder(out)  # before the work, not after it
    bar = None  # on a terminal, once the build has listed the files it reads
    cache = PageCache(Path(args.cache)) if args.cache else None

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
            cache=cache,
            render=True,
            exclude=[out],  # its own output folder, when inside a source
        )
    finally:
        if bar is not None:
            bar.close()
    if cache is not None:
        cache.prune()  # what no recent build used (iam_catalog.page_cache)
    return _write_build(result, args.out, args.strict, args.show_diagnostics)


# Diagnostics a build always prints, whatever --show-diagnostics says: about the sources as
# a whole, once each.
_ALWAYS_SHOWN = frozenset({"mixed-releases"})


def _print_diagnostics(
    diagnostics: Iterable[Diagnostic], files: Mapping[Diagnostic | str, str], least: str | None
) -> None:
    from iam_catalog.output.writers import at_least, diagnostic_line

    for d in diagnostics:
        if (least and at_least(d, least)) or d.code in _ALWAYS_SHOWN:
            print(diagnostic_line(d, files), file=sys.stderr)


def _write_build(result: BuildResult, out: str, strict: bool, show: str | None = None) -> int:
    """Write a build's catalog to ``out`` and print its summary line (exit 2 when it found
    nothing usable, or with ``strict`` on any error diagnostic); ``show`` prints the
    diagnostics of that severity or worse, one line each."""
    from iam_catalog.output.writers import (
        DIAGNOSTICS_CSV,
        diagnostic_line,
        file_and_message,
        write_catalog_dir,
    )

    catalog = result.catalog
    files = result.diagnostic_files
    errors = [d for d in catalog.diagnostics if d.severity is Severity.ERROR]
    _print_diagnostics(catalog.diagnostics, files, show)
    if result.usable_pages == 0:
        # The file and the reason, as every error line says them.
        first = file_and_message(errors[0], files) if errors else "no pages found"
        print(f"iam-catalog: error: nothing usable in the sources ({first})", file=sys.stderr)
        return EXIT_ERROR
    write_catalog_dir(catalog, Path(out), result.rendered, files, result.crosscheck)
    actions = sum(len(s.actions) for s in catalog.services)
    by_sev = {s: sum(1 for d in catalog.diagnostics if d.severity is s) for s in Severity}
    print(
        f"{result.files} files, {catalog.source.pages} pages, {len(catalog.services)} services, "
        f"{actions} actions, {len(catalog.diagnostics)} diagnostics "
        f"({by_sev[Severity.ERROR]} errors, {by_sev[Severity.WARNING]} warnings, "
        f"{by_sev[Severity.INFO]} info) -> {out}",
        file=sys.stderr,
    )
    if result.crosscheck is not None:
        summary = result.crosscheck.summary()
        print(
            f"cross-check of {', '.join(result.crosscheck.sources)}: "
            f"{summary['disagreements']} disagreements -> {Path(out) / 'crosscheck.md'}",
            file=sys.stderr,
        )
    if strict and errors:
        print(
            f"iam-catalog: error: {diagnostic_line(errors[0], files)} (--strict: the first of "
            f"{len(errors)} error diagnostics; the catalog is written whole to {out}, every "
            f"diagnostic in {Path(out) / DIAGNOSTICS_CSV})",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def cmd_diagnostics(args: argparse.Namespace) -> int:
    from iam_catalog.output.build import catalog_diagnostics
    from iam_catalog.output.writers import at_least, diagnostic_line

    diagnostics, files = catalog_diagnostics(Path(args.catalog))
    shown = [d for d in diagnostics if at_least(d, args.severity)]
    write_stdout("".join(f"{diagnostic_line(d, files)}\n" for d in shown))
    return EXIT_OK


def cmd_formats(args: argparse.Namespace) -> int:
    from iam_catalog.parsers.detect import FORMATS

    width = max(len(n) for n in FORMATS)
    for name, module in FORMATS.items():
        print(f"{name:<{width}}  {module.DESCRIPTION}")
    return EXIT_OK


# diff --format from the extension of --output, when --format is not given.
REPORT_FORMATS = {".md": "md", ".json": "json", ".html": "html"}
DEFAULT_REPORT_FORMAT = "md"


def report_format(fmt: str | None, output: str | None) -> str:
    """``--format`` if given, else the one the extension of ``--output`` names, else md."""
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower() if output else ""
    return REPORT_FORMATS.get(suffix, DEFAULT_REPORT_FORMAT)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def cmd_diff(args: argparse.Namespace) -> int:
    from iam_catalog.output.build import load_catalog
    from iam_catalog.output.diff import diff
    from iam_catalog.output.report import render
    from iam_catalog.output.writers import atomic_open

    if args.output:
        for given in (args.old, args.new):
            if _same_file(Path(args.output), Path(given)):
                raise OutputError(
                    f"{args.output}: is also an input of the diff ({given}); write the report "
                    "to another file"
                )
    old = load_catalog(Path(args.old))
    new = load_catalog(Path(args.new))
    result = diff(old, new)
    text = render(result, report_format(args.format, args.output))
    if args.output:
        with atomic_open(Path(args.output), "wb") as f:
            f.write(text.encode("utf-8"))
    else:
        write_stdout(text)
    return EXIT_OK if result.is_empty or args.exit_zero else EXIT_CHANGED


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout whole, or raise BrokenPipeError. A write to a pipe whose
    reader has gone returns short (what the pipe took) before it fails, and Python's
    buffered stdout counts a short write as done (the rest is lost, no error: `diff |
    head -1` exited 1, as for changes): writes to the descriptor go on until one fails."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (captured, in tests)
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    data = memoryview(text.encode("utf-8"))
    while data:
        data = data[os.write(fd, data) :]


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
        max_files=args.max_files,
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
        max_files=args.max_files,
        progress=sys.stderr.isatty(),
        render=True,
        out=Path(args.out),
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
        request_timeout=args.request_timeout,
        retries=args.retries,
    )


def _add_fetch_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``fetch`` and ``regenerate``."""
    from iam_catalog.scraper.discover import DEFAULT_BASE_URL, DEFAULT_JSON_BASE_URL

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
    p.add_argument(
        "--request-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="seconds one request may take in all, body included; a file still unfinished "
        "then fails without another try (default 120)",
    )
    p.add_argument(
        "--max-files",
        type=int,
        default=5000,
        metavar="N",
        help="refuse to fetch when the index and service list name more files than this "
        "(default 5000)",
    )


def make_parser() -> argparse.ArgumentParser:
    # Imported here, not at the top: `iam-catalog query` answers from a cold process
    # without the parsers and the HTTP stack (see _query_parser).
    from iam_catalog import __version__
    from iam_catalog.parsers.detect import FORMATS

    p = argparse.ArgumentParser(
        prog="iam-catalog",
        description="Build a canonical catalog of AWS IAM actions, resource types and condition "
        "keys from the Service Authorization Reference, and report changes between releases.",
        epilog="examples:\n"
        "  iam-catalog regenerate --snapshots snapshots --out build/catalog\n"
        "  iam-catalog fetch --out build/snapshot\n"
        "  iam-catalog build fixtures/pages --out build/samples\n"
        "  iam-catalog diff fixtures/html build/catalog/catalog.json --format md\n"
        "  iam-catalog diagnostics build/catalog --severity error\n"
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
        "nothing usable was found (or, with --strict, on any error diagnostic). Pages of one "
        "service from several sources (the SAR pages, their .md rendering, AWS's JSON: a "
        "snapshot fetched with --formats html,md,json, or several SOURCEs) make one service, "
        "each field from a source that carries it (recorded as sources and field_sources), "
        "and DIR/crosscheck.json and DIR/crosscheck.md list where the sources disagree.",
        epilog="example:\n"
        "  iam-catalog build fixtures/pages --out build/samples --show-diagnostics warning",
        formatter_class=_Formatter,
    )
    b.add_argument("sources", nargs="+", metavar="SOURCE", help="page files or folders")
    b.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder, replaced whole: new, empty or written by an earlier build "
        "(skipped when inside a SOURCE)",
    )
    b.add_argument("--format", choices=list(FORMATS), help="force one source format")
    b.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 on any error diagnostic (the catalog is still written, whole)",
    )
    b.add_argument(
        "--show-diagnostics",
        nargs="?",
        const="info",
        choices=[s.value for s in Severity],
        metavar="SEVERITY",
        help="print every diagnostic of SEVERITY (error, warning or info) or worse, as "
        "'file:line: severity code: message' on stderr (default when given alone: info, "
        "all of them); all of them are also in DIR/csv/diagnostics.csv",
    )
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
    b.add_argument(
        "--cache",
        metavar="DIR",
        help="page cache: take pages parsed before (same bytes, same code) from DIR and store "
        "the others there; the output is the same as without (safe to delete); entries no "
        "build used for 14 days are pruned",
    )
    b.set_defaults(func=cmd_build)

    d = sub.add_parser(
        "diff",
        help="report what changed between two catalogs or sources",
        description="Compare OLD and NEW (each a catalog.json or any source `build` accepts). "
        "Exit 0 when equal, 1 when different (0 with --exit-zero), 2 on error.",
        epilog="example:\n"
        "  iam-catalog diff fixtures/html build/catalog/catalog.json --output report.html\n"
        "  iam-catalog diff fixtures/html build/catalog/catalog.json --output changes.md "
        "--exit-zero",
        formatter_class=_Formatter,
    )
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument(
        "--format",
        choices=sorted(set(REPORT_FORMATS.values())),
        help="report format (default: from the extension of --output, .md .json or .html; "
        f"else {DEFAULT_REPORT_FORMAT})",
    )
    d.add_argument(
        "--output",
        metavar="FILE",
        help="write the report here (default: stdout); not one of the inputs",
    )
    d.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 when changes are found too (for `set -e` scripts that write the report "
        "and go on); errors still exit 2",
    )
    d.set_defaults(func=cmd_diff)

    f = sub.add_parser(
        "fetch",
        help="download the live reference into a snapshot folder",
        description="Fetch every SAR page (and optionally its .md rendering and AWS's "
        "programmatic JSON) into DIR with a manifest.json.",
        epilog="example:\n  iam-catalog fetch --out build/snapshot",
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
        "source.kind = fixtures in catalog.json; never over a catalog built from real pages "
        "(exit 2, that one kept).",
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

    dg = sub.add_parser(
        "diagnostics",
        help="print a catalog's diagnostics, one line each",
        description="Print the diagnostics of CATALOG (a catalog.json, the folder a build "
        "wrote, or any source `build` accepts) as 'file:line: severity code: message'; the "
        "files come from the csv/diagnostics.csv beside a catalog.json (else its page ids).",
        epilog="example:\n  iam-catalog diagnostics build/catalog --severity warning",
        formatter_class=_Formatter,
    )
    dg.add_argument("catalog", metavar="CATALOG")
    dg.add_argument(
        "--severity",
        choices=[s.value for s in Severity],
        default="info",
        help="print those of this severity or worse (default: info, all of them)",
    )
    dg.set_defaults(func=cmd_diagnostics)

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
    from iam_catalog.query.cli import add_parser as add_query

    add_query(sub, _Formatter)
    from iam_catalog.release.cli import add_commands as add_release_commands

    add_release_commands(sub, _Formatter, _add_fetch_options)
    return p


def _exit_on_closed_pipe() -> NoReturn:
    """End as a Unix tool does when the reader of its output has gone (``| head -1``):
    killed by SIGPIPE, without a message. Python ignores SIGPIPE and raises
    BrokenPipeError instead, and would raise it again flushing stdout at exit: stdout is
    pointed at /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    sys.exit(128 + signal.SIGPIPE)  # the shell's status for it, where the signal cannot end us


def _query_parser() -> argparse.ArgumentParser:
    """The parser of ``iam-catalog query`` alone: a query must answer from a cold process
    in well under a second, and building every command's parser imports every source
    format's parser (lxml, markdown-it) and the HTTP stack first."""
    from iam_catalog.query.cli import add_parser as add_query

    p = argparse.ArgumentParser(prog="iam-catalog", formatter_class=_Formatter)
    add_query(p.add_subparsers(dest="command", required=True, metavar="COMMAND"), _Formatter)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = _query_parser() if words[:1] == ["query"] else make_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # after --help or --version: their text may meet a closed pipe
            sys.stdout.flush()
            raise
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here when the output fit in the buffer
        return code
    except BrokenPipeError:
        _exit_on_closed_pipe()
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
