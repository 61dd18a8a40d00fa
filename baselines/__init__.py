"""Baseline representation learners (VQ-VAE, beta-VAE, gdrae, FDAE) behind one registry."""
