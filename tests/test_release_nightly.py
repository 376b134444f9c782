"""`iam-catalog nightly` against a real HTTP server on 127.0.0.1 serving corpus pages:
a good night, a broken night, a night with real changes, a field that disappears, accept,
status, an unreachable site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iam_catalog.output.cli import main

from .nightly_helpers import (
    OLDER,
    SMALL,
    check_feed,
    check_release,
    check_releases,
    drop_dependent_actions,
    load_corpus_pages,
    night,
    night_args,
    published_files,
    serve,
    small_pages,
    strip_tables,
    swappable,
)
from .servers import SiteServer


@pytest.fixture(scope="module")
def corpus_pages(corpus) -> dict[str, bytes]:
    return load_corpus_pages(corpus)


@pytest.fixture
def site(corpus_pages):
    with SiteServer() as server:
        serve(server, corpus_pages)
        yield server


@pytest.fixture
def small_site(corpus_pages):
    """A site of 40 pages, the smoke actions' among them: for the tests about the command
    rather than about scale."""
    with SiteServer() as server:
        serve(server, small_pages(corpus_pages))
        yield server


def _gates(folder: Path) -> dict:
    return json.loads((folder / "gates.json").read_text())


def _items(catalog: dict) -> dict[str, set[tuple[str, ...]]]:
    """Every service, action, resource type and condition key of a catalog.json, by kind:
    the independent set comparison the diff must agree with."""
    out: dict[str, set[tuple[str, ...]]] = {
        "service": set(),
        "action": set(),
        "resource_type": set(),
        "condition_key": set(),
    }
    for prefix, s in catalog["services"].items():
        p = prefix.lower()
        out["service"].add((p,))
        out["action"] |= {(p, a.lower()) for a in s["actions"]}
        out["resource_type"] |= {(p, r.lower()) for r in s["resource_types"]}
        out["condition_key"] |= {(p, k.lower()) for k in s["condition_keys"]}
    return out


def _diff_items(diff: dict, verb: str) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {k: set() for k in _items({"services": {}})}
    for c in diff["changes"]:
        item_type, _, v = c["kind"].rpartition("_")
        if v != verb:
            continue
        service = c["service"].lower()
        key = (service,) if item_type == "service" else (service, c[item_type].lower())
        out[item_type].add(key)
    return out


def test_three_nights_good_broken_and_real_changes(site, corpus_pages, corpus, tmp_path, capsys):
    releases = tmp_path / "releases"

    # Night 1: a good night is published.
    assert night(site, tmp_path, "2026-12-01") == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "published 2026-12-01" in err
    assert (releases / "latest").readlink() == Path("2026-12-01")
    first = check_release(releases / "2026-12-01")
    assert first["counts"]["actions"] > 20000 and first["pages"] == {"html": 527}
    gates = _gates(releases / "2026-12-01")
    assert gates["failed"] == []
    assert check_releases(releases) == ["2026-12-01"]

    # Night 2: a third of the pages lose their tables: quarantined, exit 3, one stderr
    # line per failed gate, latest and every published file untouched.
    before = published_files(releases)
    names = sorted(corpus_pages)
    broken = {
        n: strip_tables(d) if i % 3 == 0 else d
        for i, (n, d) in enumerate(sorted(corpus_pages.items()))
    }
    serve(site, broken)
    assert night(site, tmp_path, "2026-12-02") == 3
    err = capsys.readouterr().err
    q = releases / "quarantine" / "2026-12-02"
    gates = _gates(q)
    failed = gates["failed"]
    # Pages without tables still name their service: the services stay, emptied.
    assert failed == [
        "totals.actions",
        "service.actions",
        "service.resource_types",
        "service.condition_keys",
        "layout",
    ], failed
    gate_lines = [line for line in err.splitlines() if line.startswith("iam-catalog: gate failed:")]
    assert [line.split(": ")[2] for line in gate_lines] == failed
    by_name = {g["name"]: g for g in gates["gates"]}
    assert by_name["layout"]["figure"] == len(names[::3])
    assert by_name["totals.actions"]["threshold"] == 2.0 and by_name["totals.actions"]["figure"] > 2
    check_release(q)
    assert published_files(releases) == before
    assert (releases / "latest").readlink() == Path("2026-12-01")
    status = json.loads((releases / "status.json").read_text())
    assert status["last_attempt"]["outcome"] == "quarantined"
    assert [g["name"] for g in status["last_attempt"]["failed_gates"]] == failed
    assert status["last_published"]["id"] == "2026-12-01"

    # Night 3: pages from another corpus date swapped in, two pages withdrawn: published;
    # the diff equals a set comparison of the two catalogs; changelog and feed have it.
    older = corpus / "html" / OLDER
    swapped = swappable(corpus_pages, older)[:20]
    catalog = json.loads((releases / "2026-12-01" / "catalog.json").read_bytes())
    # Two small services of one page each (not one the smoke gate asks for).
    single = sorted(
        (len(s["actions"]), s["pages"][0]["page"] + ".html")
        for s in catalog["services"].values()
        if len(s["pages"]) == 1 and s["actions"]
    )
    withdrawn = [n for _, n in single if n not in swapped and n not in SMALL][:2]
    changed = {n: (older / n).read_bytes() if n in swapped else d for n, d in corpus_pages.items()}
    for n in withdrawn:
        del changed[n]
    serve(site, changed)
    assert night(site, tmp_path, "2026-12-03") == 0, capsys.readouterr().err
    capsys.readouterr()
    third = check_release(releases / "2026-12-03")
    assert third["previous"] == "2026-12-01"
    assert (releases / "latest").readlink() == Path("2026-12-03")
    old_items = _items(json.loads((releases / "2026-12-01" / "catalog.json").read_bytes()))
    new_items = _items(json.loads((releases / "2026-12-03" / "catalog.json").read_bytes()))
    diff = json.loads((releases / "2026-12-03" / "diff.json").read_text())
    added, removed = _diff_items(diff, "added"), _diff_items(diff, "removed")
    for kind in old_items:
        assert added[kind] == new_items[kind] - old_items[kind], kind
        assert removed[kind] == old_items[kind] - new_items[kind], kind
    assert removed["action"]
    assert any(c["kind"] == "action_changed" for c in diff["changes"])
    # The withdrawn pages' services are removals (breaking), not gate failures.
    gone = {c["service"] for c in diff["changes"] if c["kind"] == "service_removed"}
    assert len(gone) == 2
    assert all(
        c["severity"] == "breaking" for c in diff["changes"] if c["kind"] == "service_removed"
    )
    assert _gates(releases / "2026-12-03")["failed"] == []
    assert check_releases(releases) == ["2026-12-01", "2026-12-03"]
    changelog = (releases / "CHANGELOG.md").read_text()
    newest = changelog.split("\n## ")[1]
    assert newest.startswith("2026-12-03 — release 2026-12-03\n")
    assert "### Breaking and security changes" in newest
    for prefix in gone:
        assert f"**`{prefix}`" in newest
    assert "(2026-12-03/diff.html)" in newest
    assert f"{third['counts']['actions']:,} actions" in newest
    feed = check_feed(releases / "feed.xml")
    assert feed.entries[0].id == "urn:iam-catalog:release:2026-12-03"
    assert feed.entries[0].link.endswith("2026-12-03/diff.html")
    index = json.loads((releases / "index.json").read_text())
    assert [e["id"] for e in index["releases"]] == ["2026-12-01", "2026-12-03"]
    assert index["releases"][1]["catalog_sha256"] == third["files"]["catalog.json"]
    assert index["releases"][1]["changes"]["actions_removed"] == len(removed["action"])
    # Every published release is in the history (issue "answers"), the quarantined one not.
    from iam_catalog.history import History

    with History.open(releases / "history.sqlite") as history:
        assert history.releases() == ["2026-12-01", "2026-12-03"]


def test_a_field_dropped_from_every_page_is_quarantined_by_the_fill_rate_gate_until_accepted(
    site, corpus_pages, tmp_path, capsys
):
    releases = tmp_path / "releases"
    assert night(site, tmp_path, "2026-12-01") == 0
    serve(site, {n: drop_dependent_actions(d) for n, d in corpus_pages.items()})
    assert night(site, tmp_path, "2026-12-02") == 3
    err = capsys.readouterr().err
    q = releases / "quarantine" / "2026-12-02"
    gates = _gates(q)
    # The counts hold: only the fill rate of dependent actions fails.
    assert gates["failed"] == ["fill.dependent_actions"]
    by_name = {g["name"]: g for g in gates["gates"]}
    assert by_name["totals.actions"]["verdict"] == "pass"
    assert by_name["totals.actions"]["figure"] == 0
    fill = by_name["fill.dependent_actions"]
    assert fill["figure"] > fill["threshold"] == 5.0
    assert "no action has it any more" in fill["summary"]
    assert "iam-catalog: gate failed: fill.dependent_actions:" in err
    assert (releases / "latest").readlink() == Path("2026-12-01")

    # A person accepts it: published, recorded with who and when; the next night with the
    # same pages has nothing to publish.
    code = main(["nightly", "--accept", "2026-12-02", "--releases", str(releases), "--by", "alice"])
    assert code == 0
    assert not q.exists()
    accepted = _gates(releases / "2026-12-02")["accepted"]
    assert accepted["by"] == "alice" and accepted["failed_gates"] == ["fill.dependent_actions"]
    assert check_release(releases / "2026-12-02")["accepted"]["by"] == "alice"
    assert (releases / "latest").readlink() == Path("2026-12-02")
    assert check_releases(releases) == ["2026-12-01", "2026-12-02"]
    assert "accepted by alice" in (releases / "CHANGELOG.md").read_text()
    capsys.readouterr()
    assert night(site, tmp_path, "2026-12-03") == 0
    assert "nothing published" in capsys.readouterr().err


def test_status_says_fresh_or_stale_and_a_night_without_change_publishes_nothing(
    small_site, tmp_path, capsys
):
    site = small_site
    releases = tmp_path / "releases"
    assert main(["nightly", "status", "--releases", str(releases)]) == 2
    assert capsys.readouterr().err == f"iam-catalog: error: {releases}: no such releases folder\n"
    assert night(site, tmp_path, "2026-12-01") == 0
    assert night(site, tmp_path, "2026-12-05") == 0
    err = capsys.readouterr().err
    assert err.endswith(
        "no change since the latest release (0 pages parsed, 40 from the page cache); "
        "nothing published\n"
    )
    assert sorted(p.name for p in releases.iterdir() if p.is_dir() and not p.is_symlink()) == [
        "2026-12-01"
    ]
    args = ["nightly", "status", "--releases", str(releases), "--today", "2026-12-05"]
    assert main([*args, "--max-age", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["last_published"] == {
        "id": "2026-12-01",
        "date": "2026-12-01",
        "published_at": out["last_published"]["published_at"],
        "age_days": 4,
    }
    assert out["last_attempt"]["outcome"] == "unchanged"
    assert main([*args, "--max-age", "3"]) == 3
    assert capsys.readouterr().err == (
        f"iam-catalog: stale: {releases}: last good release 2026-12-01 is 4 days old "
        "(more than --max-age 3)\n"
    )


def test_unreachable_site_exits_2_with_one_line_and_publishes_nothing(tmp_path, capsys):
    base = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"
    code = main(["nightly", *night_args(base, tmp_path, "2026-12-01")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("iam-catalog: error: cannot resolve iam-catalog-test.invalid")
    releases = tmp_path / "releases"
    assert sorted(p.name for p in releases.iterdir()) == ["status.json"]
    status = json.loads((releases / "status.json").read_text())
    assert status["last_attempt"]["outcome"] == "failed"
    assert status["last_published"] is None
    assert not (tmp_path / "snapshots").exists()


def test_gate_thresholds_come_from_flags_and_a_config_file(small_site, tmp_path, capsys):
    site = small_site
    config = tmp_path / "gates.json"
    config.write_text(json.dumps({"gates": {"smoke": ["s3:GetObject", "s3:NoSuchAction"]}}))
    code = night(
        site, tmp_path, "2026-12-01", "--gates-config", str(config), "--gate", "totals.actions=3"
    )
    assert code == 3
    gates = _gates(tmp_path / "releases" / "quarantine" / "2026-12-01")
    assert gates["thresholds"]["smoke"] == ["s3:GetObject", "s3:NoSuchAction"]
    assert gates["thresholds"]["totals.actions"] == 3.0
    assert gates["failed"] == ["smoke"]
    smoke = next(g for g in gates["gates"] if g["name"] == "smoke")
    assert (smoke["figure"], smoke["details"]) == (1, ["s3:NoSuchAction"])
    capsys.readouterr()
    assert night(site, tmp_path, "2026-12-02", "--gate", "no.such.gate=1") == 2
    assert capsys.readouterr().err.startswith("iam-catalog: error: unknown gate 'no.such.gate'")


def test_pages_the_site_withdrew_are_removals_not_a_quarantine(small_site, tmp_path, capsys):
    """The index still links them, but one page answers 404, one 410 and one a 301 to a
    page that is no SAR page (as the live list_awsiot1-click.html does): they left the
    index. The night is published, the snapshot complete with the pages listed as
    withdrawn, their services removed (breaking) in the diff; no per-service gate fails.
    A 5xx on another night still fails the fetch (the snapshot is incomplete: exit 2)."""
    from iam_catalog.scraper.snapshot import read_manifest

    from .nightly_helpers import INDEX_PATH
    from .servers import SAR_BASE, Fault, sar_index

    releases = tmp_path / "releases"
    assert night(small_site, tmp_path, "2026-12-01") == 0, capsys.readouterr().err
    catalog = json.loads((releases / "2026-12-01" / "catalog.json").read_bytes())
    single = sorted(
        (len(s["actions"]), s["pages"][0]["page"] + ".html", prefix)
        for prefix, s in catalog["services"].items()
        if len(s["pages"]) == 1 and s["actions"] and s["pages"][0]["page"] + ".html" not in SMALL
    )[:3]
    names = [n for _, n, _ in single]
    gone, away, moved = names
    small_site.remove(SAR_BASE + gone)
    small_site.add_faults(SAR_BASE + away, Fault("status", 410))
    small_site.put("/iot/what-is.html", b"<html><title>What is AWS IoT</title></html>")
    small_site.add_faults(
        SAR_BASE + moved, Fault("redirect", status=301, location="/iot/what-is.html")
    )
    linked = [p[len(SAR_BASE) :] for p in small_site.paths() if p.startswith(SAR_BASE + "list_")]
    assert gone not in linked
    small_site.put(INDEX_PATH, sar_index([*linked, gone]))
    capsys.readouterr()
    # 3 of the 38 services of this small site are more than the 2% the totals gate allows
    # by default (of the 445 of the reference, under 1%).
    wider = ("--gate", "totals.services=10")
    assert night(small_site, tmp_path, "2026-12-02", *wider) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "3 withdrawn" in err
    manifest = read_manifest(tmp_path / "snapshots" / "2026-12-02")
    assert manifest.complete
    assert sorted(w["path"] for w in manifest.withdrawn) == sorted(f"html/{n}" for n in names)
    assert (releases / "latest").readlink() == Path("2026-12-02")
    assert _gates(releases / "2026-12-02")["failed"] == []
    diff = json.loads((releases / "2026-12-02" / "diff.json").read_text())
    removed = {
        c["service"]: c["severity"] for c in diff["changes"] if c["kind"] == "service_removed"
    }
    assert removed == {prefix: "breaking" for _, _, prefix in single}

    # A 5xx is no withdrawal: the fetch fails, nothing is published.
    page = next(n for n in linked if n not in names)
    small_site.add_faults(SAR_BASE + page, *[Fault("status", 503)] * 5)
    assert night(small_site, tmp_path, "2026-12-03", *wider) == 2
    assert "incomplete" in capsys.readouterr().err
    assert (releases / "latest").readlink() == Path("2026-12-02")
