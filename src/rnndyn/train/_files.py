"""Atomic writing and checked reading of torch files (model files and training checkpoints).

A file is written to a temporary file beside the target and renamed over it (``os.replace``,
atomic on POSIX and Windows) only once complete, so a crash or an exception mid-write leaves the
previous file intact and no half-written file under the target's name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["atomic_torch_save", "torch_load"]


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file and ``os.replace``.

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist.
    ValueError
        ``path`` is a folder.
    """
    target = Path(path)
    if not target.parent.exists():
        raise FileNotFoundError(f"path: folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"path must be a file name, got the folder {str(target)!r}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        # mkstemp creates the file 0600; give the result the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def torch_load(path: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """Load a dict written by `atomic_torch_save` whose ``"rnndyn_kind"`` is ``kind``.

    ``weights_only=True``: the files hold tensors and plain Python values only, so loading never
    runs pickled code.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"path: no such file {str(source)!r}")
    try:
        data = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for foreign files
        raise ValueError(f"path: {str(source)!r} is not a torch file readable by rnndyn "
                         f"({type(err).__name__}: {err})") from None
    if not isinstance(data, dict) or data.get("rnndyn_kind") != kind:
        raise ValueError(f"path: {str(source)!r} is not an rnndyn {kind} file")
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
