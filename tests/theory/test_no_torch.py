"""The theory package is NumPy/SciPy only: importing it must not import torch."""

import subprocess
import sys


def test_importing_theory_does_not_import_torch():
    code = ("import sys, rnndyn.theory, rnndyn.theory.lowrank, rnndyn.theory.two_time; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
