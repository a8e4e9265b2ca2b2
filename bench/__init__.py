"""Benchmarks. `python -m bench [area ...]` runs each area's `bench/<area>.py` and writes its results."""
