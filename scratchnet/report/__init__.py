"""What the evaluate stage reports: metrics, figures, PCA. The train stage never
imports it, so changing a figure never retrains a model."""
