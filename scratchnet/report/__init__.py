"""What the evaluate stage reports: ``evaluation.evaluate`` computes a trained model's metrics and
figures (params.yaml's evaluate section, metrics, plots, PCA, the model file and per-epoch record read
back). The train stage never imports it, so changing a figure never retrains a model."""
