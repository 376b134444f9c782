"""Everything that leaves the pipeline: catalog writers, the diff, reports, the CLI."""
