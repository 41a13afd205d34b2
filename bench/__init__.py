"""The throughput benchmark (issue 7): ``python -m bench run --units 20,100 --repeat 3``.

See docs/BENCHMARKS.md for what each figure means and the latest results.
"""
