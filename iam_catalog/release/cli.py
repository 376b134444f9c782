"""``iam-catalog nightly``: the release pipeline's command group (registered by
:func:`add_commands` in ``output/cli.py``).

Exit codes: 0 published (or nothing changed, or accepted); 2 a failure (unreachable
site, unusable snapshot, bad arguments), one line; 3 a gate failed (quarantined, one line
per failed gate on stderr), or ``status`` found the last good release too old.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

EXIT_OK, EXIT_ERROR = 0, 2


def _date(text: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, not {text!r}") from None


def _user() -> str:
    """The user name, for ``--accept`` without ``--by``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


def cmd_nightly(args: argparse.Namespace) -> int:
    from iam_catalog.output.cli import _formats, _http_config
    from iam_catalog.parsers.errors import SourceError
    from iam_catalog.release.gates import parse_gate_flag
    from iam_catalog.release.night import EXIT_GATES, accept, load_overrides, run_night

    if not args.releases:
        raise SourceError("nightly: --releases DIR is required")
    if args.accept:
        by = args.by or _user()
        path = accept(Path(args.releases), args.accept, by=by, today=args.today)
        print(f"accepted {args.accept} by {by}: published -> {path}", file=sys.stderr)
        return EXIT_OK
    overrides = load_overrides(
        Path(args.gates_config) if args.gates_config else None,
        [parse_gate_flag(g) for g in args.gate],
    )
    night = run_night(
        snapshots=Path(args.snapshots),
        releases=Path(args.releases),
        today=args.today,
        base_url=args.base_url,
        json_base_url=args.json_base_url,
        formats=_formats(args.formats),
        concurrency=args.concurrency,
        config=_http_config(args),
        overrides=overrides,
        allow_incomplete=args.allow_incomplete,
        progress=sys.stderr.isatty(),
    )
    print(night.fetch_line, file=sys.stderr)
    parsed = f"{night.cache_misses} pages parsed, {night.cache_hits} from the page cache"
    if night.outcome == "unchanged":
        print(f"no change since the latest release ({parsed}); nothing published", file=sys.stderr)
        return EXIT_OK
    if night.failed:
        for g in night.failed:
            print(
                f"iam-catalog: gate failed: {g.name}: {g.summary} (figure {g.figure}, "
                f"threshold {g.threshold})",
                file=sys.stderr,
            )
        n = len(night.failed)
        print(
            f"quarantined {night.release_id} -> {night.path} ({n} gate{'s' * (n != 1)} "
            f"failed; `latest` unchanged; publish after review with: iam-catalog nightly "
            f"--accept {night.release_id} --releases {args.releases})",
            file=sys.stderr,
        )
        return EXIT_GATES
    print(
        f"published {night.release_id} -> {night.path} ({night.changes} changes, {parsed})",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from iam_catalog.release.night import EXIT_GATES, read_status

    status = read_status(Path(args.releases), today=args.today, max_age=args.max_age)
    sys.stdout.write(
        orjson.dumps(status.data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    )
    if status.stale:
        published = status.data.get("last_published")
        why = (
            "no release published yet"
            if published is None
            else f"last good release {published['id']} is {published['age_days']} days old "
            f"(more than --max-age {args.max_age})"
        )
        print(f"iam-catalog: stale: {args.releases}: {why}", file=sys.stderr)
        return EXIT_GATES
    return EXIT_OK


def add_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    formatter: type[argparse.HelpFormatter],
    add_fetch_options: Callable[[argparse.ArgumentParser], Any],
) -> None:
    """Add ``nightly`` (and ``nightly status``) to the ``iam-catalog`` parser."""
    n = sub.add_parser(
        "nightly",
        help="the nightly release: fetch, build, gate, then publish or quarantine",
        description="Fetch SNAPSHOTS/<date>/, build it (only changed pages are parsed), "
        "compare it with RELEASES/latest and hold it to the gates. On pass publish "
        "RELEASES/<id>/ and move RELEASES/latest; on a failed gate quarantine it in "
        "RELEASES/quarantine/<id>/ and exit 3. A night with no change publishes nothing. "
        "Gates and their thresholds: see gates.json of any release; override with --gate "
        "NAME=VALUE or --gates-config FILE.",
        epilog="example:\n"
        "  iam-catalog nightly --snapshots snapshots --releases releases\n"
        "  iam-catalog nightly status --releases releases --max-age 2\n"
        "after a quarantine (exit 3), once a person has looked at it:\n"
        "  nightly --accept ID --releases releases --by NAME",
        formatter_class=formatter,
    )
    n.add_argument("--snapshots", default="snapshots", metavar="DIR", help="default: snapshots")
    n.add_argument("--releases", metavar="DIR", help="the releases folder (required)")
    n.add_argument("--today", type=_date, metavar="YYYY-MM-DD", help="default: the UTC date")
    add_fetch_options(n)
    n.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one gate's threshold, e.g. totals.actions=5 or "
        "smoke=s3:GetObject,iam:PassRole (repeatable)",
    )
    n.add_argument(
        "--gates-config", metavar="FILE", help='JSON thresholds by gate name ({"gates": {...}})'
    )
    n.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="build an incomplete snapshot, taking failed pages from the previous one",
    )
    n.add_argument(
        "--accept",
        metavar="ID",
        help="publish the quarantined release ID after review (recorded in its gates.json)",
    )
    n.add_argument(
        "--by",
        metavar="NAME",
        help="who accepts (default: the user name)",
    )
    n.set_defaults(func=cmd_nightly)
    group = n.add_subparsers(dest="nightly_command", metavar="status")
    s = group.add_parser(
        "status",
        help="print RELEASES/status.json; exit 3 when the last good release is too old",
        description="Print the last attempt and the last published release with its age in "
        "days; exit 3 when there is none or it is older than --max-age DAYS.",
        epilog="example:\n  iam-catalog nightly status --releases releases --max-age 2",
        formatter_class=formatter,
    )
    s.add_argument("--releases", required=True, metavar="DIR")
    s.add_argument("--max-age", type=int, metavar="DAYS", help="oldest acceptable release")
    s.add_argument("--today", type=_date, metavar="YYYY-MM-DD", help="default: the UTC date")
    s.set_defaults(func=cmd_status)
