"""Principal component analysis by SVD of the centred data (NumPy only)."""

import numpy as np


def pca(X, n_components=2):
    """Project the rows of X on their first principal components: at most ``n_components``, and
    no more than the data have (a layer of one unit, or a single row, has one).

    Each component's sign is fixed so that its largest-magnitude loading is
    positive, which makes the result deterministic.
    """
    centred = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:n_components]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    signs[signs == 0] = 1
    return centred @ (components * signs[:, None]).T
