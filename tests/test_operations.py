"""Nothing lost from AWS's JSON: every operation with every action it needs (other
services' too, with the condition values it sets), its SDK methods, and each action's
SupportedBy land in the catalog (schema version 2), checked against the raw documents."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import BuildResult, build
from iam_catalog.output.writers import dumps_catalog, write_csv
from iam_catalog.parsers.model import CATALOG_SCHEMA, catalog_from_dict

JSON_2026 = ("servicereference", "2026-03-31")
FIXTURES_HTML = Path(__file__).parent.parent / "fixtures" / "html"


@pytest.fixture(scope="module")
def raw(corpus: Path) -> dict[str, Any]:
    """Every raw document of the 2026-03-31 JSON, by its Name."""
    docs = {}
    for path in sorted(corpus.joinpath(*JSON_2026).glob("*/*.json")):
        doc = orjson.loads(path.read_bytes())
        docs[doc["Name"]] = doc
    return docs


@pytest.fixture(scope="module")
def built(corpus: Path) -> BuildResult:
    return build([corpus.joinpath(*JSON_2026)])


def _raw_needs(docs: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (
            prefix.lower(),
            op["Name"],
            a["Service"],
            a["Name"],
            tuple(sorted((k, tuple(v)) for k, v in (a.get("Context") or {}).items())),
        )
        for prefix, doc in docs.items()
        for op in doc.get("Operations") or ()
        for a in op.get("AuthorizedActions") or ()
    )


def test_every_authorized_action_of_every_operation_is_kept(raw, built):
    ours = Counter(
        (s.prefix, o.name, a.service, a.action, a.context)
        for s in built.catalog.services
        for o in s.operations
        for a in o.authorized_actions
    )
    assert ours == _raw_needs(raw)
    other = [n for n in ours.elements() if n[2].lower() != n[0]]
    with_context = [n for n in ours.elements() if n[4]]
    print(
        f"authorized actions {len(ours)}, of other services {len(other)}, "
        f"with context {len(with_context)}"
    )
    assert len(other) == 1280 and len(with_context) == 750
    (advisor,) = [s for s in built.catalog.services if s.prefix == "iotdeviceadvisor"]
    (create,) = [o for o in advisor.operations if o.name == "CreateSuiteDefinition"]
    (pass_role,) = [a for a in create.authorized_actions if a.action == "PassRole"]
    assert pass_role.service == "iam"
    assert pass_role.context == (("iam:PassedToService", ("iotdeviceadvisor.amazonaws.com",)),)
    assert [(m.package, m.client, m.method) for m in create.sdk] == [
        ("Boto3", "iotdeviceadvisor", "create_suite_definition")
    ]


def test_every_operation_and_sdk_method_is_kept(raw, built):
    ops = [o for s in built.catalog.services for o in s.operations]
    raw_ops = [op for doc in raw.values() for op in doc.get("Operations") or ()]
    assert len(ops) == len(raw_ops) == 17567
    sdk = {
        (s.prefix, o.name, m.package, m.client, m.method)
        for s in built.catalog.services
        for o in s.operations
        for m in o.sdk
    }
    assert sdk == {
        (prefix.lower(), op["Name"], m["Package"], m["Name"], m["Method"])
        for prefix, doc in raw.items()
        for op in doc.get("Operations") or ()
        for m in op.get("SDK") or ()
    }
    assert len({(p, o) for p, o, *_ in sdk}) == 17567  # every operation has its methods
    # 1,046 operations authorise no action: kept all the same
    assert sum(not o.authorized_actions for o in ops) == 1046


def test_supported_by_is_kept_on_every_action_that_has_it(raw, built):
    ours = {
        (s.prefix, a.name.lower()): a.supported_by
        for s in built.catalog.services
        for a in s.actions
        if a.supported_by
    }
    want = {
        (prefix.lower(), a["Name"].lower()): tuple(sorted(a["SupportedBy"].items()))
        for prefix, doc in raw.items()
        for a in doc["Actions"]
        if "SupportedBy" in a
    }
    assert ours == want and len(want) == 20596


def test_operations_round_trip_through_catalog_json_and_schema(built):
    data = dumps_catalog(built.catalog)
    parsed = orjson.loads(data)
    jsonschema.validate(parsed, CATALOG_SCHEMA)
    op = next(
        o
        for o in parsed["services"]["iotdeviceadvisor"]["operations"]
        if o["name"] == "CreateSuiteDefinition"
    )
    assert {
        "service": "iam",
        "action": "PassRole",
        "context": {"iam:PassedToService": ["iotdeviceadvisor.amazonaws.com"]},
    } in op["authorized_actions"]
    assert dumps_catalog(catalog_from_dict(parsed)) == data


def test_operations_csv_has_one_row_per_operation(built):
    buf = io.StringIO()
    write_csv(built.catalog, "operations.csv", buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 17567
    (row,) = [
        r
        for r in rows
        if (r["service"], r["operation"]) == ("iotdeviceadvisor", "CreateSuiteDefinition")
    ]
    assert "iam:PassRole" in row["authorized_actions"].split(";")
    assert row["context"] == "iam:PassRole[iam:PassedToService=iotdeviceadvisor.amazonaws.com]"
    assert row["sdk"] == "Boto3 iotdeviceadvisor.create_suite_definition"


def test_pages_do_not_carry_operations_or_supported_by(html_2026):
    s3 = next(s for s in html_2026.catalog.services if s.prefix == "s3")
    assert not s3.carries("operations") and s3.operations == ()
    assert all(not a.carries("supported_by") for a in s3.actions)
    data = orjson.loads(dumps_catalog(html_2026.catalog))
    assert data["services"]["s3"]["operations"] is None
    assert {a["supported_by"] is None for a in data["services"]["s3"]["actions"].values()} == {True}


def test_catalogs_written_before_the_new_fields_read_them_as_not_carried(corpus, tmp_path):
    """A version-2 catalog.json written before operations and SupportedBy had a place
    (no ``operations`` on services, no ``supported_by`` on actions), and a version-1 one,
    load: those fields are not carried (null when written again), never empty."""
    from iam_catalog.output.build import load_catalog
    from tests.conftest import FIXTURES

    one = build([corpus.joinpath(*JSON_2026, "iotdeviceadvisor")]).catalog
    data = orjson.loads(dumps_catalog(one))
    service = data["services"]["iotdeviceadvisor"]
    assert len(service["operations"]) > 0
    assert service["actions"]["CreateSuiteDefinition"]["supported_by"] == {
        "IAM Access Analyzer Policy Generation": True,
        "IAM Action Last Accessed": True,
    }
    del service["operations"]
    for action in service["actions"].values():
        del action["supported_by"]
    older = tmp_path / "catalog.json"
    older.write_bytes(orjson.dumps(data))
    (read,) = load_catalog(older).services
    assert not read.carries("operations") and read.operations == ()
    assert read.actions and all(not a.carries("supported_by") for a in read.actions)
    again = orjson.loads(dumps_catalog(load_catalog(older)))["services"]["iotdeviceadvisor"]
    assert again["operations"] is None
    assert {a["supported_by"] is None for a in again["actions"].values()} == {True}
    # what else it carries is read as it was
    assert [a.name for a in read.actions] == [a.name for a in one.services[0].actions]

    v1 = load_catalog(FIXTURES / "diff" / "old" / "catalog.json")
    assert v1.services and all(not s.carries("operations") for s in v1.services)
    assert all(not a.carries("supported_by") for s in v1.services for a in s.actions)


def test_a_build_of_pages_and_json_takes_operations_and_supported_by_from_the_json(corpus):
    """Pages (no operations before July 2026) and AWS's JSON of the same days: the
    service's operations, with their SDK methods and other services' actions, and each
    action's SupportedBy come from the JSON; descriptions still from the pages."""
    html = corpus / "html" / "2026-04-01_110d32e3" / "list_awsiotcoredeviceadvisor.html"
    alone = build([corpus.joinpath(*JSON_2026, "iotdeviceadvisor")]).catalog.services[0]
    (both,) = build([html, corpus.joinpath(*JSON_2026, "iotdeviceadvisor")]).catalog.services
    assert both.carries("operations") and both.operations == alone.operations
    assert dict(both.field_sources)["service.operations"] == ("json",)
    create = next(a for a in both.actions if a.name == "CreateSuiteDefinition")
    assert create.description.startswith("Grants permission to")  # the page's
    assert create.supported_by == (
        ("IAM Access Analyzer Policy Generation", True),
        ("IAM Action Last Accessed", True),
    )


def test_sqlite_export_holds_operations_authorised_actions_context_sdk_and_supported_by(
    raw, built, tmp_path
):
    import sqlite3

    from iam_catalog.output.exports import export

    out = tmp_path / "catalog.db"
    export("sqlite", built.catalog, out)
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    def count(sql: str) -> int:
        return conn.execute(sql).fetchone()[0]

    assert count("SELECT count(*) FROM api_operations") == 17567
    assert count("SELECT count(*) FROM authorized_actions") == sum(_raw_needs(raw).values())
    assert count("SELECT count(DISTINCT authorized_action_id) FROM authorized_action_context") == (
        750
    )
    assert count("SELECT count(*) FROM sdk_methods") == 18005
    assert count("SELECT count(DISTINCT action_id) FROM action_supported_by") == 20596
    # Which operations pass a role, to which service: iam:PassRole resolved to IAM's action
    rows = conn.execute(
        "SELECT o.operation, o.context, x.action_id IS NOT NULL FROM operation_actions o "
        "JOIN authorized_actions x ON x.action = o.authorized_action "
        "WHERE o.service = 'iotdeviceadvisor' AND o.authorized_action = 'iam:PassRole' "
        "GROUP BY o.operation ORDER BY o.operation"
    ).fetchall()
    assert ("CreateSuiteDefinition", "iam:PassedToService=iotdeviceadvisor.amazonaws.com", 1) in (
        rows
    )
    # the README's query
    passing = conn.execute(
        "SELECT service, operation, context FROM operation_actions "
        "WHERE authorized_action = 'iam:PassRole' AND context IS NOT NULL"
    ).fetchall()
    assert (
        "iotdeviceadvisor",
        "CreateSuiteDefinition",
        "iam:PassedToService=iotdeviceadvisor.amazonaws.com",
    ) in passing
    print(f"operations passing a role with iam:PassedToService set: {len(passing)}")
    # a source without operations (the older HTML): none, and its services say they do
    # not carry them; the July 2026 layout's, without SDK methods
    html_db = tmp_path / "html.db"
    export("sqlite", build([FIXTURES_HTML]).catalog, html_db)
    html = sqlite3.connect(html_db)
    services = dict(html.execute("SELECT prefix, not_carried FROM services"))
    with_ops = {s for (s,) in html.execute("SELECT DISTINCT service FROM api_operations")}
    assert with_ops == {"braket"}
    assert all("operations" in nc.split(",") for p, nc in services.items() if p != "braket")
    assert "operations" not in services["braket"].split(",")
    assert {nc for (nc,) in html.execute("SELECT DISTINCT not_carried FROM api_operations")} == {
        "sdk"
    }


def test_history_follows_operations_and_supported_by_across_releases(corpus, tmp_path):
    """Two releases of iotdeviceadvisor's JSON, the second with CreateSuiteDefinition
    gaining iam:PassRole and an action's SupportedBy changed: history shows both, rated as
    the diff rates them; the HTML release before them (no operations) changes nothing."""
    import json

    from iam_catalog.history import History, add_release

    doc = json.loads(
        corpus.joinpath(*JSON_2026, "iotdeviceadvisor", "iotdeviceadvisor.json").read_text()
    )
    old = json.loads(json.dumps(doc))
    create = next(o for o in old["Operations"] if o["Name"] == "CreateSuiteDefinition")
    create["AuthorizedActions"] = [
        a for a in create["AuthorizedActions"] if a["Name"] != "PassRole"
    ]
    old["Actions"][0]["SupportedBy"]["IAM Action Last Accessed"] = False
    releases = []
    for i, d in enumerate((old, doc)):
        folder = tmp_path / f"r{i}" / "iotdeviceadvisor"
        folder.mkdir(parents=True)
        (folder / "iotdeviceadvisor.json").write_text(json.dumps(d))
        releases.append(build([folder.parent]).catalog)
    html = corpus / "html" / "2026-04-01_110d32e3" / "list_awsiotcoredeviceadvisor.html"
    db = tmp_path / "history.sqlite"
    add_release(db, build([html]).catalog, "2026-01-01")
    add_release(db, releases[0], "2026-02-01")
    add_release(db, releases[1], "2026-03-01")
    with History.open(db) as h:
        service = h.show("iotdeviceadvisor")
        action = h.show(f"iotdeviceadvisor:{doc['Actions'][0]['Name']}")
    assert [(c.date, c.field, c.severity) for c in service.changes] == [
        ("2026-03-01", "operations[CreateSuiteDefinition].authorized_actions", "security"),
        ("2026-03-01", "operations[CreateSuiteDefinition].context", "info"),
    ]
    assert [(c.date, c.field, c.new) for c in action.changes if c.field == "supported_by"] == [
        (
            "2026-03-01",
            "supported_by",
            ["IAM Access Analyzer Policy Generation=true", "IAM Action Last Accessed=true"],
        )
    ]
