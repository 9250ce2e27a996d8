"""Benchmarks for Circlekeeper: `python -m bench` (or `make bench`) prints one markdown table.

Every benchmark is a plain async function taking its sizes as arguments, so the test suite can
run each one small (`tests/test_bench.py`) and `python -m bench --quick` can run them all in a
few seconds. Each comparison is measured in the same process run as its baseline, and every
row is the median of several runs.
"""
