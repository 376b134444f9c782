"""Parsers: pure functions from page text to the canonical model (no I/O)."""
