"""Benchmarks: quality and scale figures, run by hand (not timed tests)."""
