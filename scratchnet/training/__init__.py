"""What only the train stage runs: params.yaml's model and train sections, the recipe from them
to ``fit``, the distortions of the training digits, the per-epoch record (DVCLive), the
progress line and the advice on divergence. Only the train stage depends on this folder."""
