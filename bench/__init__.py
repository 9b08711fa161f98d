"""Benchmark: the refresh at district, city and province scale (make bench TIER=...)."""
