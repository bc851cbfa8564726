r"""SHA-256 manifests of raw data trees.

The manifest sits at the root of a raw tree as ``MANIFEST.sha256`` in the format of
``sha256sum`` (``<hex>  <relative/path>``), so ``sha256sum -c MANIFEST.sha256`` checks a
tree without this project.  The build verifies it before any analysis runs.

A manifest a user wrote with other tools is read in every line form ``sha256sum --strict
-c`` (GNU coreutils) accepts: lower- or upper-case hex; text (``<hex>  <path>``) or binary
(``<hex> *<path>``) mode, with a space or a tab after the digest; the BSD tag form
(``SHA256 (<path>) = <hex>``, as ``sha256sum --tag`` and BSD ``sha256`` write it); the
reversed form of ``sha256 -r`` (``<hex> <path>``, one space, in a whole file of that form);
names escaped with a leading backslash (``\\``, ``\n``, ``\r``); leading blanks, CRLF line
ends, ``#`` comments and blank lines; and a leading ``./`` on a path (as
``find . -type f -exec sha256sum {} +`` writes).  Any other line is refused with its number.

Command line::

    python -m paperbuild.manifest write DIR    # (re)write DIR/MANIFEST.sha256
    python -m paperbuild.manifest verify DIR   # check DIR against it
"""
# (the command line's help is DESCRIPTION below; this docstring is for readers of the code)
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from paperbuild import atomic
from paperbuild.errors import ManifestError

MANIFEST_NAME = "MANIFEST.sha256"
_CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r"}
_BLANK = " \t"
_FORMS = "`<sha256>  <path>`, `<sha256> *<path>` or `SHA256 (<path>) = <sha256>`"


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


class _Malformed(ValueError):
    """One manifest line no form of ``sha256sum -c`` reads; the message says why."""


def _unescape(name: str) -> str:
    """Undo sha256sum's escaping of a name (``\\\\``, ``\\n``, ``\\r``; nothing else)."""
    def one(match: re.Match) -> str:
        if match.group(1) not in _UNESCAPE:
            raise _Malformed(r"a name escaped with other than \\, \n or \r")
        return _UNESCAPE[match.group(1)]
    return _ESCAPE.sub(one, name)


def _escape(name: str) -> str:
    """A name as sha256sum writes it: with a backslash or line break escaped, and the line
    then marked by a leading backslash."""
    if not any(c in name for c in "\\\n\r"):
        return name
    return "\\" + name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _split(line: str, mode: list[str]) -> tuple[str, str]:
    """Path and digest of one checksum line, as coreutils' ``sha256sum -c`` splits it.

    ``mode`` holds the file's form once a line has fixed it: ``"standard"`` (a space or
    ``*`` after the separator) or ``"reversed"`` (one blank, then the name); sha256sum
    refuses a mix, since a name with a leading space would read differently in each.
    """
    i = len(line) - len(line.lstrip(_BLANK))
    escaped = line.startswith("\\", i)
    i += escaped
    if line.startswith("SHA256", i):
        rest = line[i + 6:]
        rest = rest[1:] if rest.startswith(" ") else rest
        close = rest.rfind(")")
        if not rest.startswith("(") or close < 0:
            raise _Malformed("a SHA256 tag line without '(<path>) = <digest>'")
        name, after = rest[1:close], rest[close + 1:].lstrip(_BLANK)
        digest = after[1:].lstrip(_BLANK)
        if not after.startswith("=") or not _HEX.fullmatch(digest):
            raise _Malformed("a SHA256 tag line whose digest is not 64 hex digits after '='")
    else:
        digest, separator, rest = line[i:i + 64], line[i + 64:i + 65], line[i + 65:]
        if not _HEX.fullmatch(digest) or separator not in (" ", "\t", ""):
            raise _Malformed("the line does not start with 64 hex digits and a blank")
        if not rest:
            raise _Malformed("no file name after the digest")
        if len(rest) == 1 or rest[0] not in " *":
            if mode and mode[0] == "standard":
                raise _Malformed("one blank between digest and name, after lines with two "
                                 "(sha256sum refuses the mix)")
            mode[:] = ["reversed"]
            name = rest
        elif mode and mode[0] == "reversed":
            name = rest
        else:
            mode[:] = ["standard"]
            name = rest[1:]
    name = _unescape(name) if escaped else name
    while name.startswith("./"):
        name = name[2:]
    return name, digest.lower()


def _entries(text: str) -> Iterator[tuple[int, str, str | None, str]]:
    """Every checksum line of a manifest: (line number, line, path or None, digest or why)."""
    mode: list[str] = []
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip(_BLANK) or line.startswith("#"):
            continue
        try:
            name, digest = _split(line, mode)
        except _Malformed as why:
            yield number, line, None, str(why)
            continue
        yield number, line, name, digest


def _manifest_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text; write it with `python -m paperbuild.manifest write "
                            f"{path.parent}` or `sha256sum`") from None
    except OSError as err:
        raise ManifestError(f"{path}: cannot be read ({err.strerror or err})") from None


def read_manifest(root: Path) -> dict[str, str]:
    """Read what the raw tree should hold, in any line form ``sha256sum --strict -c`` reads.

    Parameters
    ----------
    root
        The raw tree whose ``MANIFEST.sha256`` to read.

    Returns
    -------
    dict of str to str
        Relative path (a leading ``./`` dropped) -> hex digest in lower case, as listed.

    Raises
    ------
    ManifestError
        The manifest is missing or not UTF-8 text, has a line no form of sha256sum
        reads (named by its number, with the reason), or lists a path twice.
    """
    path = Path(root) / MANIFEST_NAME
    if not Path(root).is_dir():
        raise ManifestError(f"{root}: no such folder (give the raw data folder)")
    if not path.is_file():
        from paperbuild.commands import module

        raise ManifestError(f"{path}: no manifest; write one with `{module('paperbuild.manifest', 'write', root)}`")
    entries: dict[str, str] = {}
    for number, line, rel, digest in _entries(_manifest_text(path)):
        if rel is None:
            raise ManifestError(f"{path}:{number}: not a checksum line sha256sum -c reads ({digest}; "
                                f"expected {_FORMS}): {line!r}")
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
        ``root`` is not a folder, or holds no file to record.
    """
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root}: not a folder")
    files = list_tree(root)
    if not files:
        raise ManifestError(f"{root}: no files to record (is this the raw data folder?)")
    lines = []
    for rel in files:
        name = _escape(rel)
        mark = "\\" if name.startswith("\\") else ""
        lines.append(f"{mark}{sha256_file(root / rel)}  {name[len(mark):]}\n")
    target = root / MANIFEST_NAME
    atomic.write_text(target, "".join(lines))
    return target


def compare_tree(root: Path) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Compare a raw tree with its manifest file by file, without refusing anything.

    The build refuses a mismatching tree (:func:`verify_manifest`); the reproduction
    report needs the same comparison to say which files still match.  One pass hashes
    every listed file once for both.

    Parameters
    ----------
    root
        The raw tree to check.

    Returns
    -------
    tuple of (dict, dict, list of str)
        What the manifest lists (path -> digest), the listed files that match it now,
        and one problem per missing, extra or changed file.

    Raises
    ------
    ManifestError
        The manifest itself is missing or malformed.
    """
    root = Path(root)
    listed = read_manifest(root)
    present = set(list_tree(root))
    problems = [f"missing: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"extra (not in the manifest): {rel}" for rel in sorted(present - set(listed))]
    matching = {}
    for rel in sorted(set(listed) & present):
        if sha256_file(root / rel) == listed[rel]:
            matching[rel] = listed[rel]
        else:
            problems.append(f"changed (hash differs from the manifest): {rel}")
    return listed, matching, problems


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
    listed, _, problems = compare_tree(root)
    if problems:
        detail = "\n  ".join(problems)
        raise ManifestError(f"raw tree {root} does not match {MANIFEST_NAME}:\n  {detail}")
    return listed


DESCRIPTION = """\
Record or check the SHA-256 of every file of a raw data folder, in DIR/MANIFEST.sha256
(the format of sha256sum, so `sha256sum -c MANIFEST.sha256` checks it without this project).
The build refuses a raw tree that does not match its manifest.

  write DIR    hash every file under DIR but the manifest itself (hidden files count too)
               and (re)write DIR/MANIFEST.sha256
  verify DIR   check DIR against its manifest: lists every missing, extra or changed file"""

EXAMPLES = [
    "python -m paperbuild.manifest write /data/my-raw     # after copying your own instrument files",
    "python -m paperbuild.manifest verify data/raw",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m paperbuild.manifest write|verify DIR``: manifests for users' own raw trees.

    Parameters
    ----------
    argv
        The arguments after the program name; None means ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 when the folder or its manifest is wrong (one line
        on stderr, or the list of mismatching files), 2 for bad arguments.
    """
    from paperbuild.cli import Parser, run

    parser = Parser("python -m paperbuild.manifest", DESCRIPTION, EXAMPLES)
    parser.add_argument("action", choices=["write", "verify"], help="write or verify the manifest")
    parser.add_argument("root", type=Path, metavar="DIR", help="the raw data folder")

    def work(args: argparse.Namespace) -> int:
        if args.action == "write":
            target = write_manifest(args.root)
            print(f"wrote {target} ({len(read_manifest(args.root))} files)")
        else:
            print(f"{args.root}: {len(verify_manifest(args.root))} files match {MANIFEST_NAME}")
        return 0

    return run(parser, work, argv)



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
        text = (Path(root) / MANIFEST_NAME).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [rel for _, _, rel, _ in _entries(text) if rel is not None]


if __name__ == "__main__":
    sys.exit(main())
