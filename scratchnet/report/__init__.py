"""What the evaluate stage reports: params.yaml's evaluate section, metrics, figures, PCA, and
the trained model and per-epoch record read back. The train stage never imports it, so
changing a figure never retrains a model."""
