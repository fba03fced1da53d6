"""Benchmarks (issue 10): ``python -m benchmarks.run --workloads W1,W2-10k,W2-100k``. Never timed tests."""
