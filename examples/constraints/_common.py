"""Helpers shared by the three constraint examples: command line, statistics, atomic output.

Not part of the library: the scripts import it from their own folder (``python
examples/constraints/<script>.py`` puts that folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUTPUT = "constraints-output"


def limit_threads() -> None:
    """One torch thread: the examples are many small runs, for which more threads cost more
    than they give, and the machine may be shared. NumPy's BLAS reads ``OMP_NUM_THREADS``
    only at start-up, so set that in the shell (the README's commands do)."""
    import torch

    torch.set_num_threads(1)


def parser(description: str) -> argparse.ArgumentParser:
    """``--quick``, ``--output-dir``, ``--seeds`` and ``--no-progress`` for every script."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny configuration for a smoke test (seconds); not the figure")
    p.add_argument("--output-dir", type=Path, default=Path(DEFAULT_OUTPUT),
                   help=f"where the figure and the numbers go (default ./{DEFAULT_OUTPUT})")
    p.add_argument("--seeds", type=int, default=None,
                   help="number of seeds (default 20, 8 or 5 by script; 2 with --quick)")
    p.add_argument("--no-progress", action="store_true", help="print nothing while running")
    return p


def start(argv: list[str] | None, description: str, quick: Any, default: Any
          ) -> tuple[argparse.Namespace, Any, Log]:
    """The common start of every script's ``main``: parse the command line, limit threads,
    pick the quick or default configuration (a dataclass with a ``seeds`` field), apply
    ``--seeds`` and make the progress log."""
    from dataclasses import replace

    args = parser(description).parse_args(argv)
    limit_threads()
    config = quick if args.quick else default
    if args.seeds is not None:
        config = replace(config, seeds=args.seeds)
    return args, config, Log(args.no_progress)


def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error (sample sd / sqrt(n); NaN for n < 2) and n of the finite values."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return float(x.mean()), se, n


def _atomic_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows (dicts with the same keys) as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return _atomic_bytes(path, buffer.getvalue().encode())


def write_json(path: Path, payload: Mapping[str, Any]) -> Path:
    """``payload`` as indented JSON (NaN written as null), atomically."""
    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple | np.ndarray):
            return [clean(v) for v in value]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, Path):
            return str(value)
        return value
    text = json.dumps(clean(payload), indent=2) + "\n"
    return _atomic_bytes(path, text.encode())


def save_figure(fig: Any, path: Path, dpi: int = 130) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return _atomic_bytes(path, buffer.getvalue())


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def environment() -> dict[str, Any]:
    """Versions and machine, for the JSON record."""
    import torch

    import rnndyn

    return {"rnndyn": rnndyn.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "torch_threads": torch.get_num_threads()}


class Log:
    """Timestamped progress lines (silent with ``--no-progress``)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:7.1f} s] {message}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start
