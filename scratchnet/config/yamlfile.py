"""params.yaml as data: a regular UTF-8 file of at most 1 MiB, parsed as safe YAML.

Every way the file itself can be wrong (missing, a directory, too large, not UTF-8,
not YAML) is a ParamsError naming it.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from ..base.errors import ParamsError

MAX_FILE_BYTES = 1 << 20  # a params.yaml larger than 1 MiB is not a params file


def read(path: str) -> Any:
    """The parsed contents of the YAML file at ``path``."""
    return read_with_text(path)[0]


def read_with_text(path: str) -> tuple[Any, str]:
    """(the parsed contents, the text) of the YAML file at ``path``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file (run from the repository root)") from None
    if not stat.S_ISREG(info.st_mode):
        raise ParamsError(f"{path}: not a regular file (a directory or a device?); params.yaml must be a YAML file")
    if info.st_size > MAX_FILE_BYTES:
        raise ParamsError(
            f"{path}: {info.st_size:,} bytes is more than a params file holds "
            f"(at most {MAX_FILE_BYTES:,}); is it the right file?"
        )
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        return YAML(typ="safe", pure=True).load(text), text
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8") from None
    except YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {str(e)[:1000]}") from None
    except RecursionError:
        raise ParamsError(f"{path}: nested too deeply to be a params file") from None
    except (OSError, MemoryError):
        raise
    except Exception as e:  # a tag's constructor on a bad value (!!int x, !!timestamp 2001-13-45, 4,301 digits)
        raise ParamsError(f"{path}: a value YAML cannot build ({type(e).__name__}: {str(e)[:300]})") from None
