"""Run every bench section: ``python -m tests.bench [SECTION ...]``."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

SECTIONS = ("build", "diff", "load", "fetch", "history", "report", "query", "nightly")


def main(argv: list[str]) -> int:
    corpus = Path(os.environ.get("IAM_CATALOG_CORPUS", "build/corpus"))
    if not (corpus / "html").is_dir():
        print(f"bench: no corpus at {corpus}; run `make corpus` or set IAM_CATALOG_CORPUS")
        return 2
    for name in argv or SECTIONS:
        print(f"== {name}")
        module = importlib.import_module(f"tests.bench.bench_{name}")
        module.run(corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
