"""The benchmark of issue 7: `python bench/run.py` (or `make bench`)."""
