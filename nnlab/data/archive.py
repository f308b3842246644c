"""Zip and tar archives, checked entry by entry before anything is written, and extracted only inside a folder.

Refused: absolute paths, `..`, links and other special entries, more than MAX_FILES entries, more than
MAX_BYTES uncompressed, and an entry that turns out larger than it declared (a zip bomb).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nnlab.core.errors import DataError
from nnlab.store.unpacked import forget, note_use, reserve

MAX_FILES = 200_000
MAX_BYTES = 2 * 1024**3  # uncompressed, all entries together
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


@dataclass(frozen=True)
class Member:
    """One archive entry that passed the checks: its clean relative path, declared size, and kind."""

    name: str  # "cats/001.jpg", forward slashes, no "." or ".." parts
    size: int
    is_dir: bool
    raw: zipfile.ZipInfo | tarfile.TarInfo


def is_archive(path: Path) -> bool:
    """True for a zip or a (compressed) tar file, judged by content, not by name."""
    if not path.is_file():
        return False
    if zipfile.is_zipfile(path):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def clean_name(raw: str, archive: str) -> str:
    """The entry name as a safe relative path; DataError for absolute paths, `..`, drive letters or NULs."""
    if "\x00" in raw or raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        raise DataError(
            f"Archive {archive} has an entry with an absolute path ({raw!r}); "
            "rebuild it with paths relative to its top folder."
        )
    parts = [p for p in re.split(r"[/\\]", raw) if p not in ("", ".")]
    if ".." in parts:
        raise DataError(
            f"Archive {archive} has an entry that points outside its folder ({raw!r}); "
            "rebuild it without '..' in any path."
        )
    return "/".join(parts)


def check_archive(
    path: Path, keep: Callable[[str], bool] | None = None, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES
) -> list[Member]:
    """Every entry (those `keep` accepts), checked; DataError naming the archive and the problem otherwise."""
    members = [m for m in _members(path) if keep is None or keep(m.name)]
    if len(members) > max_files:
        raise DataError(
            f"Archive {path.name} has {len(members):,} entries, more than the limit of "
            f"{max_files:,}; split it into smaller archives."
        )
    total = sum(m.size for m in members)
    if total > max_bytes:
        raise DataError(
            f"Archive {path.name} unpacks to {total / 1e9:.1f} GB, more than the limit of "
            f"{max_bytes / 1e9:.1f} GB; use smaller or fewer files."
        )
    return members


def _members(path: Path) -> Iterator[Member]:
    if zipfile.is_zipfile(path):
        yield from _zip_members(path)
        return
    try:
        with tarfile.open(path) as tar:
            for info in tar.getmembers():
                yield _tar_member(info, path.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(
            f"{path.name} is not a readable zip or tar archive ({type(exc).__name__}); "
            "check the file or create it again."
        ) from None


def _zip_members(path: Path) -> Iterator[Member]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path.name} is not a readable zip archive ({exc}); check the file or zip it again.") from None
    for info in infos:
        raw = _entry_name(info)
        name = clean_name(raw, path.name)
        if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
            raise DataError(
                f"Archive {path.name} has a link entry ({raw!r}); links are not accepted, so zip the files themselves."
            )
        if info.flag_bits & 0x1:
            raise DataError(f"Archive {path.name} is encrypted ({raw!r}); zip it without a password.")
        if name:
            yield Member(name, info.file_size, info.is_dir(), info)


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its maker wrote it: a name without the UTF-8 flag that is valid UTF-8 (macOS's Archive
    Utility writes them so) is read as UTF-8, not as the cp437 zipfile assumes ('crêpe', not 'cre╠épe')."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _tar_member(info: tarfile.TarInfo, archive: str) -> Member:
    name = clean_name(info.name, archive)
    if not (info.isreg() or info.isdir()):
        raise DataError(
            f"Archive {archive} has a link or special entry ({info.name!r}); only plain files "
            "and folders are accepted, so pack the files themselves."
        )
    return Member(name, info.size if info.isreg() else 0, info.isdir(), info)


def safe_extract(
    path: Path,
    dest: Path,
    keep: Callable[[str], bool] | None = None,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
) -> Path:
    """Check, then extract into dest (which must not exist yet) through a temporary folder beside it."""
    members = check_archive(path, keep, max_files, max_bytes)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with _opener(path) as open_member:
            written = 0
            for m in members:
                written += _write_member(m, tmp, open_member, max_bytes - written, path.name)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


@contextmanager
def _opener(path: Path) -> Iterator[Callable[[Member], IO[bytes]]]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            yield lambda m: zf.open(m.raw)
    else:
        with tarfile.open(path) as tar:
            yield lambda m: tar.extractfile(m.raw)


def _write_member(m: Member, root: Path, open_member: Callable[[Member], IO[bytes]], budget: int, archive: str) -> int:
    """Write one entry below root, counting real bytes; returns the bytes written."""
    target = root / m.name
    if not target.resolve().is_relative_to(root.resolve()):  # belt and braces after clean_name
        raise DataError(f"Archive {archive} has an entry that points outside its folder ({m.name!r}).")
    try:
        (target if m.is_dir else target.parent).mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not m.is_dir:
            raise IsADirectoryError(m.name)
    except OSError:  # a file and a folder with one name (cats/extra and cats/extra/7.png)
        raise DataError(
            f"Archive {archive} has a file and a folder both named {_shared_name(m.name, root)!r}; rename one "
            "of them and create the archive again."
        ) from None
    if m.is_dir:
        return 0
    limit, written = min(m.size, budget), 0
    try:
        with open_member(m) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise DataError(
                        f"Archive {archive} entry {m.name!r} unpacks to more than it declares or "
                        "than the size limit; it may be a zip bomb, so it was not extracted."
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(
            f"Archive {archive} entry {m.name!r} is damaged ({type(exc).__name__}); create the archive again."
        ) from None
    return written


def _shared_name(name: str, root: Path) -> str:
    """The part of an entry's path that is a file where a folder is wanted, or the entry itself."""
    parts = Path(name).parts
    for i in range(1, len(parts)):
        if (root.joinpath(*parts[:i])).is_file():
            return "/".join(parts[:i])
    return name


def file_digest(path: Path) -> str:
    """sha256 of a file's content, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def extract_cached(path: Path, root: Path) -> Path:
    """The archive safely extracted to root/<content hash>, reused when the same archive comes again; counted
    against the workspace's quota for unpacked archives and recorded as this archive's (nnlab.store.unpacked)."""
    digest = file_digest(path)[:16]
    dest = root / digest
    if dest.is_dir():
        note_use(root, digest, path)
        return dest
    reserve(root, digest, path, sum(m.size for m in check_archive(path)))
    try:
        return safe_extract(path, dest)
    except FileExistsError:  # another job extracted the same archive meanwhile  # pragma: no cover
        return dest
    except OSError as exc:
        if dest.is_dir():  # os.replace lost a race to an identical extraction  # pragma: no cover
            return dest
        forget(root, digest)
        raise DataError(
            f"Archive {path.name} could not be extracted into {root} ({exc.strerror or exc}); "
            "free some disk space or choose another workspace."
        ) from None
    except BaseException:  # refused while unpacking (a zip bomb, a damaged entry): its space is not taken
        forget(root, digest)
        raise
