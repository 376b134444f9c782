"""Exports, tested by running the consuming tools themselves (policy_sentry and parliament,
installed from PyPI as dev dependencies) on what we write, each in a child process that
reads our file where a user of that tool would put it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iam_catalog.output.exports import EXPORTS, export
from iam_catalog.output.exports import policy_sentry as ps_export
from iam_catalog.parsers.model import AccessLevel, Catalog, Service

LEVELS = [level.value for level in AccessLevel]

# --------------------------------------------------------------------------- policy_sentry

PS_QUERIES = """
import json, sys
from policy_sentry.querying.all import get_all_service_prefixes
from policy_sentry.querying.actions import get_actions_for_service, get_actions_with_access_level
from policy_sentry.querying.arns import get_arn_types_for_service
from policy_sentry.querying.conditions import get_condition_keys_for_service
from policy_sentry.shared.iam_data import iam_definition_path
levels = json.loads(sys.argv[1])
out = {"path": str(iam_definition_path), "services": {}}
for p in sorted(get_all_service_prefixes()):
    out["services"][p] = {
        "actions": get_actions_for_service(p),
        "levels": {level: get_actions_with_access_level(p, level) for level in levels},
        "arns": get_arn_types_for_service(p),
        "keys": get_condition_keys_for_service(p),
    }
json.dump(out, sys.stdout)
"""


def _policy_sentry_home(tmp: Path, catalog: Catalog) -> Path:
    """A HOME whose ~/.policy_sentry/iam-definition.json is our export (where the README
    tells a policy_sentry user to put it), written by the export command's edge."""
    home = tmp / "home"
    export("policy-sentry", catalog, home / ".policy_sentry" / "iam-definition.json")
    return home


def _run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, "HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ps_answers(home: Path) -> dict:
    result = _run([sys.executable, "-c", PS_QUERIES, json.dumps(LEVELS)], home)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def _expected_ps(service: Service) -> dict:
    """What policy_sentry's functions must answer for ``service``, from the catalog."""
    p = service.prefix
    return {
        "actions": sorted(f"{p}:{a.name}" for a in service.actions),
        "levels": {
            level: sorted(
                f"{p}:{a.name}"
                for a in service.actions
                if a.access_level is not None and a.access_level.value == level
            )
            for level in LEVELS
        },
        "arns": {r.name: r.arn_formats[0] for r in service.resource_types},
        "keys": sorted(k.name for k in service.condition_keys),
    }


@pytest.fixture(scope="module")
def json_2026(corpus: Path):
    """Catalog of AWS's JSON of 2026-03-31 (several access levels per action)."""
    from iam_catalog.output.build import build

    return build([corpus / "servicereference" / "2026-03-31"]).catalog


@pytest.mark.parametrize("which", ["html_2026", "json_2026"])
def test_policy_sentry_functions_on_our_export_answer_as_the_catalog(request, which, tmp_path):
    catalog: Catalog = request.getfixturevalue(which)
    catalog = getattr(catalog, "catalog", catalog)
    home = _policy_sentry_home(tmp_path, catalog)
    answers = _ps_answers(home)
    assert answers["path"] == str(home / ".policy_sentry" / "iam-definition.json")
    assert sorted(answers["services"]) == sorted(s.prefix for s in catalog.services)
    counts = dict.fromkeys(("actions", "levels", "arns", "keys"), 0)
    for service in catalog.services:
        got = answers["services"][service.prefix]
        want = _expected_ps(service)
        assert sorted(got["actions"]) == want["actions"], service.prefix
        for level in LEVELS:
            assert sorted(got["levels"][level]) == want["levels"][level], (service.prefix, level)
        assert got["arns"] == want["arns"], service.prefix
        assert sorted(got["keys"]) == want["keys"], service.prefix
        counts["actions"] += len(got["actions"])
        counts["levels"] += sum(len(v) for v in got["levels"].values())
        counts["arns"] += len(got["arns"])
        counts["keys"] += len(got["keys"])
    # every action has one level in policy_sentry's schema, so the level answers cover
    # exactly the actions whose source gives a level
    with_level = sum(1 for s in catalog.services for a in s.actions if a.access_level)
    assert counts["levels"] == with_level
    assert counts["actions"] == sum(len(s.actions) for s in catalog.services) > 15_000
    if which == "json_2026":
        # AWS's JSON flags several levels on ~1,100 actions; the export writes the most
        # specific one (e.g. "Permissions management" over "Write")
        several = [a for s in catalog.services for a in s.actions if len(a.access_levels) > 1]
        assert len(several) > 1000
        assert all(a.access_level in a.access_levels for a in several)


def test_policy_sentry_write_policy_on_our_export_grants_what_the_catalog_says(html_2026, tmp_path):
    catalog = html_2026.catalog
    home = _policy_sentry_home(tmp_path, catalog)
    crud = tmp_path / "crud.yml"
    bucket = "arn:aws:s3:::mybucket"
    crud.write_text(
        f"mode: crud\nname: test\nread:\n- {bucket}\nwrite:\n- {bucket}\n"
        f"permissions-management:\n- {bucket}\n",
        encoding="utf-8",
    )
    tool = Path(sys.executable).parent / "policy_sentry"
    result = _run([str(tool), "write-policy", "--input-file", str(crud)], home)
    assert result.returncode == 0, result.stderr[-2000:]
    policy = json.loads(result.stdout)
    by_sid = {st["Sid"]: st for st in policy["Statement"]}
    s3 = next(s for s in catalog.services if s.prefix == "s3")
    on_bucket = {
        a.name.lower() for a in s3.actions if any(r.name == "bucket" for r in a.resource_types)
    }
    anywhere: set[str] = set()
    for sid, level in (
        ("S3ReadBucket", "Read"),
        ("S3WriteBucket", "Write"),
        ("S3PermissionsmanagementBucket", "Permissions management"),
    ):
        actions = [
            a
            for a in s3.actions
            if a.access_level is not None
            and a.access_level.value == level
            and a.name.lower() in on_bucket
        ]
        assert actions, level
        names = {f"s3:{a.name}".lower() for a in actions}
        # policy_sentry adds each chosen action's dependent actions: beside it when they
        # take the same resource type, else in a statement on "*"
        deps = {
            d.lower()
            for a in actions
            for d in (
                *a.dependent_actions,
                *(x for r in a.resource_types for x in r.dependent_actions),
            )
        } - names
        same = {d for d in deps if d.startswith("s3:") and d[3:] in on_bucket}
        anywhere |= deps - same
        assert {x.lower() for x in by_sid[sid]["Action"]} == names | same, sid
        assert by_sid[sid]["Resource"] == [bucket]
    assert anywhere, "the 2026 S3 bucket actions have dependent actions on other services"
    assert {x.lower() for x in by_sid["MultMultNone"]["Action"]} == anywhere
    assert by_sid["MultMultNone"]["Resource"] == ["*"]


def test_policy_sentry_export_writes_one_row_per_name_and_the_first_arn(html_2026):
    services = {s.prefix: s for s in html_2026.catalog.services}
    entry = ps_export.service_entry(services["directconnect"])
    rows = entry["privileges"]["AssociateHostedConnection"]["resource_types"]
    # the page lists dxcon twice (required, then optional): one row, required
    assert sorted(rows) == ["dxcon", "dxlag"]
    assert rows["dxcon"]["required"] is True
    api = ps_export.service_entry(services["apigateway"])
    authorizer = next(r for r in services["apigateway"].resource_types if r.name == "Authorizer")
    assert len(authorizer.arn_formats) == 2
    assert api["resources"]["Authorizer"]["arn"] == authorizer.arn_formats[0]
    # an action with no resource type has only policy_sentry's wildcard row ""
    s3 = ps_export.service_entry(services["s3"])
    assert list(s3["privileges"]["ListAllMyBuckets"]["resource_types"]) == [""]
    assert s3["service_authorization_url"].endswith("/list_amazons3.html")


def test_exports_write_the_same_bytes_twice_and_are_listed_in_help(html_2026, tmp_path):
    from iam_catalog.output.cli import main

    for name in ("policy-sentry", "parliament"):
        assert name in EXPORTS
        a, b = tmp_path / f"{name}-a.json", tmp_path / f"{name}-b.json"
        export(name, html_2026.catalog, a)
        export(name, html_2026.catalog, b)
        assert a.read_bytes() == b.read_bytes()
        assert len(a.read_bytes()) > 5_000_000
    with pytest.raises(SystemExit):
        main(["export", "--help"])


# --------------------------------------------------------------------------- parliament

PARLIAMENT_EXPAND = """
import json, sys
import parliament
from parliament import expand_action
out = {"path": parliament.iam_definition_path, "services": {}}
for prefix in json.loads(sys.argv[1]):
    out["services"][prefix] = sorted(a["action"] for a in expand_action(prefix + ":*"))
json.dump(out, sys.stdout)
"""


def _installed_parliament() -> Path:
    import parliament

    return Path(parliament.__file__).parent


def _parliament_with(tmp: Path, catalog: Catalog) -> Path:
    """A copy of the installed parliament package whose iam_definition.json is our export
    (what the README's command does to the installed package), on a PYTHONPATH of its own."""
    root = tmp / "site"
    shutil.copytree(
        _installed_parliament(), root / "parliament", ignore=shutil.ignore_patterns("__pycache__")
    )
    export("parliament", catalog, root / "parliament" / "iam_definition.json")
    return root


def _parliament(policy: dict, home: Path, pythonpath: str | None) -> list[dict]:
    env = {"PYTHONPATH": pythonpath} if pythonpath else {}
    result = _run(
        [sys.executable, "-m", "parliament.cli", "--string", json.dumps(policy), "--json"],
        home,
        **env,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_parliament_on_our_export_knows_newer_actions_and_still_flags_unknown_ones(
    html_2026, tmp_path
):
    catalog = html_2026.catalog
    shipped = json.loads((_installed_parliament() / "iam_definition.json").read_text())
    known = {(s["prefix"], p["privilege"].lower()) for s in shipped for p in s["privileges"]}
    known_prefixes = {s["prefix"] for s in shipped}
    # an action of a service parliament's data does not know at all, and a newer
    # action of a service it knows, both in our catalog
    new_service = next(s for s in catalog.services if s.prefix not in known_prefixes)
    new_action = next(
        (s.prefix, a.name)
        for s in catalog.services
        if s.prefix in known_prefixes
        for a in s.actions
        if (s.prefix, a.name.lower()) not in known
    )
    wanted = [
        f"{new_service.prefix}:{new_service.actions[0].name}",
        f"{new_action[0]}:{new_action[1]}",
        "s3:GetObject",
        "s3:NoSuchActionAnywhere",
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": wanted, "Resource": "*"}],
    }
    site = _parliament_with(tmp_path, catalog)
    ours = _parliament(policy, tmp_path, str(site))
    theirs = _parliament(policy, tmp_path, None)

    def unknown(findings: list[dict]) -> set[str]:
        return {
            f["location"]["string"]
            for f in findings
            if f["issue"] in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX")
        }

    assert unknown(ours) == {"s3:NoSuchActionAnywhere"}
    assert unknown(theirs) == {wanted[0], wanted[1], "s3:NoSuchActionAnywhere"}


def test_parliament_expands_every_service_of_our_export_to_the_catalog_actions(html_2026, tmp_path):
    catalog = html_2026.catalog
    site = _parliament_with(tmp_path, catalog)
    prefixes = [s.prefix for s in catalog.services if s.actions]
    result = _run(
        [sys.executable, "-c", PARLIAMENT_EXPAND, json.dumps(prefixes)],
        tmp_path,
        PYTHONPATH=str(site),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    got = json.loads(result.stdout)
    assert got["path"] == str(site / "parliament" / "iam_definition.json")
    for service in catalog.services:
        if service.actions:
            assert got["services"][service.prefix] == sorted(a.name for a in service.actions)
    assert sum(len(v) for v in got["services"].values()) == sum(
        len(s.actions) for s in catalog.services
    )


# --------------------------------------------------------------------------- aws-json


def _comparable(doc: dict, *, dedupe: bool = True) -> dict:
    """An AWS document as the catalog holds it: every field, but (``dedupe``) with exact
    duplicates in its key lists dropped (the catalog keeps a key once, with a diagnostic)
    and, on an action's resource-type row, without the resource type's own keys that AWS
    repeats on some rows (schema 2: a row's keys are those beyond its type's own)."""

    def unique(values: list) -> list:
        if not dedupe:
            return values
        out: list = []
        for v in values:
            if v not in out:
                out.append(v)
        return out

    out = json.loads(json.dumps(doc))
    own_keys = {
        r["Name"].lower(): {k.lower() for k in r.get("ConditionKeys", [])}
        for r in out.get("Resources", [])
    }
    for action in out.get("Actions", []):
        for row in action.get("Resources", []):
            if "ConditionKeys" in row:
                kept = [
                    k
                    for k in row["ConditionKeys"]
                    if k.lower() not in own_keys.get(row["Name"].lower(), set())
                ]
                if kept:
                    row["ConditionKeys"] = kept
                else:
                    del row["ConditionKeys"]
        if "ActionConditionKeys" in action:
            action["ActionConditionKeys"] = unique(action["ActionConditionKeys"])
    return out


def test_aws_json_round_trip_of_the_2026_json_corpus_equals_the_input(json_2026, corpus, tmp_path):
    """AWS JSON -> catalog -> export: every document equals its input, in AWS's order
    (lists, keys): actions with their access-level flags, keys, rows and SupportedBy;
    resource types; condition keys; every operation (those authorising nothing too) with
    every action it authorises, other services' included, their Context and the SDK
    methods; the version."""
    folder = tmp_path / "aws-json"
    export("aws-json", json_2026, folder)
    root = corpus / "servicereference" / "2026-03-31"
    inputs = sorted(root.glob("*/*.json"))
    assert len(inputs) == 455
    written = sorted(folder.glob("*/*.json"))
    assert [p.relative_to(folder) for p in written] == [p.relative_to(root) for p in inputs]
    with_duplicates, exact, operations, sdk, supported, repeated = [], 0, 0, 0, 0, 0
    for path in inputs:
        source = json.loads(path.read_bytes())
        ours = json.loads((folder / path.parent.name / path.name).read_bytes())
        assert ours == _comparable(source), path.parent.name
        exact += ours == source
        operations += len(ours.get("Operations", []))
        sdk += sum(len(o.get("SDK", [])) for o in ours.get("Operations", []))
        supported += sum("SupportedBy" in a for a in ours["Actions"])
        if _comparable(source) != _comparable(source, dedupe=False):
            with_duplicates.append(path.parent.name)
        own = {
            r["Name"].lower(): {k.lower() for k in r.get("ConditionKeys", [])}
            for r in source.get("Resources", [])
        }
        repeated += sum(
            any(k.lower() in own.get(row["Name"].lower(), ()) for k in row.get("ConditionKeys", []))
            for a in source["Actions"]
            for row in a.get("Resources", [])
        )
    assert (operations, sdk, supported) == (17567, 18005, 20596)
    assert (exact, repeated) == (429, 1381)  # the rest: the rows repeating their type's keys
    # AWS's own duplicates: s3 and sagemaker list a key twice on an action
    assert with_duplicates == ["s3", "sagemaker"]
    print(f"aws-json round trip: {exact} of {len(inputs)} documents equal to the input whole")


def _json_fields(catalog: Catalog) -> dict:
    """Every field AWS's JSON can carry, per service, from a catalog."""
    out = {}
    for s in catalog.services:
        out[s.prefix] = {
            "actions": {
                a.name: (
                    a.access_level,
                    tuple(a.condition_keys),
                    tuple((r.name, tuple(r.condition_keys)) for r in a.resource_types),
                    tuple(a.operations) if a.carries("operations") else None,
                    a.supported_by if a.carries("supported_by") else None,
                )
                for a in s.actions
            },
            "operations": tuple(
                (o.name, o.authorized_actions, o.sdk if o.carries("sdk") else None)
                for o in s.operations
            )
            if s.carries("operations")
            else None,
            "resource_types": {
                r.name: (tuple(r.arn_formats), tuple(r.condition_keys)) for r in s.resource_types
            },
            "condition_keys": {k.name: tuple(k.types) for k in s.condition_keys},
        }
    return out


def test_aws_json_of_the_2026_pages_read_back_keeps_every_field_the_json_carries(
    html_2026, tmp_path
):
    """HTML -> catalog -> export -> catalog: action names, access levels, resource rows
    with their keys, the action's own keys, resource types with ARNs and keys, condition
    keys with types, all as the pages say."""
    from iam_catalog.output.build import build

    catalog = html_2026.catalog
    folder = tmp_path / "aws-json"
    export("aws-json", catalog, folder)
    back = build([folder]).catalog
    assert back.source.formats == (("service-reference", len(catalog.services)),)
    assert _json_fields(back) == _json_fields(catalog)
    assert sum(len(s.actions) for s in back.services) == sum(
        len(s.actions) for s in catalog.services
    )
    # the HTML of 2026-04 has no operations: none are written, none read back
    assert all(not a.carries("operations") for s in catalog.services for a in s.actions)
    docs = [json.loads(p.read_bytes()) for p in folder.glob("*/*.json")]
    assert docs and all("Operations" not in d and d["Version"] == "v1.3" for d in docs)


def test_aws_json_of_the_july_2026_pages_read_back_keeps_their_operations(corpus, tmp_path):
    """.md (July 2026 layout) -> catalog -> export -> catalog: the operations with every
    action they authorise (iam:PassRole too) and the values they set come back; their SDK
    methods, which the layout does not carry, come back not carried, not empty."""
    from iam_catalog.output.build import build

    catalog = build([corpus / "new-layout-md" / "2026-08_8d3f1c7"]).catalog
    folder = tmp_path / "aws-json"
    export("aws-json", catalog, folder)
    back = build([folder]).catalog
    assert _json_fields(back) == _json_fields(catalog)
    ops = [o for s in back.services for o in s.operations]
    assert len(ops) == 43 and all(not o.carries("sdk") for o in ops)
    braket = json.loads((folder / "braket" / "braket.json").read_bytes())
    create = next(o for o in braket["Operations"] if o["Name"] == "CreateJob")
    assert (
        "SDK" not in create
        and {
            "Name": "PassRole",
            "Service": "iam",
            "Context": {"iam:PassedToService": ["braket.amazonaws.com", "sagemaker.amazonaws.com"]},
        }
        in create["AuthorizedActions"]
    )
    assert braket["Version"] == "v1.4"


def test_aws_json_refuses_a_prefix_that_would_leave_its_folder(tmp_path):
    from iam_catalog.parsers.errors import OutputError
    from iam_catalog.parsers.model import CatalogSource, PageRef

    bad = Catalog(
        CatalogSource("files", "x", 1, ()),
        (Service("../escape", "x", (PageRef("p", "html", "x"),)),),
    )
    with pytest.raises(OutputError, match="cannot name a folder"):
        export("aws-json", bad, tmp_path / "out")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out").exists()
