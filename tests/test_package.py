"""The distribution: the wheel holds one top-level import package, iam_catalog, and builds
without a warning; installed into a fresh virtualenv outside the repository, the command
runs (--version, build, diff) from a folder holding a user's own output.py, parsers.py and
scraper.py.

pip installs from this machine's local sources only (the file:// indexes and find-links
of its configuration; the build backend too): tests never touch the internet. Building
the wheel and installing it take some 15 s each on the project's 2-core machine: they are
done once for the module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import orjson
import pytest

from .conftest import FIXTURES, ROOT

PIP = [sys.executable, "-m", "pip"]
# A user's own modules named like the folders of this repository: importing any of them
# from the working folder would stop the command with this message.
USER_MODULES = ("output", "parsers", "scraper")


def _outside_env() -> dict[str, str]:
    """This environment without PYTHONPATH: nothing but the new virtualenv's own packages
    (a checkout on PYTHONPATH would be imported instead of the installed copy)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _local_pip_env() -> dict[str, str]:
    """The environment for pip to use only the local package sources pip is configured
    with: its file:// indexes (and find-links), never an index on the network."""
    urls: list[str] = []
    for key in ("global.index-url", "global.extra-index-url"):
        got = subprocess.run([*PIP, "config", "get", key], capture_output=True, text=True)
        urls += [u for u in got.stdout.split() if u.startswith("file:")]
    env = {**_outside_env(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # setuptools warns it cannot byte-compile
    if urls:
        env["PIP_INDEX_URL"] = urls[0]
        env["PIP_EXTRA_INDEX_URL"] = " ".join(urls[1:]) or urls[0]
    else:  # wheels from the configured find-links only
        env["PIP_NO_INDEX"] = "1"
    return env


def _pip(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*PIP, *argv], capture_output=True, text=True, env=_local_pip_env(), timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


class Installed:
    """The wheel built from this checkout, and a virtualenv it is installed in."""

    def __init__(self, root: Path) -> None:
        wheels = root / "wheels"
        started = time.monotonic()
        built = _pip("wheel", "--no-deps", "--verbose", "--wheel-dir", str(wheels), str(ROOT))
        self.build_seconds = time.monotonic() - started
        self.build_output = built.stdout + built.stderr
        (self.wheel,) = wheels.glob("iam_catalog-*.whl")
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        self.python = venv / "bin" / "python"
        started = time.monotonic()
        _pip("--python", str(self.python), "install", "--quiet", str(self.wheel))
        self.install_seconds = time.monotonic() - started
        self.exe = venv / "bin" / "iam-catalog"
        # The working folder of every run: outside the repository, with the user's modules.
        self.cwd = root / "work"
        self.cwd.mkdir()
        for name in USER_MODULES:
            (self.cwd / f"{name}.py").write_text(f"raise SystemExit('the user\\'s {name}.py')\n")

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *argv],
            cwd=self.cwd,
            env=_outside_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("package"))


def test_the_wheel_holds_exactly_one_top_level_package_iam_catalog(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    top = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert top == {"iam_catalog"}
    assert "iam_catalog/output/templates/diff.html" in names
    assert "iam_catalog/parsers/html.py" in names and "iam_catalog/scraper/fetch.py" in names


def test_the_wheel_builds_without_a_warning(installed):
    assert "Successfully built iam-catalog" in installed.build_output
    warnings = [line for line in installed.build_output.splitlines() if "warn" in line.lower()]
    assert warnings == []


def test_building_and_installing_take_a_reasonable_time(installed):
    # Measured on the 2-core machine: 13 s and 15 s, mostly pip installing setuptools into
    # the build's own environment, and lxml into the new one.
    assert installed.build_seconds < 120
    assert installed.install_seconds < 180


def test_installed_command_and_module_give_the_version(installed):
    version = installed.run("--version")
    assert (version.returncode, version.stderr) == (0, "")
    assert version.stdout.strip() == "iam-catalog 0.1.0"
    # python -m puts the working folder, with the user's output.py, first on sys.path.
    module = subprocess.run(
        [str(installed.python), "-m", "iam_catalog", "--version"],
        cwd=installed.cwd,
        env=_outside_env(),
        capture_output=True,
        text=True,
    )
    assert (module.returncode, module.stdout, module.stderr) == (0, version.stdout, "")


def test_installed_command_builds_and_diffs_the_sample_pages(installed):
    built = installed.run("build", str(FIXTURES / "pages"), "--out", "samples")
    assert built.returncode == 0, built.stderr
    assert built.stderr.startswith("5 files, 5 pages, 5 services, ")
    catalog = installed.cwd / "samples" / "catalog.json"
    assert len(orjson.loads(catalog.read_bytes())["services"]) == 5
    same = installed.run("diff", str(FIXTURES / "pages"), str(catalog))
    assert (same.returncode, same.stderr) == (0, "")
    changed = installed.run("diff", str(FIXTURES / "html"), str(catalog), "--output", "r.html")
    assert (changed.returncode, changed.stderr) == (1, "")
    assert (installed.cwd / "r.html").read_text().startswith("<!doctype html>")


def test_installed_command_builds_the_2026_pages_and_diffs_them(installed, corpus):
    release = corpus / "html" / "2026-04-01_110d32e3"
    built = installed.run("build", str(release), "--out", "2026")
    assert built.returncode == 0, built.stderr
    assert built.stderr.startswith("528 files, 528 pages, 459 services, ")
    older = corpus / "html" / "2025-11-01_f2b93173"
    diffed = installed.run("diff", str(older), "2026/catalog.json", "--format", "json")
    assert diffed.returncode == 1, diffed.stderr
    summary = orjson.loads(diffed.stdout)["summary"]
    assert summary["actions_added"] > 0


def test_installed_regenerate_without_network_or_samples_says_what_to_pass(installed):
    nowhere = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"
    done = installed.run("regenerate", "--base-url", nowhere)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "iam-catalog: error: fixtures/pages: no such folder of sample pages to build instead, "
        "and no network ("
    )
    assert "pass --fixtures DIR" in done.stderr and done.stderr.count("\n") == 1
    assert not (installed.cwd / "build").exists()


def test_scraper_and_parsers_never_import_output():
    """DESIGN.md: the layers below the build do not reach up into it (the writing
    primitives they share are in iam_catalog.atomic)."""
    import ast

    found = []
    for folder in ("scraper", "parsers"):
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                found += [f"{folder}/{path.name}: {n}" for n in names if ".output" in f".{n}"]
    assert found == []
