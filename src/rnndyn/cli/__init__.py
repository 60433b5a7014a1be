"""The ``rnndyn`` command line: ``simulate`` a TOML config, ``plot`` results, run the ``demo``.

Kept import-light (no torch) so that ``rnndyn --help`` answers at once; see `rnndyn.cli.main`.
"""

from rnndyn.cli.main import main

__all__ = ["main"]
