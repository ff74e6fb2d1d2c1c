"""Benchmarks (`make bench`): figures and ratios against the named peers, in one run."""
