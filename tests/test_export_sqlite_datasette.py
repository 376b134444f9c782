"""The SQLite export opened by datasette itself (house style 26: tested by running the
consuming tool): its tables, a view and full-text search answer over datasette's JSON
API as the catalog says."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from datasette.app import Datasette

from iam_catalog.output.exports import export


def test_datasette_serves_tables_views_and_search(html_2026, tmp_path):
    model = html_2026.catalog
    path = tmp_path / "catalog.db"
    export("sqlite", model, path)
    ds = Datasette([str(path)])

    async def get(url: str):
        response = await ds.client.get(url)
        assert response.status_code == 200, (url, response.text[:200])
        return response.json()

    async def run():
        s3 = await get("/catalog/actions.json?service=s3&_shape=array&_size=max")
        sql = (
            "select count(distinct action) as n from action_keys where action like 'ec2:%' "
            "and condition_key = 'aws:ResourceTag/${TagKey}'"
        )
        rows = await get("/catalog.json?" + urlencode({"sql": sql, "_shape": "array"}))
        found = await get("/catalog/actions.json?_search=multipart&_shape=array&_size=max")
        fks = await get("/catalog/action_resource_types.json?_shape=array&_size=1&_labels=on")
        return s3, rows, found, fks

    s3, rows, found, fks = asyncio.run(run())
    want = {a.name for s in model.services if s.prefix == "s3" for a in s.actions}
    assert {r["name"] for r in s3} == want
    assert rows == [{"n": 526}]
    assert found and all("multipart" in r["description"].lower() for r in found)
    # datasette follows the foreign key to label the action
    assert isinstance(fks[0]["action_id"], dict) and "label" in fks[0]["action_id"]
