"""Datasets: the built-in synthetic data (default) and one module per on-disk format."""
