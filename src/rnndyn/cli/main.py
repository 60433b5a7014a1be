"""The ``rnndyn`` command: ``simulate`` a TOML config, ``plot`` saved results, run the ``demo``.

Errors the user can fix (a bad config key, a missing file, an unusable device) are reported
on one line, ``rnndyn: error: <key>: <problem>``, with exit status 2; a simulation that blows
up exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import rnndyn
from rnndyn._errors import SimulationError
from rnndyn.cli.schema import ConfigError

__all__ = ["build_parser", "main"]

_EXAMPLES = """\
examples:
  rnndyn simulate examples/chaotic_random.toml -o chaotic.nc
  rnndyn simulate examples/multiregion.toml -o mr.nc --set run.t_max=50 --set run.seed=3
  rnndyn plot chaotic.nc mr.nc -o activity.png
  rnndyn demo -o rnndyn-demo
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rnndyn`` command."""
    parser = argparse.ArgumentParser(
        prog="rnndyn",
        description="Simulate recurrent rate networks of the brain and look at their activity.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rnndyn {rnndyn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "simulate", help="simulate the network a TOML config describes",
        description="Simulate the network described by a TOML config (sections [connectivity], "
                    "[network], [run], [recorders.*]; see examples/*.toml) and save the result "
                    "as NetCDF.")
    run.add_argument("config", type=Path, metavar="CONFIG.toml")
    run.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.nc",
                     help="NetCDF file to write (atomically)")
    run.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="SECTION.KEY=VALUE",
                     help="override a config value (TOML syntax), e.g. run.t_max=50; repeatable")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no progress bar and no summary line")

    plot = commands.add_parser("plot", help="draw saved results into a figure",
                               description="Draw one row of activity panels per saved result.")
    plot.add_argument("results", type=Path, nargs="+", metavar="RESULT.nc")
    plot.add_argument("-o", "--output", type=Path, required=True, metavar="FIGURE.png",
                      help="image to write; the format follows the suffix (png, pdf, svg)")

    demo = commands.add_parser(
        "demo", help="simulate two example networks and write a figure and an HTML page",
        description="Simulate a chaotic random network and a multiregion network, and write "
                    "demo.png, index.html and the NetCDF results into a folder.")
    demo.add_argument("-o", "--output", type=Path, default=Path("rnndyn-demo"), metavar="DIR",
                      help="folder to write into (created if needed; default rnndyn-demo)")
    demo.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``rnndyn`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 for a usage or config error, 1 when the simulation
        failed, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and usage errors
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return _dispatch(args)
    except ConfigError as error:
        print(f"rnndyn: error: {error}", file=sys.stderr)
        return 2
    except SimulationError as error:
        print(f"rnndyn: error: simulation failed: {' '.join(str(error).split())}",
              file=sys.stderr)
        return 1
    except OSError as error:
        print(f"rnndyn: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rnndyn: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    # Imported here so that `rnndyn --help` answers without importing torch.
    if args.command == "simulate":
        from rnndyn.cli.commands import simulate_command

        simulate_command(args.config, args.output, args.device, args.quiet, args.overrides)
    elif args.command == "plot":
        from rnndyn.cli.commands import plot_command

        plot_command(args.results, args.output)
    else:
        from rnndyn.cli.demo import run_demo

        run_demo(args.output, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
