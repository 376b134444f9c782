"""History: item versions valid from one release to the next (iam_catalog.history)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import sqlite3
from pathlib import Path

import pytest

from iam_catalog.history import History, HistoryError, add_release
from iam_catalog.output.build import build
from iam_catalog.output.cli import main
from iam_catalog.output.diff import diff
from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    PageRef,
    ResourceType,
    ResourceTypeRow,
    Service,
    Severity,
)

from .conftest import NEW_LAYOUT_MD, NEW_LAYOUT_SERVICES_HTML

# --------------------------------------------------------------------------- small catalogs


def _action(name: str, description: str = "Grants permission", level: str = "Read", **kw) -> Action:
    lv = AccessLevel(level)
    return Action(name, description, lv, (lv,), **kw)


def _catalog(sid: str, *services: Service, diagnostics: tuple[Diagnostic, ...] = ()) -> Catalog:
    return Catalog(CatalogSource("files", sid, 1, ()), tuple(services), diagnostics)


def _service(prefix: str, *actions: Action, page: str | None = None, **kw) -> Service:
    ref = PageRef(page or f"list_{prefix}", "html", "sar-2023")
    return Service(prefix, f"Service {prefix}", (ref,), tuple(actions), **kw)


def _versions(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return sorted(
            conn.execute(
                "SELECT i.kind, i.service, i.name, v.field, v.value, v.valid_from, v.valid_to "
                "FROM versions v JOIN items i ON i.id = v.item"
            )
        )


def test_unchanged_release_adds_no_version(tmp_path):
    db = tmp_path / "h.sqlite"
    c1 = _catalog("a", _service("s3", _action("GetObject"), _action("PutObject", level="Write")))
    add_release(db, c1, "2026-01-01")
    before = _versions(db)
    result = add_release(
        db, dataclasses.replace(c1, source=CatalogSource("files", "b", 1, ())), "2026-01-02"
    )
    assert result.added and result.versions_opened == 0 and result.versions_closed == 0
    assert _versions(db) == before  # one row per version, not one per release
    with History.open(db) as h:
        assert h.releases() == ["2026-01-01", "2026-01-02"]


def test_show_first_seen_removed_and_changes_with_diff_kinds(tmp_path):
    db = tmp_path / "h.sqlite"
    get = _action("GetObject", "Grants permission to get", "Read")
    c1 = _catalog("1", _service("s3", get))
    c2 = _catalog(
        "2",
        _service(
            "s3",
            dataclasses.replace(
                get, access_level=AccessLevel.WRITE, access_levels=(AccessLevel.WRITE,)
            ),
            _action("NewThing"),
        ),
    )
    c3 = _catalog("3", _service("s3", _action("NewThing")))
    for c, d in ((c1, "2026-01-01"), (c2, "2026-02-01"), (c3, "2026-03-01")):
        add_release(db, c, d)
    with History.open(db) as h:
        got = h.show("S3:getobject")  # case-insensitive, like IAM
        new = h.show("s3:NewThing")
    assert (got.kind, got.first_seen, got.last_seen, got.removed) == (
        "action",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
    )
    assert [(c.date, c.kind, c.severity, c.field, c.old, c.new) for c in got.changes] == [
        ("2026-02-01", "action_changed", "security", "access_level", "Read", "Write"),
        ("2026-03-01", "action_removed", "breaking", None, None, None),
    ]
    assert (new.first_seen, new.removed) == ("2026-02-01", None)
    assert [(c.kind, c.severity) for c in new.changes] == [("action_added", "info")]


def test_case_only_rename_is_a_name_change_not_a_new_item(tmp_path):
    db = tmp_path / "h.sqlite"
    add_release(db, _catalog("1", _service("s3", _action("Getobject"))), "2026-01-01")
    add_release(db, _catalog("2", _service("s3", _action("GetObject"))), "2026-01-02")
    with History.open(db) as h:
        got = h.show("s3:GetObject")
    assert got.first_seen == "2026-01-01" and got.removed is None
    assert [(c.kind, c.field, c.old, c.new) for c in got.changes] == [
        ("action_changed", "name", "Getobject", "GetObject")
    ]


def test_release_that_does_not_carry_actions_reports_no_change(tmp_path):
    """A page whose actions table the source replaced by a link (2018-2020 markdown,
    diagnostic actions-not-in-source): its actions are not known for that release, so
    history reports neither their removal nor their return, and no field change."""
    db = tmp_path / "h.sqlite"
    get = _action("GetObject", "old words")
    gap = Diagnostic("list_s3", None, Severity.WARNING, "actions-not-in-source", "link only")
    add_release(db, _catalog("1", _service("s3", get)), "2026-01-01")
    add_release(db, _catalog("2", _service("s3"), diagnostics=(gap,)), "2026-01-02")
    add_release(db, _catalog("3", _service("s3", get)), "2026-01-03")
    with History.open(db) as h:
        assert h.log() == []
        got = h.show("s3:GetObject")
    assert (got.first_seen, got.last_seen, got.removed, got.changes) == (
        "2026-01-01",
        "2026-01-03",
        None,
        (),
    )
    # ... and a change across the gap is dated by the first release that shows it.
    add_release(db, _catalog("4", _service("s3"), diagnostics=(gap,)), "2026-01-04")
    add_release(
        db, _catalog("5", _service("s3", dataclasses.replace(get, description="new"))), "2026-01-05"
    )
    with History.open(db) as h:
        assert [(c.date, c.field, c.old, c.new) for c in h.log()] == [
            ("2026-01-05", "description", "old words", "new")
        ]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT DISTINCT release FROM not_carried ORDER BY 1").fetchall() == [
            ("2026-01-02",),
            ("2026-01-04",),
        ]


def test_same_release_twice_is_a_no_op_and_another_catalog_for_a_date_an_error(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    c1 = _catalog("one", _service("s3", _action("GetObject")))
    assert add_release(db, c1, "2026-01-01").added
    assert not add_release(db, c1, "2026-01-01").added
    with pytest.raises(HistoryError, match="already in the history"):
        add_release(db, _catalog("two", _service("s3")), "2026-01-01")
    assert _versions(db)  # untouched
    path = tmp_path / "c.json"
    from iam_catalog.output.writers import dumps_catalog

    path.write_bytes(dumps_catalog(_catalog("two", _service("s3"))))
    assert main(["history", "add", "--db", str(db), "--date", "2026-01-01", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "iam-catalog: error: release 2026-01-01 is already in the history, "
        "from another source (one)"
    ]


def test_add_makes_the_folder_of_a_new_database_and_refuses_a_folder_as_one(tmp_path, capsys):
    """`history add --db NEW/h.sqlite` made no folder: a sqlite3 traceback, exit 1."""
    db = tmp_path / "new" / "deeper" / "h.sqlite"
    args = ["history", "add", "--db", str(db), "--date", "2026-01-01", "fixtures/pages"]
    assert main(args) == 0
    assert db.is_file()
    capsys.readouterr()
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert (
        main(["history", "add", "--db", str(folder), "--date", "2026-01-01", "fixtures/pages"]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"iam-catalog: error: {folder}: ")


def test_bad_date_and_missing_db_exit_2_with_one_line(tmp_path, capsys):
    assert main(["history", "show", "--db", str(tmp_path / "none.sqlite"), "s3"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"iam-catalog: error: {tmp_path / 'none.sqlite'}: no such history database"
    )
    assert (
        main(
            [
                "history",
                "add",
                "--db",
                str(tmp_path / "h.sqlite"),
                "--date",
                "2026-13-01",
                "fixtures/pages",
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr().err.strip() == "iam-catalog: error: 2026-13-01: not a date (YYYY-MM-DD)"
    )
    not_db = tmp_path / "x.sqlite"
    not_db.write_text("hello, not a database at all" * 100)
    assert main(["history", "log", "--db", str(not_db)]) == 2
    assert capsys.readouterr().err.startswith(
        f"iam-catalog: error: {not_db}: not a history database"
    )


def _random_releases(n: int, seed: int) -> list[Catalog]:
    """Small catalogs with every kind of item appearing, changing, going and coming back."""
    rng = random.Random(seed)
    out = []
    for day in range(n):
        actions = [
            _action(
                f"Act{i}",
                f"text {rng.randrange(3)}",
                rng.choice(["Read", "Write", "List"]),
                resource_types=(ResourceTypeRow("thing", rng.random() < 0.5),),
            )
            for i in range(6)
            if rng.random() < 0.8
        ]
        rts = (ResourceType("thing", (f"arn:${{Partition}}:svc:::thing/{rng.randrange(2)}",)),)
        keys = (ConditionKey("svc:Key", "d", (rng.choice(["String", "Bool"]),)),)
        services = [_service("svc", *actions, resource_types=rts, condition_keys=keys)]
        if rng.random() < 0.7:
            services.append(_service("other", _action("Only")))
        out.append(_catalog(f"r{day}", *services))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_add_order_gives_the_same_versions_and_log_equals_diff(tmp_path, seed):
    releases = _random_releases(8, seed)
    dates = [f"2026-01-{d + 1:02d}" for d in range(len(releases))]
    in_order, shuffled = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    for c, d in zip(releases, dates, strict=True):
        add_release(in_order, c, d)
    order = list(range(len(releases)))
    random.Random(seed).shuffle(order)
    for i in order:
        add_release(shuffled, releases[i], dates[i])
    assert _versions(in_order) == _versions(shuffled)
    with History.open(shuffled) as h:
        log = h.log()
    for i in range(1, len(releases)):
        want = sorted(
            (c.kind.value, c.service, c.item, c.field, c.severity.value)
            for c in diff(releases[i - 1], releases[i]).changes
        )
        got = sorted(
            (c.kind, c.service, c.item, c.field, c.severity) for c in log if c.date == dates[i]
        )
        assert got == want, dates[i]
    assert [c.date for c in log] == sorted((c.date for c in log), reverse=True)


def test_log_filters_by_since_service_and_severity(tmp_path):
    db = tmp_path / "h.sqlite"
    add_release(
        db, _catalog("1", _service("s3", _action("A")), _service("ec2", _action("B"))), "2026-01-01"
    )
    add_release(
        db, _catalog("2", _service("s3"), _service("ec2", _action("B"), _action("C"))), "2026-02-01"
    )
    add_release(
        db, _catalog("3", _service("s3", _action("D")), _service("ec2", _action("C"))), "2026-03-01"
    )
    with History.open(db) as h:
        assert [(c.date, c.service, c.kind, c.item) for c in h.log()] == [
            ("2026-03-01", "ec2", "action_removed", "B"),
            ("2026-03-01", "s3", "action_added", "D"),
            ("2026-02-01", "ec2", "action_added", "C"),
            ("2026-02-01", "s3", "action_removed", "A"),
        ]
        assert [c.item for c in h.log(since="2026-02-15")] == ["B", "D"]
        assert [c.item for c in h.log(service="S3")] == ["D", "A"]
        assert [c.item for c in h.log(severities=["breaking"])] == ["B", "A"]


def test_show_json_cli_one_object_per_item_in_order(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    rts = (ResourceType("object", ("arn:${Partition}:s3:::${BucketName}/${ObjectName}",)),)
    keys = (ConditionKey("s3:ResourceTag/${TagKey}", "tags", ("String",)),)
    add_release(
        db,
        _catalog(
            "1", _service("s3", _action("GetObject"), resource_types=rts, condition_keys=keys)
        ),
        "2026-01-01",
    )
    assert (
        main(
            [
                "history",
                "show",
                "--db",
                str(db),
                "s3:GetObject",
                "s3",
                "nope:Nothing",
                "s3/OBJECT",
                "s3:ResourceTag/${TagKey}",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [(o["item"], o["kind"], o["first_seen"], o["removed"]) for o in out] == [
        ("s3:GetObject", "action", "2026-01-01", None),
        ("s3", "service", "2026-01-01", None),
        ("nope:Nothing", None, None, None),
        ("s3/OBJECT", "resource_type", "2026-01-01", None),
        ("s3:ResourceTag/${TagKey}", "condition_key", "2026-01-01", None),
    ]
    assert set(out[0]) == {"item", "kind", "first_seen", "last_seen", "removed", "changes"}


# --------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def html_releases(corpus: Path) -> dict[str, Catalog]:
    """The catalog of every HTML date of the corpus, by date."""
    folders = sorted((corpus / "html").iterdir())
    return {f.name[:10]: build([f]).catalog for f in folders}


@pytest.fixture(scope="module")
def corpus_history(tmp_path_factory, html_releases) -> Path:
    """Every HTML date of the corpus added newest first, the worst order for the store."""
    db = tmp_path_factory.mktemp("history") / "history.sqlite"
    for date in sorted(html_releases, reverse=True):
        add_release(db, html_releases[date], date)
    return db


def test_corpus_first_seen_and_removed_equal_the_catalogs(html_releases, corpus_history):
    dates = sorted(html_releases)
    assert len(dates) == 7
    names = {
        d: {
            f"{s.prefix}:{a.name}".lower(): f"{s.prefix}:{a.name}"
            for s in c.services
            for a in s.actions
        }
        for d, c in html_releases.items()
    }
    # Every action added or removed between two dates (thousands), straight from the catalogs.
    moved = set()
    for a, b in itertools.pairwise(dates):
        moved |= names[a].keys() ^ names[b].keys()
    assert len(moved) > 1000
    with History.open(corpus_history) as h:
        for key in sorted(moved):
            present = [d for d in dates if key in names[d]]
            first, last = present[0], present[-1]
            after = [d for d in dates if d > last]
            removed = next((d for d in after if key not in names[d]), None)
            shown = h.show(key)
            assert (shown.first_seen, shown.last_seen, shown.removed) == (first, last, removed), key


def test_corpus_log_is_exactly_the_diff_of_consecutive_releases(html_releases, corpus_history):
    """History adds no change of its own (none from a format or layout difference that
    diff does not report) and loses none, at every date of the corpus."""
    dates = sorted(html_releases)
    with History.open(corpus_history) as h:
        log = h.log()
    for a, b in itertools.pairwise(dates):
        want = sorted(
            (c.kind.value, c.service.lower(), (c.item or "").lower(), c.field, c.severity.value)
            for c in diff(html_releases[a], html_releases[b]).changes
        )
        got = sorted(
            (c.kind, c.service.lower(), (c.item or "").lower(), c.field, c.severity)
            for c in log
            if c.date == b
        )
        assert got == want, b


def test_backfill_cli_dates_folders_by_name(corpus, tmp_path, capsys, html_releases):
    db = tmp_path / "h.sqlite"
    folders = [corpus / "html" / "2021-03-23_81bccf4c", corpus / "html" / "2020-11-01_65f99eab"]
    assert main(["history", "backfill", "--db", str(db), *map(str, folders)]) == 0
    with History.open(db) as h:
        assert h.releases() == ["2020-11-01", "2021-03-23"]
        got = sorted((c.kind, c.service, c.item, c.field) for c in h.log())
    want = sorted(
        (c.kind.value, c.service, c.item, c.field)
        for c in diff(html_releases["2020-11-01"], html_releases["2021-03-23"]).changes
    )
    assert got == want


def test_field_not_carried_by_one_release_is_never_a_change(tmp_path):
    """AWS's JSON carries no descriptions nor required flags: a release built from it
    between two page releases reports no change of them, and a change across it is dated
    by the first release that shows it."""
    db = tmp_path / "h.sqlite"
    row = ResourceTypeRow("object", True, ("s3:x",))
    get = _action("GetObject", "words", resource_types=(row,))
    json_like = dataclasses.replace(
        get,
        description="",
        resource_types=(ResourceTypeRow("object", False, ("s3:x",)),),
        not_carried=frozenset({"description", "resource_types.required"}),
    )
    add_release(db, _catalog("1", _service("s3", get)), "2026-01-01")
    add_release(db, _catalog("2", _service("s3", json_like)), "2026-01-02")
    with History.open(db) as h:
        assert h.log() == []
    rows2 = (ResourceTypeRow("object", False, ("s3:x",)), ResourceTypeRow("bucket", True))
    changed = dataclasses.replace(get, description="other words", resource_types=rows2)
    add_release(db, _catalog("3", _service("s3", changed)), "2026-01-03")
    with History.open(db) as h:
        got = [(c.date, c.field, c.old, c.new, c.severity) for c in h.log()]
    assert got == [
        ("2026-01-03", "description", "words", "other words", "info"),
        (
            "2026-01-03",
            "resource_types[bucket]",
            None,
            {"name": "bucket", "required": True, "condition_keys": [], "dependent_actions": []},
            "breaking",
        ),
        ("2026-01-03", "resource_types[object].required", True, False, "info"),
    ]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT release, service, kind, field FROM not_carried").fetchall() == [
            ("2026-01-02", "s3", "action", "description"),
            ("2026-01-02", "s3", "action", "resource_types.required"),
        ]


def test_corpus_json_release_between_html_releases_reports_no_format_change(corpus, tmp_path):
    """The 2025-11-01 pages, then AWS's JSON of the same day, then the 2026-04-01 pages:
    nothing the JSON does not carry (descriptions, required flags, permission-only marks,
    API links, dependent actions, service names) shows as a change at its date."""
    db = tmp_path / "h.sqlite"
    html = build([corpus / "html" / "2025-11-01_f2b93173"]).catalog
    aws = build([corpus / "servicereference" / "2025-11-01"]).catalog
    add_release(db, html, "2025-11-01")
    add_release(db, aws, "2025-11-02")
    with History.open(db) as h:
        log = h.log()
    not_json = (
        "description",
        "permission_only",
        "api_reference",
        "dependent_actions",
        "required",
        "name",
    )
    assert log, "the JSON does differ from the pages (actions, keys)"
    bad = [c for c in log if c.field and c.field.split(".")[-1] in not_json]
    assert bad == []
    assert not any(c.kind == "service_changed" for c in log)


def _every_order(tmp_path: Path, releases: dict[str, Catalog]) -> dict[tuple, tuple]:
    """Versions, not-carried rows and log of a history, for every order of adding."""
    out = {}
    for n, order in enumerate(itertools.permutations(releases)):
        db = tmp_path / f"h{n}.sqlite"
        for date in order:
            add_release(db, releases[date], date)
        with History.open(db) as h:
            log = tuple(json.dumps(c.to_dict(), sort_keys=True) for c in h.log())
        with sqlite3.connect(db) as conn:
            gaps = tuple(
                conn.execute(
                    "SELECT n.release, i.kind, i.service, i.name, n.field FROM item_not_carried n "
                    "JOIN items i ON i.id = n.item ORDER BY 1, 2, 3, 4, 5"
                )
            )
        out[order] = (tuple(_versions(db)), gaps, log)
    return out


def test_corpus_july_2026_md_release_between_html_releases_changes_no_dependent_action(
    corpus, tmp_path
):
    """The July 2026 layout (.md, 2026-08) carries no dependent actions: between two
    releases of the same services' HTML it shows no dependent-action change in `log` or
    `show`, in whatever order the three are added (the versions are the same in all six).
    An action without resource-type rows lacks them too (it said nothing of them)."""
    html_2026 = corpus / "html" / "2026-04-01_110d32e3"
    html = build([html_2026 / f"{n}.html" for n in NEW_LAYOUT_SERVICES_HTML]).catalog
    md = build([corpus.joinpath(*NEW_LAYOUT_MD)]).catalog
    assert {s.prefix for s in md.services} == {s.prefix for s in html.services}
    releases = {"2026-04-01": html, "2026-08-01": md, "2026-10-01": html}
    results = _every_order(tmp_path, releases)
    assert len(set(results.values())) == 1
    _versions, item_gaps, log = next(iter(results.values()))
    assert item_gaps == ()  # each service in one layout: its not carried is the service's
    changes = [json.loads(c) for c in log]
    assert changes, "the md pages do differ from the HTML (actions, descriptions)"
    assert [c for c in changes if "dependent" in (c["field"] or "")] == []
    db = tmp_path / "h0.sqlite"
    with sqlite3.connect(db) as conn:
        md_gaps = set(conn.execute("SELECT service, kind, field FROM not_carried"))
    for s in md.services:
        assert (s.prefix, "action", "dependent_actions") in md_gaps
        assert (s.prefix, "action", "resource_types.dependent_actions") in md_gaps
    with History.open(db) as h:
        for s in md.services:
            for a in s.actions:
                shown = h.show(f"{s.prefix}:{a.name}")
                assert not [c for c in shown.changes if "dependent" in (c.field or "")]


def test_a_service_in_two_layouts_records_not_carried_per_item(corpus, tmp_path):
    """A release where some of a service's actions come from a page without dependent
    actions (a service whose pages are in two layouts): recorded for those actions only
    (item_not_carried), so adding the releases in any order gives the same versions and
    the others' dependent actions still count."""
    html = build([corpus / "html" / "2026-04-01_110d32e3" / "list_amazonec2.html"]).catalog
    (ec2,) = html.services
    with_deps = [
        a
        for a in ec2.actions
        if a.dependent_actions or any(r.dependent_actions for r in a.resource_types)
    ]
    assert len(with_deps) > 10
    lacking = {a.name for a in with_deps[::2]}
    no_deps = frozenset({"dependent_actions", "resource_types.dependent_actions"})

    def mixed(a: Action) -> Action:
        if a.name not in lacking:
            return a
        rows = tuple(dataclasses.replace(r, dependent_actions=()) for r in a.resource_types)
        return dataclasses.replace(
            a, dependent_actions=(), resource_types=rows, not_carried=a.not_carried | no_deps
        )

    mid = dataclasses.replace(
        html,
        source=dataclasses.replace(html.source, id="mixed"),
        services=(dataclasses.replace(ec2, actions=tuple(map(mixed, ec2.actions))),),
    )
    kept = with_deps[1]
    later = dataclasses.replace(
        html,
        source=dataclasses.replace(html.source, id="later"),
        services=(
            dataclasses.replace(
                ec2,
                actions=tuple(
                    dataclasses.replace(a, dependent_actions=("ec2:Added",)) if a is kept else a
                    for a in ec2.actions
                ),
            ),
        ),
    )
    releases = {"2026-04-01": html, "2026-08-01": mid, "2026-10-01": later}
    results = _every_order(tmp_path, releases)
    assert len(set(results.values())) == 1
    _versions, item_gaps, log = next(iter(results.values()))
    # ... and the actions without rows, which say nothing of the rows' dependent actions:
    # each with all of its own (after a row of field ''); the many that have the usual
    # set have no rows.
    rowless = {a.name for a in ec2.actions if not a.resource_types} - lacking
    assert rowless
    usual = frozenset(next(a for a in ec2.actions if a.name not in lacking | rowless).not_carried)
    want = set()
    for a in ec2.actions:
        if a.name in lacking | rowless:
            mine = a.not_carried | no_deps if a.name in lacking else a.not_carried
            mine |= {"resource_types.dependent_actions"} if not a.resource_types else set()
            want |= {("2026-08-01", a.name.lower(), f) for f in {"", *mine}}
    assert usual
    assert {(r[0], r[3], r[4]) for r in item_gaps} == want
    changes = [json.loads(c) for c in log]
    # The one real change, dated by the release that shows it; none at the mixed release.
    assert [(c["date"], c["item"], c["field"]) for c in changes] == [
        ("2026-10-01", kept.name, "dependent_actions")
    ]


def test_a_schema_1_database_gains_item_not_carried_when_opened(tmp_path):
    db = tmp_path / "h.sqlite"
    add_release(db, _catalog("1", _service("s3", _action("GetObject"))), "2026-01-01")
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE item_not_carried")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    add_release(db, _catalog("2", _service("s3", _action("GetObject", "other"))), "2026-01-02")
    with History.open(db) as h:
        assert [(c.date, c.field) for c in h.log()] == [("2026-01-02", "description")]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta").fetchall() == [("2",)]
        assert conn.execute("SELECT count(*) FROM item_not_carried").fetchone() == (0,)


def test_every_field_of_the_carried_vocabulary_is_followed_and_read_back(corpus):
    """History follows the fields parsers.carried names (new ones, like AWS's JSON
    SupportedBy, included): an action of AWS's 2026-03-31 JSON read back from its fields
    equals the action, field for field."""
    from iam_catalog.history import items as it

    catalog = build([corpus / "servicereference" / "2026-03-31" / "s3"]).catalog
    (s3,) = catalog.services
    checked = 0
    for key, obs in it.observe(catalog):
        if obs.kind != it.ACTION:
            continue
        fields = obs.fields()
        assert set(fields) == {it.PRESENT, *it.FIELDS[it.ACTION]} - obs.skip, key
        back = it.to_action(fields)
        a = obs.item
        assert back.supported_by == a.supported_by and a.supported_by, key
        # What it does not carry, and (an action without rows) the rows' fields it
        # says nothing of.
        assert a.not_carried <= obs.skip and back.not_carried == obs.skip, key
        for f in it.FIELDS[it.ACTION]:
            if a.carries(f) and "." not in f:
                assert getattr(back, f) == getattr(a, f), (key, f)
        checked += 1
    assert checked == len(s3.actions) > 100
