"""`make sweep`: a grid of DVC experiments run on a Dask cluster, and its report."""
