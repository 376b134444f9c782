"""The GitHub workflow of the nightly job is checked: actionlint does not install from the
registries here (its PyPI package downloads the binary at build time), so the workflow is
parsed and held to what it must do, and the command it runs is the documented one."""

from __future__ import annotations

import re
import shlex

import yaml

from iam_catalog.output.cli import make_parser

from .conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?(,\d+(-\d+)?)*)(/\d+)?$")
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps() -> list[dict]:
    jobs = _workflow()["jobs"]
    assert list(jobs) == ["nightly"]
    return jobs["nightly"]["steps"]


def _commands(line: str) -> list[list[str]]:
    return [shlex.split(part) for part in line.split("&&")]


def test_workflow_is_scheduled_with_a_valid_cron_line_and_may_write_and_open_prs():
    wf = _workflow()
    crons = [s["cron"] for s in wf["on"]["schedule"]]
    assert len(crons) == 1
    fields = crons[0].split()
    assert len(fields) == 5
    for text, (low, high) in zip(fields, CRON_RANGES, strict=True):
        assert CRON_FIELD.match(text), text
        for n in re.findall(r"\d+", text.split("/")[0]):
            assert low <= int(n) <= high, crons[0]
    assert "workflow_dispatch" in wf["on"]
    assert wf["permissions"] == {"contents": "write", "pull-requests": "write"}
    job = wf["jobs"]["nightly"]
    assert job["runs-on"] and job["timeout-minutes"] > 0


def test_workflow_runs_the_documented_nightly_command():
    runs = [line.strip() for s in _steps() for line in s.get("run", "").splitlines()]
    nightly = [line for line in runs if line.startswith("iam-catalog nightly --")]
    assert nightly == ["iam-catalog nightly --snapshots snapshots --releases releases"]
    argv = shlex.split(nightly[0])
    args = make_parser().parse_args(argv[1:])
    assert (args.snapshots, args.releases) == ("snapshots", "releases")
    # The README documents the same command, and the cron line for those without GitHub.
    assert nightly[0] in README
    cron = next(line for line in README.splitlines() if line.startswith("17 3 * * * cd "))
    cron_argv = _commands(cron[len("17 3 * * * ") :].split(">>")[0])[1]
    assert cron_argv[0].endswith("iam-catalog")
    assert cron_argv[1:] == argv[1:]
    status = [line for line in runs if line.startswith("iam-catalog nightly status")]
    assert len(status) == 1
    make_parser().parse_args(shlex.split(status[0])[1:])


def test_workflow_commits_releases_and_opens_a_pull_request_with_diff_md():
    steps = _steps()
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "gh pr create" in text and "gh pr edit" in text
    assert '--body-file "$body"' in text and "body=releases/latest/diff.md" in text
    assert "git add -A snapshots releases ':!snapshots/.page-cache'" in text
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    # Every step output used is set by a step with that id, earlier in the job.
    seen: set[str] = set()
    for s in steps:
        for ref in re.findall(r"steps\.([a-z_-]+)\.outputs\.([a-z_-]+)", str(s)):
            assert ref[0] in seen, ref
            producer = next(p for p in steps if p.get("id") == ref[0])
            assert f'echo "{ref[1]}=' in producer["run"], ref
        if "id" in s:
            seen.add(s["id"])
    # Exit 3 (quarantine) fails the run after the artifact is kept; exit 2 at once.
    night = next(s for s in steps if s.get("id") == "night")
    assert "set +e" in night["run"] and 'if [ "$code" -eq 2 ]; then exit 2; fi' in night["run"]
    assert steps[-1]["if"] == "steps.night.outputs.code == '3'"
