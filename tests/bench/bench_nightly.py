"""The nightly build: 5 of the 528 pages of html/2026-04-01_110d32e3 changed (replaced by
their 2025-11-01 versions), built in full and from the page cache, side by side.

The pages are read as the night reads them: a snapshot (``html/`` and a manifest), whose
pages the build checks against the manifest before it reads them. Both builds are the
command a user runs, in a fresh child process, timed inside it around the
work only (imports excluded): ``iam-catalog build PAGES --out DIR`` (the full build, two
processes as by default) and the same with ``--cache DIR`` holding the other 523 pages
from a build of the unchanged folder (a fresh copy of that cache each round, so every
round parses the same 5 pages). Median of REPEATS rounds, the two alternating. The
outputs of the two are compared byte for byte.

A third row shows what the render-ahead machinery of output/build.py buys a full build
(``build(render=False)`` then the writer, in the same rounds), to weigh it against the
cache, which makes a night's rendering a lookup.
"""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import statistics
import tempfile
from pathlib import Path

from iam_catalog.output.writers import CSV_COLUMNS
from tests.bench.bench_build import _mib, measure

REPEATS = 9
CHANGED = 5
TARGET = 0.2
OLDER = "2025-11-01_f2b93173"

BUILD = """
import contextlib, json, os, resource, sys, time
from iam_catalog.output.cli import main
import iam_catalog.output.build, iam_catalog.output.writers, iam_catalog.page_cache
# what make_parser imports for the other commands: not timed either
import iam_catalog.history, iam_catalog.release.cli
args = ["build", sys.argv[1], "--out", sys.argv[2]] + sys.argv[3:]
t = time.perf_counter()
with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
    status = main(args)
seconds = time.perf_counter() - t
assert status == 0, status
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "workers_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

PLAIN = """
import json, resource, sys, time
from pathlib import Path
from iam_catalog.output.build import build
from iam_catalog.output.writers import write_catalog_dir
t = time.perf_counter()
result = build([Path(sys.argv[1])], render=False)
write_catalog_dir(result.catalog, Path(sys.argv[2]))
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "workers_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

# Every file a build writes: the catalog and each CSV table of the writers.
OUTPUTS = ("catalog.json", *(f"csv/{name}" for name in CSV_COLUMNS))


def _snapshot(pages: dict[str, bytes], out: Path) -> Path:
    """A snapshot of ``pages`` (file name -> bytes), as a fetch would write it."""
    from iam_catalog.scraper.snapshot import FileEntry, Manifest, write_manifest

    (out / "html").mkdir(parents=True)
    manifest = Manifest(
        created_at="2026-12-01T00:00:00Z",
        base_url="http://127.0.0.1/",
        json_base_url=None,
        formats=["html"],
        tool={"name": "iam-catalog", "version": "bench"},
    )
    for name, data in pages.items():
        (out / "html" / name).write_bytes(data)
        manifest.files[f"html/{name}"] = FileEntry(
            url=f"http://127.0.0.1/{name}",
            format="html",
            role="page",
            status=200,
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
        )
    write_manifest(out, manifest)
    return out


def _changed_folder(corpus: Path, work: Path) -> tuple[Path, Path, list[str]]:
    """(snapshot of the pages, the same with CHANGED pages replaced by older versions,
    the names of those)."""
    today = corpus / "html" / "2026-04-01_110d32e3"
    older = corpus / "html" / OLDER
    pages = {p.name: p.read_bytes() for p in sorted(today.glob("*.html"))}
    names = [
        name
        for name, data in pages.items()
        if (older / name).is_file() and (older / name).read_bytes() != data
    ][::40][:CHANGED]
    changed = {**pages, **{name: (older / name).read_bytes() for name in names}}
    return _snapshot(pages, work / "base"), _snapshot(changed, work / "changed"), names


def run(corpus: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="iam-bench-nightly-") as tmp:
        work = Path(tmp)
        base, changed, names = _changed_folder(corpus, work)
        warm = work / "warm-cache"
        measure(BUILD, str(base), str(work / "out-warm"), "--cache", str(warm))
        full: list[dict[str, float]] = []
        incremental: list[dict[str, float]] = []
        plain: list[dict[str, float]] = []
        ratios = []
        for i in range(REPEATS):
            cache = work / f"cache-{i}"
            shutil.copytree(warm, cache)
            f = measure(BUILD, str(changed), str(work / "out-full"))
            n = measure(BUILD, str(changed), str(work / "out-incremental"), "--cache", str(cache))
            p = measure(PLAIN, str(changed), str(work / "out-plain"))
            shutil.rmtree(cache)
            full.append(f)
            incremental.append(n)
            plain.append(p)
            ratios.append(n["seconds"] / f["seconds"])
        same = all(
            filecmp.cmp(work / "out-full" / name, work / d / name, shallow=False)
            for name in OUTPUTS
            for d in ("out-incremental", "out-plain")
        )
        f_s = statistics.median(r["seconds"] for r in full)
        n_s = statistics.median(r["seconds"] for r in incremental)
        p_s = statistics.median(r["seconds"] for r in plain)
        ratio = statistics.median(ratios)
        print(f"pages changed: {len(names)} of 528 ({', '.join(names)})")
        print(
            f"full build (iam-catalog build, default jobs): {f_s:.3f} s, peak RSS "
            f"{_mib(statistics.median(r['rss'] for r in full))}"
        )
        print(
            f"incremental build (--cache, {CHANGED} pages parsed): {n_s:.3f} s, peak RSS "
            f"{_mib(statistics.median(r['rss'] for r in incremental))}"
        )
        print(
            f"incremental / full: {ratio:.3f}x (median of {REPEATS} rounds; per round "
            f"{min(ratios):.3f}-{max(ratios):.3f}x; target <= {TARGET}x) "
            f"{'OK' if ratio <= TARGET else 'OVER TARGET'}"
        )
        print(
            f"full build without render-ahead (build(render=False), then write): {p_s:.3f} s "
            f"({p_s / f_s:.2f}x the full build)"
        )
        print(f"output bytes identical (full, incremental, plain): {same}")
        if not same:
            raise SystemExit("bench: incremental output differs from the full build")
