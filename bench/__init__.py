"""Benchmarks: scripts run from the repository root as `python -m bench.<name>` (bench/run runs them all).

A package so the scripts import each other and the test support (tests.support) by absolute module
name, the same way mypy sees them, with no sys.path edits.
"""
