"""One night of the release pipeline, as a straight line:

fetch -> build (page cache) -> diff against ``latest`` -> gates (written first) ->
publish into ``RELEASES/<id>/`` or quarantine into ``RELEASES/quarantine/<id>/`` ->
index, changelog, feed, ``latest`` -> ``status.json``.

Also :func:`accept` (a person publishes a quarantined release) and :func:`read_status`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from iam_catalog import __version__
from iam_catalog.parsers.errors import IamCatalogError, SourceError
from iam_catalog.parsers.model import Catalog, CatalogSource
from iam_catalog.release import store as st
from iam_catalog.release.gates import Gate, Inputs, Verdict, evaluate, thresholds

if TYPE_CHECKING:
    from iam_catalog.output.diff import CatalogDiff
    from iam_catalog.scraper.http import HttpConfig

PAGE_CACHE = ".page-cache"
"""The page cache's folder inside the snapshots folder (hidden: never taken for a snapshot)."""
EXIT_GATES = 3
"""Exit code of a night a gate stopped, and of ``status`` on a stale release."""

PUBLISHED, QUARANTINED, UNCHANGED, FAILED = "published", "quarantined", "unchanged", "failed"


@dataclass(frozen=True, slots=True)
class Night:
    """What a night did."""

    outcome: str
    """``published``, ``quarantined`` or ``unchanged``."""
    release_id: str | None
    """The release made (None when nothing changed)."""
    path: Path | None
    """Its folder."""
    gates: tuple[Gate, ...] = ()
    """Every gate, measured."""
    fetch_line: str = ""
    """The fetch's one-line summary."""
    cache_hits: int = 0
    """Pages taken from the page cache."""
    cache_misses: int = 0
    """Pages parsed."""
    changes: int = 0
    """Entries of the diff against the latest release."""
    failed: tuple[Gate, ...] = field(default=())
    """The gates that failed."""


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _empty_catalog() -> Catalog:
    return Catalog(CatalogSource(kind="files", id="none", pages=0, formats=()), ())


def counts(catalog: Catalog) -> dict[str, int]:
    return {
        "services": len(catalog.services),
        "actions": sum(len(s.actions) for s in catalog.services),
        "resource_types": sum(len(s.resource_types) for s in catalog.services),
        "condition_keys": sum(len(s.condition_keys) for s in catalog.services),
    }


def _change_summary(d: CatalogDiff) -> dict[str, Any]:
    return {
        **d.summary.to_dict(),
        "total": len(d.changes),
        "by_severity": {s.value: n for s, n in d.summary.by_severity},
    }


def load_overrides(config: Path | None, flags: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Threshold overrides from a JSON config file (``{"gates": {NAME: VALUE}}`` or
    ``{NAME: VALUE}``), then from ``--gate NAME=VALUE`` flags (which win)."""
    out: dict[str, Any] = {}
    if config is not None:
        try:
            data = orjson.loads(config.read_bytes())
        except orjson.JSONDecodeError as e:
            raise SourceError(f"{config}: not valid JSON ({e})") from None
        if isinstance(data, dict) and isinstance(data.get("gates"), dict):
            data = data["gates"]
        if not isinstance(data, dict):
            raise SourceError(f"{config}: expected an object of gate thresholds")
        out.update(data)
    out.update(dict(flags))
    return out


def run_night(
    *,
    snapshots: Path,
    releases: Path,
    today: str | None = None,
    base_url: str,
    json_base_url: str,
    formats: Sequence[str] = ("html",),
    concurrency: int = 4,
    config: HttpConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    allow_incomplete: bool = False,
    progress: bool = False,
    jobs: int | None = None,
) -> Night:
    """One night (see the module docstring). Raises :class:`IamCatalogError` when the
    site cannot be reached or the snapshot cannot be built (``status.json`` records it,
    nothing is published)."""
    day = today or datetime.now(UTC).date().isoformat()
    limits = thresholds(overrides)
    try:  # before anything is fetched: a night must not stop between its publication steps
        import feedgen.feed  # noqa: F401
    except ImportError:
        raise SourceError(
            "nightly needs feedgen for its Atom feed: pip install 'iam-catalog[nightly]'"
        ) from None
    releases_store = st.Releases(releases)
    releases_store.clean_staging()
    if releases_store.latest() is not None:
        releases_store.refresh()  # finish what a night killed after its publication left
    try:
        return _night(
            releases_store, snapshots, day, limits, base_url, json_base_url, formats,
            concurrency, config, allow_incomplete, progress, jobs,
        )  # fmt: skip
    except IamCatalogError as e:
        _write_status(releases_store, day, FAILED, None, (), reason=str(e))
        raise


def _night(
    releases: st.Releases,
    snapshots: Path,
    day: str,
    limits: dict[str, Any],
    base_url: str,
    json_base_url: str,
    formats: Sequence[str],
    concurrency: int,
    config: HttpConfig | None,
    allow_incomplete: bool,
    progress: bool,
    jobs: int | None,
) -> Night:
    from iam_catalog.output.build import build, load_catalog
    from iam_catalog.output.diff import diff
    from iam_catalog.page_cache import PageCache
    from iam_catalog.scraper.fetch import fetch_day
    from iam_catalog.scraper.snapshot import read_manifest

    # 1. fetch (no fallback: an unreachable site raises, and nothing is published)
    summary, previous_snapshot = fetch_day(
        snapshots,
        day,
        base_url=base_url,
        json_base_url=json_base_url,
        formats=formats,
        concurrency=concurrency,
        progress=progress,
        config=config,
    )
    snapshot = snapshots / day
    manifest = read_manifest(snapshot)

    # 2. build, parsing only the pages the cache does not hold
    cache = PageCache(snapshots / PAGE_CACHE)
    result = build(
        [snapshot],
        allow_incomplete=allow_incomplete,
        previous=previous_snapshot,
        jobs=jobs,
        render=True,
        cache=cache,
    )
    new = result.catalog
    cache.prune()  # what no recent night used (iam_catalog.page_cache)

    # 3. compare with the latest release
    latest = releases.latest()
    old = load_catalog(latest.path / "catalog.json") if latest is not None else None
    if latest is not None and old is not None:
        # In case the night that published it was killed before it got there.
        _add_history(releases, old, latest)
    d = diff(old or _empty_catalog(), new)
    if latest is not None and d.is_empty:
        _write_status(releases, day, UNCHANGED, None, (), snapshot=manifest.id)
        return Night(UNCHANGED, None, None, (), summary.line(), cache.hits, cache.misses)

    # 4. assemble the release, gates first
    from iam_catalog.output.report import render
    from iam_catalog.output.writers import write_catalog_dir
    from iam_catalog.release.changelog import section

    release_id = releases.new_id(day)
    staging = releases.staging(release_id)
    # First, into the empty folder: the catalog writer swaps in a whole folder.
    write_catalog_dir(new, staging, result.rendered, crosscheck=result.crosscheck)
    index_pages = frozenset(Path(rel).stem for rel, e in manifest.files.items() if e.role == "page")
    previous_changes: list[Any] = []
    if latest is not None:
        previous_changes = orjson.loads((latest.path / "diff.json").read_bytes())["changes"]
    d_json = render(d, "json")
    crosscheck = result.crosscheck.to_dict() if result.crosscheck is not None else None
    gates = evaluate(
        new,
        old,
        Inputs(index_pages, previous_changes, orjson.loads(d_json)["changes"], crosscheck),
        limits,
    )
    failed = tuple(g for g in gates if g.failed)
    gate_doc = {
        "release": release_id,
        "previous": latest.id if latest is not None else None,
        "thresholds": limits,
        "gates": [g.to_dict() for g in gates],
        "failed": [g.name for g in failed],
        "warned": [g.name for g in gates if g.verdict is Verdict.WARN],
        "accepted": None,
    }
    st.write_file(staging / st.GATES, st.dumps(gate_doc))  # before any decision

    st.write_file(staging / "diff.json", d_json.encode("utf-8"))
    for fmt in ("md", "html"):
        st.write_file(staging / f"diff.{fmt}", render(d, fmt).encode("utf-8"))
    new_counts = counts(new)
    text = section(
        release_id=release_id,
        date=day,
        snapshot=manifest.id,
        previous=latest.id if latest is not None else None,
        counts=new_counts,
        previous_counts=latest.manifest.get("counts") if latest is not None else None,
        d=d,
    )
    st.write_file(staging / st.SECTION, text.encode("utf-8"))

    # 5. publish or quarantine
    entry = {
        "id": release_id,
        "sequence": (latest.sequence + 1) if latest is not None else 1,
        "date": day,
        "published_at": now_utc(),
        "snapshot": manifest.id,
        "previous": latest.id if latest is not None else None,
        "pages": dict(new.source.formats),
        "counts": new_counts,
        "catalog_sha256": st.sha256_file(staging / "catalog.json"),
        "changes": _change_summary(d),
        "failed_gates": [g.name for g in failed],
        "accepted": None,
        "tool": {"name": "iam-catalog", "version": __version__},
    }
    releases.seal(staging, entry)
    outcome = QUARANTINED if failed else PUBLISHED
    path = releases.move_in(staging, release_id, quarantine=bool(failed))
    if not failed:
        releases.refresh()
        _add_history(releases, new, releases.latest())
    _write_status(releases, day, outcome, release_id, failed, snapshot=manifest.id)
    return Night(
        outcome,
        release_id,
        path,
        tuple(gates),
        summary.line(),
        cache.hits,
        cache.misses,
        len(d.changes),
        failed,
    )


HISTORY = "history.sqlite"


def _add_history(releases: st.Releases, catalog: Catalog, release: st.Release | None) -> None:
    """Add a published release to ``RELEASES/history.sqlite`` (issue "answers"); adding
    it again changes nothing. A second release of one date is left out of the history,
    which holds one release a date."""
    from iam_catalog.history import HistoryError, add_release

    if release is None:
        return
    try:
        add_release(releases.root / HISTORY, catalog, str(release.manifest["date"]))
    except HistoryError:
        if "." not in release.id:  # only the date.N releases may collide
            raise


def accept(releases_dir: Path, release_id: str, *, by: str, today: str | None = None) -> Path:
    """Publish the quarantined release ``release_id`` after a person looked at it:
    recorded in its ``gates.json`` and manifest (who, when, which gates had failed).
    Refused when another release was published since it was gated (run the night again)."""
    releases = st.Releases(releases_dir)
    releases.clean_staging()
    release = releases.quarantined(release_id)
    latest = releases.latest()
    gated_against = release.manifest.get("previous")
    if (latest.id if latest is not None else None) != gated_against:
        raise SourceError(
            f"{release.path}: gated against release {gated_against}, but the latest release "
            f"is now {latest.id if latest else None}; run the night again"
        )
    at = now_utc()
    gates_path = release.path / st.GATES
    gates = orjson.loads(gates_path.read_bytes())
    accepted = {"by": by, "at": at, "failed_gates": gates.get("failed", [])}
    gates["accepted"] = accepted
    st.write_file(gates_path, st.dumps(gates))
    from iam_catalog.release.changelog import accepted_note

    section_path = release.path / st.SECTION
    text = section_path.read_text(encoding="utf-8")
    if "accepted by" not in text.split("\n\n", 2)[1]:
        head, _, rest = text.partition("\n\n")
        text = f"{head}\n\n{accepted_note(accepted)}{rest}"
        st.write_file(section_path, text.encode("utf-8"))
    entry = {k: v for k, v in release.manifest.items() if k != "files"}
    entry["accepted"] = accepted
    entry["published_at"] = at
    releases.seal(release.path, entry)
    path = releases.move_in(release.path, release_id)
    releases.refresh()
    from iam_catalog.output.build import load_catalog

    _add_history(releases, load_catalog(path / "catalog.json"), releases.latest())
    day = today or datetime.now(UTC).date().isoformat()
    _write_status(releases, day, PUBLISHED, release_id, (), snapshot=entry.get("snapshot"))
    return path


def _age_days(release_date: str, day: str) -> int:
    return (date.fromisoformat(day) - date.fromisoformat(release_date[:10])).days


def _write_status(
    releases: st.Releases,
    day: str,
    outcome: str,
    release_id: str | None,
    failed: Sequence[Gate],
    *,
    snapshot: str | None = None,
    reason: str | None = None,
) -> None:
    latest = releases.latest()
    status = {
        "last_attempt": {
            "date": day,
            "at": now_utc(),
            "outcome": outcome,
            "release": release_id,
            "snapshot": snapshot,
            "failed_gates": [
                {"name": g.name, "figure": g.figure, "threshold": g.threshold, "summary": g.summary}
                for g in failed
            ],
            "reason": reason,
        },
        "last_published": None
        if latest is None
        else {
            "id": latest.id,
            "date": latest.manifest["date"],
            "published_at": latest.manifest["published_at"],
            "age_days": _age_days(latest.manifest["date"], day),
        },
    }
    releases.write_status(status)


@dataclass(frozen=True, slots=True)
class Status:
    """``status.json`` as of a day."""

    data: dict[str, Any]
    """The file, with ``last_published.age_days`` counted to that day."""
    stale: bool
    """No release, or the last one older than the limit asked for."""


def read_status(
    releases_dir: Path, *, today: str | None = None, max_age: int | None = None
) -> Status:
    """The status of the releases folder as of ``today``; ``stale`` when no release was
    ever published, or the last one is more than ``max_age`` days old."""
    releases = st.Releases(releases_dir)
    data = releases.status()
    if data is None:
        if not releases_dir.is_dir():
            raise SourceError(f"{releases_dir}: no such releases folder")
        data = {"last_attempt": None, "last_published": None}
    day = today or datetime.now(UTC).date().isoformat()
    latest = releases.latest()
    if latest is not None:
        data["last_published"] = {
            "id": latest.id,
            "date": latest.manifest["date"],
            "published_at": latest.manifest["published_at"],
            "age_days": _age_days(latest.manifest["date"], day),
        }
    published = data.get("last_published")
    stale = published is None or (max_age is not None and published["age_days"] > max_age)
    return Status(data, stale)
