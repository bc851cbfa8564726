"""python -m data.synth [--truth FILE] --out DIR: write a raw tree from ground truth."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data.synth.tree import write_tree
from data.synth.truth import load_truth
from paperbuild.errors import BuildError


def main(argv: list[str] | None = None) -> int:
    """Write a raw tree; a bad ``--truth`` file ends in one line naming it.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 when the tree was written, 2 when the truth file was refused
        (nothing is written then).
    """
    parser = argparse.ArgumentParser(prog="python -m data.synth", description=__doc__)
    parser.add_argument("--truth", type=Path, help="YAML overriding keys of data/synth/truth.yaml")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the raw tree into")
    args = parser.parse_args(argv)
    try:
        truth = load_truth(args.truth)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_tree(truth, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
