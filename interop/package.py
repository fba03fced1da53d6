"""Writing a package folder atomically, with a manifest of every file.

A run writes into a hidden sibling folder (``.<name>.partial-<pid>``) and, only when everything is written,
swaps it into place; a run killed halfway leaves the previous package untouched. On Linux the swap is one
``renameat2(RENAME_EXCHANGE)``, so the package path always holds a complete package; elsewhere it is two
renames (previous package to ``.<name>.old-<pid>``, then the new one into place), and a run killed between
them has its previous package restored by the next run. Stale partial folders of killed runs are removed
by the next run (:func:`remove_stale_partials`).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import orjson

PARTIAL_MARK = ".partial-"
OLD_MARK = ".old-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_siblings(target: Path, mark: str) -> list[Path]:
    """Folders ``.<target name><mark><pid>`` beside ``target`` whose run is no longer alive."""
    prefix = f".{target.name}{mark}"
    stale = []
    for candidate in sorted(target.parent.iterdir()):
        if candidate.name.startswith(prefix) and candidate.is_dir():
            pid_text = candidate.name[len(prefix):]
            if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
                continue
            stale.append(candidate)
    return stale


def remove_stale_partials(target: Path) -> list[Path]:
    """Delete partial folders beside ``target`` left by runs that are no longer alive.

    A previous package moved aside (``.<name>.old-<pid>``) by a run killed before it moved the new one in
    is put back when ``target`` is missing, and deleted otherwise.
    """
    removed = []
    if not target.parent.exists():
        return removed
    for old in _stale_siblings(target, OLD_MARK):
        if not target.exists():
            os.replace(old, target)
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    for candidate in _stale_siblings(target, PARTIAL_MARK):
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False, having changed nothing, where the system call or the file system does not support it.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first))


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh work folder; on success it replaces ``target`` in one rename, on failure it is removed."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(target)
    work = target.parent / f".{target.name}{PARTIAL_MARK}{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if target.exists() and exchange_paths(work, target):
        shutil.rmtree(work, ignore_errors=True)     # now holds the previous package
        return
    old = target.parent / f".{target.name}{OLD_MARK}{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(work, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def build_manifest(folder: Path, *, extra: dict) -> dict:
    """SHA-256 and size of every file in ``folder`` (sorted), plus tool/standards/input facts."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        files.append({"path": path.relative_to(folder).as_posix(), "sha256": sha256_file(path),
                      "bytes": path.stat().st_size})
    return {**extra, "files": files}


def write_manifest(folder: Path, *, extra: dict) -> Path:
    manifest = build_manifest(folder, extra=extra)
    path = folder / "manifest.json"
    path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return path
