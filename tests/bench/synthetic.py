"""Synthetic daily releases for the history bench and tests: a base catalog changed a
little each day, the same way for the same seed (descriptions edited, access levels
changed, actions added and removed, a resource type's ARN format changed)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

from iam_catalog.parsers.model import AccessLevel, Action, Catalog, CatalogSource

EDITS_PER_DAY = 20
ADDS_PER_DAY = 5
REMOVALS_PER_DAY = 3


def daily_releases(base: Catalog, days: int, seed: int = 15) -> Iterator[Catalog]:
    """``days`` catalogs, each the previous one plus one day's synthetic changes."""
    rng = random.Random(seed)
    services = list(base.services)
    for day in range(1, days + 1):
        touched: dict[int, list[Action]] = {}

        def actions_of(i: int, touched: dict[int, list[Action]] = touched) -> list[Action]:
            if i not in touched:
                touched[i] = list(services[i].actions)
            return touched[i]

        with_actions = [i for i, s in enumerate(services) if s.actions]
        for _ in range(EDITS_PER_DAY):
            i = rng.choice(with_actions)
            acts = actions_of(i)
            j = rng.randrange(len(acts))
            a = acts[j]
            if rng.random() < 0.7:
                acts[j] = dataclasses.replace(a, description=f"{a.description} (day {day})")
            else:
                level = rng.choice(list(AccessLevel))
                acts[j] = dataclasses.replace(a, access_level=level, access_levels=(level,))
        for n in range(ADDS_PER_DAY):
            acts = actions_of(rng.choice(with_actions))
            acts.append(
                Action(
                    f"SyntheticDay{day}Action{n}",
                    "Added by the bench",
                    AccessLevel.READ,
                    (AccessLevel.READ,),
                )
            )
        for _ in range(REMOVALS_PER_DAY):
            acts = actions_of(rng.choice(with_actions))
            if len(acts) > 1:
                acts.pop(rng.randrange(len(acts)))
        for i, acts in touched.items():
            services[i] = dataclasses.replace(
                services[i], actions=tuple(sorted(acts, key=lambda a: a.name))
            )
        i = rng.choice([i for i, s in enumerate(services) if s.resource_types])
        rts = list(services[i].resource_types)
        k = rng.randrange(len(rts))
        rts[k] = dataclasses.replace(
            rts[k], arn_formats=(*rts[k].arn_formats, f"arn:${{Partition}}:x:::day{day}")
        )
        services[i] = dataclasses.replace(services[i], resource_types=tuple(rts))
        source = CatalogSource("files", f"synthetic-{seed}-{day}", base.source.pages, ())
        yield Catalog(source, tuple(services))
