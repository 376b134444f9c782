"""Queries (iam_catalog.query): a query from a cold process on the full 2026 catalog.

Every ``query`` subcommand, with a typical question and with the largest answer it can
give (every action, every action a key applies to, all condition keys), as a fresh
``python -m iam_catalog query ...`` per round (interpreter start, imports, open the store,
answer, print into a pipe that is read to the end): min, median and max of ROUNDS, on the
SQLite export and on catalog.json (whose store is made once into the cache before the
rounds), with the machine's load average before and after. Target: < 0.3 s.
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
    ["actions", "--condition-key", "aws:ResourceTag/${TagKey}", "--format", "json"],
    ["actions"],  # all 20,727 actions, as a table
    ["actions", "--format", "csv"],
    ["actions", "--format", "json"],
    ["expand", "s3:Get*"],
    ["expand", "*", "--format", "json"],
    ["arn", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
    ["arn", "arn:aws:s3:::my-bucket/photos/cat.jpg"],
    ["resource-types", "--service", "ec2"],
    ["condition-keys", "--action", "s3:GetObject"],
    ["condition-keys", "--service", "ec2"],
    ["services", "Amazon S3"],
    ["services"],
)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(corpus: Path) -> None:
    from iam_catalog.output.build import build
    from iam_catalog.output.writers import dumps_catalog
    from iam_catalog.query.store import write_store

    catalog = build([corpus / "html" / "2026-04-01_110d32e3"]).catalog
    print(f"query: {os.cpu_count()} CPUs, load average before {_load()}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        db, js = Path(tmp) / "catalog.db", Path(tmp) / "catalog.json"
        write_store(catalog, db)
        js.write_bytes(dumps_catalog(catalog))
        env = {**os.environ, "IAM_CATALOG_CACHE": str(Path(tmp) / "cache")}
        for target in (db, js):
            warm = [sys.executable, "-m", "iam_catalog", "query", "services", "s3"]
            subprocess.run([*warm, "--catalog", str(target)], check=True, env=env, stdout=-3)
            for q in QUERIES:
                command = [sys.executable, "-m", "iam_catalog", "query", *q]
                times = []
                for _ in range(ROUNDS):
                    t = time.perf_counter()
                    done = subprocess.run(
                        [*command, "--catalog", str(target)],
                        check=True,
                        env=env,
                        stdout=subprocess.PIPE,
                    )
                    times.append(time.perf_counter() - t)
                worst = max(worst, statistics.median(times))
                print(
                    f"query (cold process, {target.name}): {' '.join(q)}: "
                    f"min {min(times):.3f} s, median {statistics.median(times):.3f} s, "
                    f"max {max(times):.3f} s ({len(done.stdout):,} bytes out)"
                )
    print(
        f"query: slowest median {worst:.3f} s (target < {TARGET_S}); load average after {_load()}"
    )
