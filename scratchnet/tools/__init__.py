"""Developer tools beside the pipeline: bench, compare (against PyTorch), sweep."""
