"""Developer tools beside the pipeline: bench, compare (against PyTorch), exps (the sweep is tools/sweep.py)."""
