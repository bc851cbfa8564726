"""python -m data.synth [--truth FILE] --out DIR: write a raw tree from ground truth."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data.synth.tree import write_tree
from data.synth.truth import load_truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.synth", description=__doc__)
    parser.add_argument("--truth", type=Path, help="YAML overriding keys of data/synth/truth.yaml")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the raw tree into")
    args = parser.parse_args(argv)
    try:
        truth = load_truth(args.truth)
    except (KeyError, OSError) as err:
        print(f"error: {args.truth}: {err}", file=sys.stderr)
        return 2
    write_tree(truth, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
