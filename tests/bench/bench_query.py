"""Queries (iam_catalog.query): a query from a cold process on the full 2026 catalog.

A fresh ``python -m iam_catalog query ...`` per round (interpreter start, imports, open
the store, answer, print), median of ROUNDS, on the SQLite export and on catalog.json
(whose store is made once into the cache before the rounds). Target: < 0.3 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 7
TARGET_S = 0.3
QUERIES = (
    ["actions", "--service", "ec2", "--condition-key", "aws:ResourceTag/${TagKey}"],
    ["expand", "s3:Get*"],
    ["arn", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
)


def run(corpus: Path) -> None:
    from iam_catalog.output.build import build
    from iam_catalog.output.writers import dumps_catalog
    from iam_catalog.query.store import write_store

    catalog = build([corpus / "html" / "2026-04-01_110d32e3"]).catalog
    with tempfile.TemporaryDirectory() as tmp:
        db, js = Path(tmp) / "catalog.db", Path(tmp) / "catalog.json"
        write_store(catalog, db)
        js.write_bytes(dumps_catalog(catalog))
        env = {**os.environ, "IAM_CATALOG_CACHE": str(Path(tmp) / "cache")}
        for target in (db, js):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "iam_catalog",
                    "query",
                    "services",
                    "s3",
                    "--catalog",
                    str(target),
                ],
                check=True,
                env=env,
                capture_output=True,
            )
            for q in QUERIES:
                times = []
                for _ in range(ROUNDS):
                    t = time.perf_counter()
                    subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "iam_catalog",
                            "query",
                            *q,
                            "--catalog",
                            str(target),
                        ],
                        check=True,
                        env=env,
                        capture_output=True,
                    )
                    times.append(time.perf_counter() - t)
                print(
                    f"query (cold process, {target.name}): {' '.join(q[:2])}: median "
                    f"{statistics.median(times):.3f} s, max {max(times):.3f} s "
                    f"(target < {TARGET_S})"
                )
