"""Linear/MLP probes on frozen features or finetuned encoders (the paper's Table 2 protocol)."""
