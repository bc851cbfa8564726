"""python -m data.synth --out DIR [--truth FILE]: write a raw tree from ground truth."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data.synth.truth import PAPER_SIZE, load_truth, sizes
from paperbuild.cli import Parser, run
from paperbuild.errors import BuildError

DESCRIPTION = """\
Write a complete raw tree (every instrument file the paper's analyses read, and its
MANIFEST.sha256) from the synthetic instrument's ground truth.

--truth FILE is YAML with the nesting of data/synth/truth.yaml; it replaces only the keys
it gives (an unknown key is refused, with the nearest known one). Without it the tree
is the committed data/raw. --size real writes microscopy data at the size today's
instruments record (a 4 GiB EDS spectrum image, 4096 x 4096 HRTEM frames; about 5 GB on
disk and a few minutes): the build analyses it out of core. Each technique's files are
written in turn, one line each."""

EXAMPLES = [
    "python -m data.synth --out /tmp/raw                         # the default truth (= data/raw)",
    "python -m data.synth --truth mine.yaml --out /tmp/raw-mine  # other truth, e.g. echem: {cycles: 480}",
    "python -m data.synth --truth build/validation/runs/seed-3/truth.yaml --out /tmp/raw-3",
    "python -m data.synth --size real --out /tmp/raw-real        # real-sized EDS map and HRTEM frames",
]


def parser() -> Parser:
    p = Parser("python -m data.synth", DESCRIPTION, EXAMPLES)
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder to write the raw tree into (created; existing files are overwritten)")
    p.add_argument("--truth", type=Path, metavar="FILE", help="YAML overriding keys of data/synth/truth.yaml")
    p.add_argument("--size", choices=sizes(), default=PAPER_SIZE,
                   help="data size: the paper's (default, = data/raw) or real (data/synth/sizes/real.yaml); "
                        "--truth is applied on top")
    return p


def write(args: argparse.Namespace) -> int:
    from data.synth.tree import write_tree

    truth = load_truth(args.truth, args.size)  # refused before anything is written
    if args.out.exists() and not args.out.is_dir():
        raise BuildError(f"{args.out}: not a folder")
    write_tree(truth, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Write a raw tree; a bad ``--truth`` file or ``--out`` ends in one line naming it.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 when the tree was written, 2 when the arguments, the truth file
        or the output folder were refused (nothing is written then).
    """
    return run(parser(), write, argv, refused=2)


if __name__ == "__main__":
    sys.exit(main())
