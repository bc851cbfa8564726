"""SHA-256 manifests of raw data trees.

The manifest sits at the root of a raw tree as ``MANIFEST.sha256`` in the format of
``sha256sum`` (``<hex>  <relative/path>``), so ``sha256sum -c MANIFEST.sha256`` checks a
tree without this project.  The build verifies it before any analysis runs.

Command line::

    python -m paperbuild.manifest write DIR    # (re)write DIR/MANIFEST.sha256
    python -m paperbuild.manifest verify DIR   # check DIR against it
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from paperbuild import atomic
from paperbuild.errors import ManifestError

MANIFEST_NAME = "MANIFEST.sha256"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Fingerprint a file for manifests and provenance, in chunks so large raw files stay cheap.

    Parameters
    ----------
    path
        The file to hash.

    Returns
    -------
    str
        The SHA-256 digest, 64 lower-case hex digits (as ``sha256sum`` prints it).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_tree(root: Path) -> list[str]:
    """What a raw tree holds, for comparison with its manifest: every file but the manifest.

    Hidden files (editor or OS droppings such as ``.DS_Store``) count: a raw tree is
    exactly what the manifest says, nothing more.

    Parameters
    ----------
    root
        The raw tree.

    Returns
    -------
    list of str
        Relative POSIX paths, sorted.
    """
    root = Path(root)
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST_NAME
    )


def read_manifest(root: Path) -> dict[str, str]:
    """Read what the raw tree should hold, refusing a manifest ``sha256sum -c`` would misread.

    Parameters
    ----------
    root
        The raw tree whose ``MANIFEST.sha256`` to read.

    Returns
    -------
    dict of str to str
        Relative path -> hex digest, as listed.

    Raises
    ------
    ManifestError
        The manifest is missing, has a malformed line, or lists a path twice.
    """
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(
            f"{path}: no manifest; write one with `python -m paperbuild.manifest write {root}`"
        )
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ManifestError(f"{path}:{number}: not a `<sha256>  <path>` line: {line!r}")
        if rel in entries:
            raise ManifestError(f"{path}:{number}: {rel} is listed twice")
        entries[rel] = digest
    return entries


def write_manifest(root: Path) -> Path:
    """Record a raw tree as it is now, so later builds can prove they read the same files.

    Parameters
    ----------
    root
        The raw tree; every file in it (see :func:`list_tree`) is hashed.

    Returns
    -------
    Path
        The written ``root/MANIFEST.sha256``.

    Raises
    ------
    ManifestError
        ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root}: not a folder")
    lines = [f"{sha256_file(root / rel)}  {rel}\n" for rel in list_tree(root)]
    target = root / MANIFEST_NAME
    atomic.write_text(target, "".join(lines))
    return target


def verify_manifest(root: Path) -> dict[str, str]:
    """Refuse a raw tree that is not exactly what its manifest lists, naming every difference.

    Parameters
    ----------
    root
        The raw tree to check.

    Returns
    -------
    dict of str to str
        Relative path -> hex digest of every verified file.

    Raises
    ------
    ManifestError
        The manifest is missing or malformed, or a file is missing, extra or changed
        (all of them listed in one message).
    """
    root = Path(root)
    listed = read_manifest(root)
    present = set(list_tree(root))
    problems = [f"missing: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"extra (not in the manifest): {rel}" for rel in sorted(present - set(listed))]
    for rel in sorted(set(listed) & present):
        if sha256_file(root / rel) != listed[rel]:
            problems.append(f"changed (hash differs from the manifest): {rel}")
    if problems:
        detail = "\n  ".join(problems)
        raise ManifestError(f"raw tree {root} does not match {MANIFEST_NAME}:\n  {detail}")
    return listed


def main(argv: list[str] | None = None) -> int:
    """``python -m paperbuild.manifest write|verify DIR``: manifests for users' own raw trees.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 when the tree or its manifest is wrong (the
        message goes to stderr).
    """
    parser = argparse.ArgumentParser(prog="python -m paperbuild.manifest", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["write", "verify"])
    parser.add_argument("root", type=Path, help="the raw data folder")
    args = parser.parse_args(argv)
    try:
        if args.action == "write":
            print(f"wrote {write_manifest(args.root)} ({len(list_tree(args.root))} files)")
        else:
            print(f"{args.root}: {len(verify_manifest(args.root))} files match {MANIFEST_NAME}")
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0



def read_manifest_names(root: Path) -> list[str]:
    """The paths a manifest lists, or none if it is missing or unreadable.

    For ``dodo.py``: cheap, and never raises, so that the verify task itself runs
    and reports the problem with its full message.

    Parameters
    ----------
    root
        The raw tree whose ``MANIFEST.sha256`` to read.

    Returns
    -------
    list of str
        Relative paths in manifest order; empty when the manifest cannot be read.
    """
    try:
        return [line.partition("  ")[2] for line in (Path(root) / MANIFEST_NAME).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError):
        return []


if __name__ == "__main__":
    sys.exit(main())
