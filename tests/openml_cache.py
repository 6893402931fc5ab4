"""A small mnist_784 in scikit-learn's OpenML cache layout, so the real `fetch_openml` reads it offline.

scikit-learn caches every OpenML response under ``<data_home>/openml/openml.org/<url path>.gz``
and reads that file instead of the network when it exists (its own tests serve
files the same way). The data set here has mnist_784's name, version, id, columns
(pixel1..pixel784 numeric, class nominal 0..9) and ARFF format, with the rows given.
"""

import gzip
import hashlib
import json
from pathlib import Path

DATA_ID, FILE_ID = 554, 52667
ARFF_URL = f"https://api.openml.org/data/v1/download/{FILE_ID}/mnist_784.arff"


def arff_text(X, y):
    lines = ["@RELATION mnist_784", ""]
    lines += [f"@ATTRIBUTE pixel{i} NUMERIC" for i in range(1, X.shape[1] + 1)]
    lines += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "", "@DATA"]
    lines += [",".join(map(str, row)) + f",{label}" for row, label in zip(X.tolist(), y.tolist())]
    return "\n".join(lines) + "\n"


def responses(X, y):
    """{url path: response bytes} for every request fetch_openml('mnist_784', version=1) makes."""
    arff = arff_text(X, y).encode()
    feature = lambda i, name, kind, target: {
        "index": str(i),
        "name": name,
        "data_type": kind,
        "is_target": target,
        "is_ignore": "false",
        "is_row_identifier": "false",
        "number_of_missing_values": "0",
    }
    features = [feature(i, f"pixel{i + 1}", "numeric", "false") for i in range(X.shape[1])]
    features.append(feature(X.shape[1], "class", "nominal", "true"))
    description = {
        "id": str(DATA_ID),
        "name": "mnist_784",
        "version": "1",
        "format": "ARFF",
        "url": ARFF_URL,
        "file_id": str(FILE_ID),
        "default_target_attribute": "class",
        "status": "active",
        "md5_checksum": hashlib.md5(arff).hexdigest(),
    }
    qualities = [
        {"name": "NumberOfInstances", "value": f"{len(X)}.0"},
        {"name": "NumberOfFeatures", "value": f"{X.shape[1] + 1}.0"},
    ]
    api = "api/v1/json/data"
    return {
        f"{api}/list/data_name/mnist_784/limit/2/data_version/1": json.dumps(
            {
                "data": {
                    "dataset": [
                        {
                            "did": DATA_ID,
                            "name": "mnist_784",
                            "version": 1,
                            "status": "active",
                            "format": "ARFF",
                            "file_id": FILE_ID,
                        }
                    ]
                }
            }
        ),
        f"{api}/{DATA_ID}": json.dumps({"data_set_description": description}),
        f"{api}/features/{DATA_ID}": json.dumps({"data_features": {"feature": features}}),
        f"{api}/qualities/{DATA_ID}": json.dumps({"data_qualities": {"quality": qualities}}),
        f"data/v1/download/{FILE_ID}/mnist_784.arff": arff,
    }


def write_openml_cache(data_home, X, y):
    """Write the responses into ``data_home`` (what fetch_openml's data_home / SCIKIT_LEARN_DATA names)."""
    root = Path(data_home) / "openml" / "openml.org"
    for path, body in responses(X, y).items():
        target = root / (path + ".gz")
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wb") as f:
            f.write(body if isinstance(body, bytes) else body.encode())
    return Path(data_home)
