"""Loading catalog.json (what ``diff`` and ``export`` do with a catalog file): the JSON
parse and model build, beside the schema check that refuses a wrongly typed file
(``parsers.validate``, fastjsonschema), and jsonschema's validator for comparison.

CPU seconds (``time.process_time``, median of REPEATS rounds in one process) on the
catalog of the 2026 pages, so that other load on the machine counts less.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

REPEATS = 5
JSONSCHEMA_REPEATS = 2


def run(corpus: Path) -> None:
    import jsonschema
    import orjson

    from iam_catalog.output.build import build
    from iam_catalog.output.gc_pause import cyclic_gc_paused
    from iam_catalog.output.writers import dumps_catalog
    from iam_catalog.parsers.model import CATALOG_SCHEMA, catalog_from_dict
    from iam_catalog.parsers.validate import catalog_problem

    folder = corpus / "html" / "2026-04-01_110d32e3"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        path.write_bytes(dumps_catalog(build([folder]).catalog))
        raw = path.read_bytes()
    times: dict[str, list[float]] = {"load": [], "check": [], "jsonschema": []}
    for i in range(REPEATS):
        t = time.process_time()
        data = orjson.loads(raw)
        with cyclic_gc_paused():
            catalog_from_dict(data)
        times["load"].append(time.process_time() - t)
        t = time.process_time()
        assert catalog_problem(data) is None
        times["check"].append(time.process_time() - t)
        if i < JSONSCHEMA_REPEATS:
            t = time.process_time()
            jsonschema.validate(data, CATALOG_SCHEMA)
            times["jsonschema"].append(time.process_time() - t)
    load, check = statistics.median(times["load"]), statistics.median(times["check"])
    print(f"catalog.json of {folder.name}: {len(raw) / 1e6:.1f} MB")
    print(f"load (orjson + catalog_from_dict): median {load:.3f} s CPU")
    print(f"schema check (fastjsonschema): median {check:.3f} s CPU (+{check / load:.0%} of load)")
    slow = statistics.median(times["jsonschema"])
    print(f"jsonschema validate, for comparison: median {slow:.3f} s CPU")
