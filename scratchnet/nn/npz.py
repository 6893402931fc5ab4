"""Read an .npz archive without unpickling; every way a file can fail becomes one error naming it."""
import zipfile

import numpy as np


def read_npz(path, error, kind):
    """{name: array} of every array in the .npz at ``path``.

    Raises ``error`` (an exception class) with a message naming ``path`` and the
    ``kind`` of file it should be ("model", "data").
    """
    try:
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as f:
            return {name: f[name] for name in f.files}
    except (TypeError, AttributeError):  # a plain .npy array: np.load returns no archive
        raise error(f"{path}: a single .npy array, not an .npz {kind} file") from None
    except FileNotFoundError:
        raise error(f"{path}: no such {kind} file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise error(f"{path}: not a readable .npz {kind} file ({e})") from None
