"""``python -m rnndyn.cli``: the same as the ``rnndyn`` command."""

import sys

from rnndyn.cli.main import main

sys.exit(main())
