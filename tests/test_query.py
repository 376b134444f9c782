"""Queries (iam_catalog.query): answers equal sets computed from the catalog model here,
independently of the SQL; IAM's ARN rules incl. cases other tools got wrong; the SQLite
export opens in sqlite3 with its foreign keys, views and full-text search."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import sqlite3

import pytest

from iam_catalog.output.cli import main
from iam_catalog.query import Catalog
from iam_catalog.query.arn import arn_matches
from iam_catalog.query.store import write_store

SERVICES = ["s3", "ec2", "iam", "kms", "dynamodb", "lambda", "sts", "sqs", "bedrock"]
LEVELS = {
    "read": "Read",
    "write": "Write",
    "list": "List",
    "tagging": "Tagging",
    "permissions-management": "Permissions management",
}


@pytest.fixture(scope="module")
def model(html_2026):
    return html_2026.catalog


@pytest.fixture(scope="module")
def cat(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "catalog.db"
    write_store(model, path)
    return Catalog.load(path)


def test_access_level_sets_equal_the_model(model, cat):
    by = {s.prefix: s for s in model.services}
    checked = 0
    for prefix in SERVICES:
        for option, level in LEVELS.items():
            want = {
                f"{prefix}:{a.name}"
                for a in by[prefix].actions
                if level in {lv.value for lv in a.access_levels} | {a.access_level}
            }
            got = {m.action for m in cat.actions(service=prefix, access_level=option)}
            assert got == want, (prefix, option)
            checked += bool(want)
    assert checked >= 30  # most pairs are not empty


def test_condition_key_sets_equal_the_model_with_resource_type_join(model, cat):
    keys = [
        "aws:ResourceTag/${TagKey}",
        "aws:RequestTag/${TagKey}",
        "s3:x-amz-acl",
        "kms:ViaService",
        "iam:PassedToService",
        "ec2:Region",
    ]
    for key in keys:
        want = set()
        for s in model.services:
            rt_keys = {
                r.name.lower(): {k.lower() for k in r.condition_keys} for r in s.resource_types
            }
            for a in s.actions:
                own = {k.lower() for k in a.condition_keys}
                for row in a.resource_types:
                    own |= {k.lower() for k in row.condition_keys}
                    own |= rt_keys.get(row.name.lower(), set())
                if key.lower() in own:
                    want.add(f"{s.prefix}:{a.name}")
        got = {m.action for m in cat.actions(condition_key=key)}
        assert got == want, key
        assert want, key
    ec2 = cat.actions(service="ec2", condition_key="aws:ResourceTag/${TagKey}")
    assert len(ec2) == 526  # the naive row-level count was 488 (issue 15)
    # A row lists only the keys it adds beyond its resource type's own (issue 13): the
    # actions that name the key themselves, on a row or at action level, are the model's.
    (model_ec2,) = [s for s in model.services if s.prefix == "ec2"]
    direct = {
        a.name
        for a in model_ec2.actions
        if "aws:resourcetag/${tagkey}"
        in {k.lower() for k in a.condition_keys}
        | {k.lower() for r in a.resource_types for k in r.condition_keys}
    }
    assert {m.action.partition(":")[2] for m in ec2 if "row" in m.via or "action" in m.via} == (
        direct
    )


def test_expand_equals_fnmatch_on_the_model(model, cat):
    names = [f"{s.prefix}:{a.name}" for s in model.services for a in s.actions]
    for pattern in ["s3:Get*", "*:CreateTags", "ec2:Describe?ags", "IAM:*policy*", "kms:*"]:
        want = sorted(
            (n for n in names if fnmatch.fnmatchcase(n.lower(), pattern.lower())),
            key=lambda n: (n.lower(), n),
        )
        assert cat.expand(pattern) == want, pattern
        assert want
    inverted = cat.expand("s3:*", "ec2:*", invert=True)
    assert len(inverted) == len(names) - len(cat.expand("s3:*", "ec2:*"))
    assert not any(n.lower().startswith(("s3:", "ec2:")) for n in inverted)


ARNS = {
    # policy_sentry #215/#237: a table is a table, not its stream, index or backup
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders": {("dynamodb", "table")},
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000": {
        ("dynamodb", "stream")
    },
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/by-date": {("dynamodb", "index")},
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/01234567890123-abcdefgh": {
        ("dynamodb", "backup")
    },
    # policy_sentry #237: an IAM role with a path
    "arn:aws:iam::123456789012:role/dev/team/deployer": {("iam", "role")},
    # parliament #32: a resource with a colon and a slash
    "arn:aws:redshift:us-west-2:123456789012:dbuser:the_cluster/the_user": {("redshift", "dbuser")},
    # parliament #134: empty partition/region/account match only where the format is empty
    "arn:::::trail/my-trail": set(),
    "arn:aws:s3:::my-bucket": {("s3", "bucket")},
    "arn:aws:s3:::my-bucket/photos/cat.jpg": {("s3", "object")},
    "arn:aws:sqs:us-east-1:123456789012:my-queue": {("sqs", "queue")},
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": {("kms", "key")},
}


def test_match_arn_cases_other_tools_got_wrong(cat):
    for arn, want in ARNS.items():
        got = {(m.service, m.resource_type) for m in cat.match_arn(arn)}
        # ARN formats shared by another service's page (ssm lists s3's bucket) may add rows
        own = {pair for pair in got if pair[0] in {w[0] for w in want}} if want else got
        assert own == want, arn


def test_match_arn_actions_equal_the_model(model, cat):
    s3 = next(s for s in model.services if s.prefix == "s3")
    want = sorted(
        f"s3:{a.name}" for a in s3.actions if any(r.name == "object" for r in a.resource_types)
    )
    (obj,) = [m for m in cat.match_arn("arn:aws:s3:::b/k") if m.service == "s3"]
    assert list(obj.actions) == want


def test_arn_wildcards_follow_iam():
    obj = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
    bucket = "arn:${Partition}:s3:::${BucketName}"
    assert arn_matches(obj, "arn:aws:s3:::my-bucket/*")
    assert not arn_matches(bucket, "arn:aws:s3:::my-bucket/*")
    assert arn_matches(bucket, "arn:aws:s3:::*") and arn_matches(obj, "arn:aws:s3:::*")
    assert arn_matches(bucket, "arn:aws-cn:s3:::b") and not arn_matches(
        bucket, "arn:aws:s3:us-east-1::b"
    )
    rds = "arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}"
    assert arn_matches(rds, "arn:aws:rds:us-west-?:123456789012:db:*")  # parliament #220
    assert not arn_matches(rds, "arn:aws:rds::123456789012:db:x")


def test_action_lookup_is_typed_and_case_insensitive(model, cat):
    s3 = next(s for s in model.services if s.prefix == "s3")
    want = next(a for a in s3.actions if a.name == "GetObject")
    got = cat.action("S3:getobject")
    assert got == want
    assert cat.action("s3:NoSuchAction") is None
    by = {s.prefix: s for s in model.services}
    for prefix in SERVICES:  # every field, not carried ones included, of ~2,000 actions
        for a in by[prefix].actions:
            assert cat.action(f"{prefix}:{a.name}") == a, a.name


def test_cli_query_json_and_exit_codes(model, tmp_path, capsys):
    db = tmp_path / "c.db"
    write_store(model, db)
    assert (
        main(
            [
                "query",
                "actions",
                "--catalog",
                str(db),
                "--service",
                "s3",
                "--access-level",
                "tagging",
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out and all(
        {"action", "access_levels", "resource_types", "condition_keys"} <= set(o) for o in out
    )
    assert all("Tagging" in o["access_levels"] for o in out)
    assert main(["query", "expand", "--catalog", str(db), "s3:Get*", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == sorted(
        json.loads(json.dumps(Catalog.load(db).expand("s3:Get*"))), key=lambda n: (n.lower(), n)
    )
    assert main(["query", "actions", "--catalog", str(db), "--access-level", "admin"]) == 2
    assert capsys.readouterr().err.startswith("iam-catalog: error: admin: not an access level")
    assert main(["query", "arn", "--catalog", str(db), "not-an-arn"]) == 2


def test_sqlite_export_opens_with_foreign_keys_views_and_fts(model, tmp_path):
    out = tmp_path / "catalog.db"
    assert main(["export", "sqlite", str(tmp_path / "missing.json"), "--output", str(out)]) == 2
    from iam_catalog.output.exports import export

    export("sqlite", model, out)
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    n_actions = sum(len(s.actions) for s in model.services)
    assert conn.execute("SELECT count(*) FROM actions").fetchone()[0] == n_actions
    n_rows = sum(len(a.resource_types) for s in model.services for a in s.actions)
    assert conn.execute("SELECT count(*) FROM action_rows").fetchone()[0] == n_rows
    hits = {
        a
        for (a,) in conn.execute(
            "SELECT action FROM actions_fts "
            "WHERE actions_fts MATCH 'description:\"multipart upload\"'"
        )
    }
    want = {
        f"{s.prefix}:{a.name}"
        for s in model.services
        for a in s.actions
        if re.search(r"\bmultipart\W+upload\b", a.description, re.I)
    }
    assert hits == want and want
    fks = conn.execute("PRAGMA foreign_key_list(action_resource_types)").fetchall()
    assert {(r[2], r[3]) for r in fks} == {
        ("actions", "action_id"),
        ("resource_types", "resource_type_id"),
    }


def test_cold_process_query_reads_the_store_not_the_json(model, tmp_path):
    """The figure itself comes from make bench; here: the store is made once per content."""
    from iam_catalog.output.writers import dumps_catalog

    path = tmp_path / "catalog.json"
    path.write_bytes(dumps_catalog(model))
    import os

    os.environ["IAM_CATALOG_CACHE"] = str(tmp_path / "cache")
    try:
        Catalog.load(path).close()
        assert len(list((tmp_path / "cache").glob("*.sqlite"))) == 1
        Catalog.load(path).close()
        assert len(list((tmp_path / "cache").glob("*.sqlite"))) == 1
    finally:
        del os.environ["IAM_CATALOG_CACHE"]


def test_readme_python_api_example_runs(corpus, tmp_path, monkeypatch, capsys):
    import re as _re

    from iam_catalog.output.build import build
    from iam_catalog.output.writers import write_catalog_dir

    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (code,) = _re.findall(r"```python\n(.*?)```", readme, _re.S)
    pages = corpus / "html" / "2026-04-01_110d32e3"
    catalog = build([pages / "list_amazons3.html", pages / "list_amazonec2.html"]).catalog
    write_catalog_dir(catalog, tmp_path / "build" / "catalog")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IAM_CATALOG_CACHE", str(tmp_path / "cache"))
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "GetObject Read ['accesspointobject', 'object']"
    assert (
        out[2]
        == "['s3:GetAccelerateConfiguration', 's3:GetAccessGrant', 's3:GetAccessGrantsInstance']"
    )
    assert out[3] == "[('s3', 'object')]"
    assert out[4] == "2026-12-01"


def test_cli_query_csv_defuses_formula_cells_as_the_catalog_csvs_do(model, tmp_path, capsys):
    """`query ... --format csv` is read by spreadsheets too: a description that starts a
    formula gets the ' the catalog's own CSVs give it (output.writers.defuse)."""
    from dataclasses import replace

    s3 = next(s for s in model.services if s.prefix == "s3")
    key = replace(s3.condition_keys[0], description='=HYPERLINK("http://x","y")')
    s3 = replace(s3, condition_keys=(key, *s3.condition_keys[1:]))
    hostile = replace(model, services=tuple(s3 if s.prefix == "s3" else s for s in model.services))
    db = tmp_path / "c.db"
    write_store(hostile, db)
    args = ["query", "condition-keys", "--catalog", str(db), "--service", "s3", "--format", "csv"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "service,name,types,description"
    (row,) = [line for line in lines if f",{key.name}," in line]
    assert row.endswith(',"\'=HYPERLINK(""http://x"",""y"")"')


def test_every_action_lists_equal_the_model(model, cat):
    """`query actions` reads each action's lists from one row of the store (action_lists):
    for all 20,727 actions they equal the model's, the keys joined through the resource
    types here."""
    got = {m.action: m for m in cat.actions()}
    assert len(got) == sum(len(s.actions) for s in model.services) > 20000
    for s in model.services:
        rt_keys = {}
        for r in s.resource_types:
            rt_keys.setdefault(r.name.lower(), r.condition_keys)
        for a in s.actions:
            m = got[f"{s.prefix}:{a.name}"]
            keys = set(a.condition_keys)
            for row in a.resource_types:
                keys |= set(row.condition_keys) | set(rt_keys.get(row.name.lower(), ()))
            assert set(m.condition_keys) == keys, m.action
            assert list(m.condition_keys) == sorted(keys, key=str.lower), m.action
            assert list(m.resource_types) == list(dict.fromkeys(r.name for r in a.resource_types))
            levels = {lv.value for lv in a.access_levels} | (
                {a.access_level.value} if a.access_level else set()
            )
            assert set(m.access_levels) == levels, m.action
            assert m.via == ()


def test_cli_json_is_what_json_dumps_with_indent_writes(model, tmp_path, capsys):
    db = tmp_path / "c.db"
    write_store(model, db)
    cat = Catalog.load(db)
    args = ["query", "actions", "--catalog", str(db), "--service", "ec2"]
    assert main([*args, "--condition-key", "aws:ResourceTag/${TagKey}", "--format", "json"]) == 0
    found = cat.actions(service="ec2", condition_key="aws:ResourceTag/${TagKey}")
    want = [dataclasses.asdict(m) for m in found]
    assert capsys.readouterr().out == json.dumps(want, indent=2, ensure_ascii=False) + "\n"
    assert main([*args, "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [m.action for m in cat.actions(service="ec2")]
    # Columns are padded up to a cap, not to the longest list of the answer.
    assert lines[0].index("resource_types") <= 2 * (48 + 2)
    assert max(map(len, lines)) > 48 * 4


def test_a_store_of_another_version_is_refused_in_one_line(model, tmp_path, capsys):
    db = tmp_path / "old.db"
    write_store(model, db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'store_version'")
    conn.commit()
    conn.close()
    assert main(["query", "services", "s3", "--catalog", str(db)]) == 2
    assert capsys.readouterr().err == (
        f"iam-catalog: error: {db}: a catalog store of version 1, this iam-catalog reads "
        "version 2 (export it again)\n"
    )
