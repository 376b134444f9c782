"""The query store behind iam_catalog.Catalog: lookups by name do the same work whatever
the catalog's size (counted in SQLite's virtual-machine steps, not timed); a source folder
is queried without leaving anything in the cache or in temp, also when it fails; a
catalog.json's cached store follows the file's content."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from iam_catalog.output.writers import dumps_catalog
from iam_catalog.query import Catalog
from iam_catalog.query.store import write_store


@pytest.fixture(scope="module")
def full(html_2026, tmp_path_factory):
    path = tmp_path_factory.mktemp("full") / "catalog.db"
    write_store(html_2026.catalog, path)
    return Catalog.load(path)


@pytest.fixture(scope="module")
def small(html_2026, tmp_path_factory):
    """The same s3, iam and kms services, alone: 3 of 459."""
    model = html_2026.catalog
    keep = tuple(s for s in model.services if s.prefix in {"s3", "iam", "kms"})
    path = tmp_path_factory.mktemp("small") / "catalog.db"
    write_store(replace(model, services=keep), path)
    return Catalog.load(path)


def _work(cat: Catalog, question) -> tuple[int, int]:
    """SQLite virtual-machine steps and statements a question costs."""
    steps, statements = [0], [0]

    def step() -> int:
        steps[0] += 1
        return 0

    cat._db.set_progress_handler(step, 1)
    cat._db.set_trace_callback(lambda _sql: statements.__setitem__(0, statements[0] + 1))
    try:
        question(cat)
    finally:
        cat._db.set_progress_handler(None, 1)
        cat._db.set_trace_callback(None)
    return steps[0], statements[0]


LOOKUPS = {
    "action": lambda c: c.action("S3:GetObject"),
    "missing action": lambda c: c.action("s3:NoSuchAction"),
    "service": lambda c: c.services("S3"),
    "resource types": lambda c: c.resource_types("KMS"),
    "keys of an action": lambda c: c.condition_keys(action="iam:PassRole"),
    "keys of a service": lambda c: c.condition_keys(service="Kms"),
    "actions of a service": lambda c: c.actions(service="IAM", access_level="write"),
}


def test_lookups_by_name_cost_the_same_on_3_services_as_on_459(full, small):
    n_full = full._db.execute("SELECT count(*) FROM actions").fetchone()[0]
    n_small = small._db.execute("SELECT count(*) FROM actions").fetchone()[0]
    assert n_full > 20 * n_small
    for cat in (full, small):  # the dicts are built once, before the count
        cat.action("s3:GetObject")
        cat.services("s3")
    for name, question in LOOKUPS.items():
        assert question(full) == question(small), name
        assert _work(full, question) == _work(small, question), name
    # The dicts are built once: a second look-up runs the same statements as the first.
    steps, statements = _work(full, LOOKUPS["action"])
    assert statements == 5  # the action's row, levels, keys, dependent actions, rows, ops
    assert steps < 2000 < n_full


def test_a_name_index_is_built_once_per_catalog(small, full):
    built = []
    full._db.set_trace_callback(built.append)
    try:
        for a in ("s3:GetObject", "s3:PutObject", "iam:PassRole", "kms:Decrypt"):
            assert full.action(a) is not None
    finally:
        full._db.set_trace_callback(None)
    assert not [sql for sql in built if "SELECT id, action FROM actions" in sql]


LEFTOVERS = textwrap.dedent(
    """
    import sys
    from iam_catalog.query import Catalog, QueryError
    from iam_catalog.parsers.errors import IamCatalogError
    try:
        cat = Catalog.load(sys.argv[1])
    except IamCatalogError as e:
        print("refused:", e)
        sys.exit(3)
    print(cat.action("s3:GetObject").name, len(cat.expand("s3:*")))
    cat.close()
    """
)


def test_a_source_folder_is_queried_without_leaving_anything_behind(corpus, tmp_path):
    pages = corpus / "html" / "2026-04-01_110d32e3"
    src = tmp_path / "pages"
    src.mkdir()
    for name in ("list_amazons3.html", "list_awskeymanagementservice.html"):
        (src / name).write_bytes((pages / name).read_bytes())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "empty.html").write_bytes(b"")
    temp, cache = tmp_path / "temp", tmp_path / "cache"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "IAM_CATALOG_CACHE": str(cache)}
    ok = subprocess.run([sys.executable, "-c", LEFTOVERS, str(src)], env=env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    name, count = ok.stdout.decode().split()
    assert name == "GetObject" and int(count) > 100
    failed = subprocess.run(
        [sys.executable, "-c", LEFTOVERS, str(broken)], env=env, capture_output=True
    )
    assert failed.returncode == 3, failed.stderr
    assert failed.stdout.decode().startswith("refused:")
    assert list(temp.iterdir()) == []
    assert not cache.exists()


def test_a_catalog_json_store_follows_the_file_content(html_2026, tmp_path, monkeypatch):
    monkeypatch.setenv("IAM_CATALOG_CACHE", str(tmp_path / "cache"))
    model = html_2026.catalog
    path = tmp_path / "catalog.json"
    path.write_bytes(dumps_catalog(model))
    assert Catalog.load(path).action("s3:GetObject") is not None
    stores = sorted((tmp_path / "cache").glob("*.sqlite"))
    assert len(stores) == 1
    # Found again by the file's identity, without making a second store.
    assert Catalog.load(path).action("s3:GetObject") is not None
    assert sorted((tmp_path / "cache").glob("*.sqlite")) == stores
    # The same path with other bytes (s3 gone): the other catalog's answers.
    path.write_bytes(
        dumps_catalog(replace(model, services=tuple(s for s in model.services if s.prefix != "s3")))
    )
    assert Catalog.load(path).action("s3:GetObject") is None
    assert len(list((tmp_path / "cache").glob("*.sqlite"))) == 2


def test_a_killed_writers_temp_store_is_removed_a_live_ones_kept(html_2026, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("IAM_CATALOG_CACHE", str(cache))
    dead, live = cache / ".store.dead.tmp", cache / ".store.live.tmp"
    dead.write_bytes(b"half a store")
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = tmp_path / "catalog.json"
        path.write_bytes(dumps_catalog(html_2026.catalog))
        Catalog.load(path).close()
        assert not dead.exists()
        assert live.exists()
    finally:
        os.close(fd)
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) == [live.name]
