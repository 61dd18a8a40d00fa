"""Clustering evaluation of feature files (the paper's HAC protocol)."""
