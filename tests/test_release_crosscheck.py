"""The nightly's cross-check gate (issue 14) against real HTTP servers on 127.0.0.1: the
SAR pages of 2026-04-01 and AWS's JSON of 2026-03-31 for the same services. A night whose
snapshot holds the JSON is the combined build; its release holds crosscheck.json and
crosscheck.md (in the manifest), and the gates hold the share of actions the sources
disagree on (access level, existence) to 1%: a JSON that disagrees on more is quarantined,
the gate named."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from iam_catalog.output.cli import main

from .nightly_helpers import (
    SMALL,
    check_release,
    load_corpus_pages,
    night_args,
    published_files,
    serve,
)
from .nightly_helpers import small_pages as pick_small
from .servers import SAR_BASE, SiteServer, service_list

JSON_2026 = ("servicereference", "2026-03-31")


@pytest.fixture(scope="module")
def services(corpus, html_2026) -> dict[str, list[str]]:
    """The 40 pages of the small site and every other page of their services (the JSON
    of elasticloadbalancing holds both API versions' actions, as its two pages do), by
    prefix; but those AWS's JSON does not document (GameSparks, discontinued: its 34 actions
    are 1.3% of the site's, a disagreement on existence the gate would stop)."""
    small = pick_small(load_corpus_pages(corpus))
    documented = corpus.joinpath(*JSON_2026)
    out = {}
    for s in html_2026.catalog.services:
        names = [f"{p.page}.html" for p in s.pages]
        if any(n in small for n in names) and (documented / s.prefix).is_dir():
            out[s.prefix] = names
    return out


@pytest.fixture(scope="module")
def pages(corpus, services) -> dict[str, bytes]:
    every = load_corpus_pages(corpus)
    return {n: every[n] for names in services.values() for n in names}


@pytest.fixture(scope="module")
def documents(corpus, services) -> dict[str, bytes]:
    """AWS's JSON of the services of those pages, by prefix."""
    ref = corpus.joinpath(*JSON_2026)
    return {p: (ref / p / f"{p}.json").read_bytes() for p in sorted(services) if (ref / p).is_dir()}


def _serve_json(host: SiteServer, documents: dict[str, bytes]) -> None:
    for path in list(host.paths()):
        host.remove(path)
    for prefix, data in documents.items():
        host.put(f"/v1/{prefix}/{prefix}.json", data)
    host.put("/", service_list(host.origin, documents))


def _night(site: SiteServer, host: SiteServer, root: Path, day: str) -> int:
    args = night_args(site.url(SAR_BASE), root, day)
    return main(["nightly", *args, "--formats", "html,json", "--json-base-url", host.url("/")])


def _gates(folder: Path) -> dict[str, dict]:
    return {g["name"]: g for g in json.loads((folder / "gates.json").read_text())["gates"]}


def _edited(data: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    doc = orjson.loads(data)
    edit(doc)
    return orjson.dumps(doc)


def _read_becomes_write(doc: dict) -> None:
    """Every action the JSON classes Read (no flag set) flagged Write instead."""
    for action in doc["Actions"]:
        props = action.get("Annotations", {}).get("Properties")
        if props is not None and not any(props.values()):
            props["IsWrite"] = True


def _half_the_actions_gone(doc: dict) -> None:
    doc["Actions"] = doc["Actions"][::2]


def test_nights_with_aws_json_publish_the_crosscheck_and_gate_its_disagreements(
    services, pages, documents, tmp_path, capsys
):
    releases = tmp_path / "releases"
    with SiteServer() as site, SiteServer() as host:
        serve(site, pages)
        _serve_json(host, documents)

        # Night 1: pages and JSON agree but for what the corpus's list shows: published,
        # with the cross-check in the release.
        assert _night(site, host, tmp_path, "2026-12-01") == 0, capsys.readouterr().err
        capsys.readouterr()
        first = releases / "2026-12-01"
        manifest = check_release(first)
        assert manifest["pages"] == {"html": len(pages), "service-reference": len(documents)}
        assert {"crosscheck.json", "crosscheck.md"} <= set(manifest["files"])
        report = json.loads((first / "crosscheck.json").read_text())
        assert list(report["sources"]) == ["html", "json"]
        gates = _gates(first)
        summary = report["summary"]
        for what in ("access_level", "existence"):
            gate = gates[f"crosscheck.{what}"]
            n = summary["actions_disagreeing"][what]
            assert gate["verdict"] == "pass" and gate["threshold"] == 1.0
            assert gate["figure"] == round(100.0 * n / summary["actions"], 3) <= 1.0
        # The combined catalog: the page's required flags, the JSON's operations.
        catalog = json.loads((first / "catalog.json").read_text())
        get = catalog["services"]["s3"]["actions"]["GetObject"]
        assert get["sources"] == ["html", "json"] and get["operations"]
        assert {r["required"] for r in get["resource_types"]} == {False}  # carried: not null
        pass_role = catalog["services"]["iam"]["actions"]["PassRole"]
        assert [(r["name"], r["required"]) for r in pass_role["resource_types"]] == [("role", True)]
        assert catalog["services"]["s3"]["field_sources"]["action.operations"] == ["json"]
        before = published_files(releases)

        # Night 2: the JSON classes every Read action of EC2 Write: quarantined by the
        # access-level gate, latest untouched.
        ec2 = documents["ec2"]
        _serve_json(host, {**documents, "ec2": _edited(ec2, _read_becomes_write)})
        assert _night(site, host, tmp_path, "2026-12-02") == 3
        err = capsys.readouterr().err
        quarantined = releases / "quarantine" / "2026-12-02"
        gates = _gates(quarantined)
        failed = json.loads((quarantined / "gates.json").read_text())["failed"]
        assert failed == ["crosscheck.access_level"], failed
        assert "iam-catalog: gate failed: crosscheck.access_level: " in err
        gate = gates["crosscheck.access_level"]
        assert gate["figure"] > 1.0
        # Exactly the actions the edit changed, each with both values.
        read = [
            a["Name"]
            for a in orjson.loads(ec2)["Actions"]
            if not any(a["Annotations"]["Properties"].values())
        ]
        assert len(read) > 0.01 * 2500  # more than 1% of the site's actions
        assert set(gate["details"]) == {
            f"action.access_level ec2:{name} (html: Read, json: Write)" for name in read
        }
        report = json.loads((quarantined / "crosscheck.json").read_text())
        assert report["summary"]["actions_disagreeing"]["access_level"] == len(gate["details"])
        assert published_files(releases) == before
        assert (releases / "latest").readlink() == Path("2026-12-01")

        # Night 3: the JSON lacks half of EC2's actions, and a service is withdrawn from
        # both (a night whose only change is what the JSON lacks makes the same catalog,
        # the pages' actions, and publishes nothing): quarantined by the existence gate.
        gone, withdrawn = next(
            (prefix, names[0])
            for prefix, names in sorted(services.items())
            if len(names) == 1 and names[0] not in SMALL and prefix in documents
        )
        serve(site, {n: d for n, d in pages.items() if n != withdrawn})
        fewer = {p: d for p, d in documents.items() if p != gone}
        _serve_json(host, {**fewer, "ec2": _edited(ec2, _half_the_actions_gone)})
        assert _night(site, host, tmp_path, "2026-12-03") == 3
        err = capsys.readouterr().err
        quarantined = releases / "quarantine" / "2026-12-03"
        failed = json.loads((quarantined / "gates.json").read_text())["failed"]
        assert "crosscheck.existence" in failed and "crosscheck.access_level" not in failed
        assert "iam-catalog: gate failed: crosscheck.existence: " in err
        gate = _gates(quarantined)["crosscheck.existence"]
        half = len(orjson.loads(ec2)["Actions"]) // 2
        assert gate["figure"] > 1.0 and len(gate["details"]) >= half
        assert published_files(releases) == before

        # Night 4: the site and the JSON as on night 1 again: nothing changed since the
        # latest release.
        serve(site, pages)
        _serve_json(host, documents)
        assert _night(site, host, tmp_path, "2026-12-04") == 0
        status = json.loads((releases / "status.json").read_text())
        assert status["last_attempt"]["outcome"] == "unchanged"
