"""Disentanglement metrics, interpretability and robustness analyses on features and checkpoints."""
