"""The way back from a damaged copy in DVC's cache: the command that really restores a file.

DVC names a cache object by the MD5 of its contents and trusts the name while the object's
size and modification time are as it recorded them: an object damaged in place (a bad disk,
an interrupted copy that kept its times) is checked out again by `dvc checkout`, and `dvc repro
-f` puts it back after rerunning the stage (the object "exists"). Removing the object makes
DVC see the output as not in its cache, so `dvc repro` reruns its stage and stores a good copy.
"""

import os
import re

_PATH = re.compile(r"^\s*-?\s*path:\s*(.+?)\s*$")
_MD5 = re.compile(r"^\s*md5:\s*([0-9a-f]{32})\s*$")  # a file's; a directory's ends in .dir


def cached_md5(path):
    """(repository root, the MD5 that dvc.lock records for the file ``path``), or None."""
    here = os.path.dirname(os.path.abspath(path))
    while True:
        lock = os.path.join(here, "dvc.lock")
        if os.path.isdir(os.path.join(here, ".dvc")) and os.path.isfile(lock):
            break
        if os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)
    relative = os.path.relpath(os.path.abspath(path), here).replace(os.sep, "/")
    try:
        with open(lock, encoding="utf-8") as f:
            lines = f.read(1 << 20).splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for i, line in enumerate(lines):
        found = _PATH.match(line)
        if found and found.group(1).strip("'\"") == relative:
            for following in lines[i + 1 : i + 5]:
                if md5 := _MD5.match(following):
                    return here, md5.group(1)
    return None


def remedy(path):
    """What to run when the file ``path`` cannot be read: for a file DVC tracks, remove its cached
    copy and rerun (with the object's name from dvc.lock); for any other, rerun what wrote it."""
    found = cached_md5(path)
    if found is None:
        return "if DVC wrote it, rerun its stage (`dvc repro -f STAGE`)"
    root, md5 = found
    where = "" if os.path.abspath(root) == os.path.abspath(os.curdir) else f"cd {root} && "
    return (
        "if DVC restored it, its copy in DVC's cache is damaged, and DVC trusts a copy by its name "
        "(`dvc checkout` and `dvc repro -f` bring the damaged one back): remove that copy and rerun: "
        f'`{where}rm -f "$(dvc cache dir)/files/md5/{md5[:2]}/{md5[2:]}" && dvc repro`'
    )
