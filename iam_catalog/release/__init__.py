"""Nightly releases a team can trust unattended: fetch, build incrementally, gate against
the latest release, then publish an immutable release folder (and move ``latest``) or
quarantine it, keeping the changelog, the Atom feed, ``index.json`` and ``status.json``.

- :mod:`~iam_catalog.release.night`: the pipeline (:func:`run_night`, :func:`accept`,
  :func:`read_status`).
- :mod:`~iam_catalog.release.gates`: the gates, as data (pure).
- :mod:`~iam_catalog.release.store`: the releases folder and how it is written.
- :mod:`~iam_catalog.release.changelog`, :mod:`~iam_catalog.release.feed`: the
  derived files.
- :mod:`~iam_catalog.release.cli`: the ``iam-catalog nightly`` command group.
"""
