"""Atomic file writing: readers see the old file or the complete new one, never a partial one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed over ``target``.

    The temporary file sits in the target's folder so that the rename stays on one file
    system (and so is atomic). mkstemp creates it private (0600); it gets the permissions an
    ordinary new file would have before the rename, so a published figure stays readable.

    Raises
    ------
    FileNotFoundError
        If the target's folder does not exist.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path: folder {str(target.parent)!r} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
