"""Where the warehouse's files live: a local folder, or an object store (S3 and the like).

The warehouse speaks to both through `Storage`, by keys relative to its root
(`images/event_id=1/part-0.parquet`). Each backend keeps the one promise the warehouse builds
on: `write_atomic` and `replace` make a file appear whole or not at all.

- `LocalStorage`: a temporary file in the same folder, fsynced and renamed over the old one.
- `ObjectStorage`: any pyarrow filesystem (`s3://`, `gs://`, `abfs://`, `hdfs://`; other
  fsspec URLs through fsspec when it is installed). An object is written under a temporary key
  first and copied into place: a copy replaces the object whole, while an upload cut short
  could leave part of one. Credentials come from the filesystem's own chain (for S3: the AWS
  environment variables, profile or instance role), never from Dagster config.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

Writer = Callable[[BinaryIO], None]
# Hidden (leading dot) and not ending in .parquet: neither globs like `*/*.parquet` nor
# pyarrow/Spark dataset discovery pick a temporary file up.
TMP_PREFIX = ".tmp-"


class Storage(Protocol):
    root_url: str
    is_local: bool

    def url(self, key: str) -> str: ...
    def filesystem(self) -> tuple[pafs.FileSystem, str]: ...
    def write_atomic(self, key: str, write: Writer) -> None: ...
    def write(self, key: str, write: Writer) -> None: ...
    def replace(self, source: str, target: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def files(self, folder: str, suffix: str) -> list[str]: ...
    def folders(self, folder: str) -> list[str]: ...
    def age_s(self, key: str, now: float) -> float: ...
    def read_bytes(self, key: str) -> bytes: ...
    def remove_tree(self, key: str) -> None: ...
    def remove_if_empty(self, key: str) -> None: ...
    def mtime(self, key: str) -> float: ...
    def lock(self, key: str) -> AbstractContextManager[None]: ...


def open_storage(root: str | os.PathLike[str]) -> Storage:
    """The storage for NINEPIC_WAREHOUSE: a URL with a scheme is an object store, else a folder."""
    text = os.fspath(root)
    scheme = urlsplit(text).scheme
    if len(scheme) > 1 and scheme != "file":  # "C:" is a Windows drive, not a scheme
        return ObjectStorage(text)
    return LocalStorage(Path(text.removeprefix("file://")).expanduser().resolve())


def _entries(path: Path) -> list[Path]:
    """A folder's entries; none when it does not exist. Listed without a check first: another
    run's commit removes an emptied `_staging` folder, and one that went between a check and
    the listing failed a concurrent run's recovery."""
    try:
        return list(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _join(*keys: str) -> str:
    return "/".join(k.strip("/") for k in keys if k.strip("/"))


class LocalStorage:
    is_local = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root_url = str(root)

    def _path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def url(self, key: str) -> str:
        return str(self._path(key))

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        return pafs.LocalFileSystem(), str(self.root)

    def write_atomic(self, key: str, write: Writer) -> None:
        target = self._path(key)
        _make_folder(target.parent)
        tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}.{target.name}.incomplete"
        try:
            self._write_synced(tmp, write)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def write(self, key: str, write: Writer) -> None:
        path = self._path(key)
        _make_folder(path.parent)
        self._write_synced(path, write)

    @staticmethod
    def _write_synced(path: Path, write: Writer) -> None:
        with open(path, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())

    def replace(self, source: str, target: str) -> None:
        destination = self._path(target)
        _make_folder(destination.parent)
        os.replace(self._path(source), destination)
        _fsync_dir(destination.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def files(self, folder: str, suffix: str) -> list[str]:
        return sorted(
            _join(folder, p.name)
            for p in _entries(self._path(folder))
            if p.is_file() and p.name.endswith(suffix) and not p.name.startswith(".")
        )

    def folders(self, folder: str) -> list[str]:
        return sorted(_join(folder, p.name) for p in _entries(self._path(folder)) if p.is_dir())

    def age_s(self, key: str, now: float) -> float:
        return now - self.mtime(key)

    def mtime(self, key: str) -> float:
        return self._path(key).stat().st_mtime

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """An exclusive lock across processes on this machine, held for the block."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def remove_tree(self, key: str) -> None:
        shutil.rmtree(self._path(key), ignore_errors=True)

    def remove_if_empty(self, key: str) -> None:
        """Leave no empty folder behind for a reader listing the warehouse to wonder about."""
        with contextlib.suppress(OSError):
            self._path(key).rmdir()


class ObjectStorage:
    is_local = False

    def __init__(self, url: str) -> None:
        self.root_url = url.rstrip("/")
        self._fs, self._base = _filesystem_from_url(self.root_url)

    def _key(self, key: str) -> str:
        return _join(self._base, key)

    def url(self, key: str) -> str:
        return _join(self.root_url, key) if key else self.root_url

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        return self._fs, self._base

    def write_atomic(self, key: str, write: Writer) -> None:
        folder, _, name = key.rpartition("/")
        tmp = _join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}.{name}.incomplete")
        try:
            self.write(tmp, write)
            self._fs.copy_file(self._key(tmp), self._key(key))
        finally:
            with contextlib.suppress(FileNotFoundError, OSError):
                self._fs.delete_file(self._key(tmp))

    def write(self, key: str, write: Writer) -> None:
        with self._fs.open_output_stream(self._key(key)) as stream:
            write(stream)

    def replace(self, source: str, target: str) -> None:
        # A copy replaces the target object whole; then the staged object goes.
        self._fs.copy_file(self._key(source), self._key(target))
        self._fs.delete_file(self._key(source))

    def exists(self, key: str) -> bool:
        return self._fs.get_file_info(self._key(key)).type != pafs.FileType.NotFound

    def _list(self, folder: str) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self._key(folder), recursive=False, allow_not_found=True)
        return self._fs.get_file_info(selector)

    def files(self, folder: str, suffix: str) -> list[str]:
        return sorted(
            _join(folder, info.base_name)
            for info in self._list(folder)
            if info.type == pafs.FileType.File
            and info.base_name.endswith(suffix)
            and not info.base_name.startswith(".")
        )

    def folders(self, folder: str) -> list[str]:
        return sorted(
            _join(folder, info.base_name)
            for info in self._list(folder)
            if info.type == pafs.FileType.Directory
        )

    def age_s(self, key: str, now: float) -> float:
        """Age of the newest object under `key`: object stores keep no folder times."""
        selector = pafs.FileSelector(self._key(key), recursive=True, allow_not_found=True)
        times = [i.mtime.timestamp() for i in self._fs.get_file_info(selector) if i.mtime]
        if not times:
            raise FileNotFoundError(key)
        return now - max(times)

    def mtime(self, key: str) -> float:
        info = self._fs.get_file_info(self._key(key))
        if info.type == pafs.FileType.NotFound or info.mtime is None:
            raise FileNotFoundError(key)
        return info.mtime.timestamp()

    def lock(self, key: str) -> AbstractContextManager[None]:
        """None across processes: an object store has no lock to take. Runs of one event are
        kept apart by the run queue's per-event limit and by the warehouse's check that no
        snapshot was published meanwhile."""
        return contextlib.nullcontext()

    def read_bytes(self, key: str) -> bytes:
        with self._fs.open_input_stream(self._key(key)) as stream:
            return stream.read()

    def remove_tree(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, OSError):
            self._fs.delete_dir(self._key(key))

    def remove_if_empty(self, key: str) -> None:
        """Object stores have no empty folders to leave behind."""


def _filesystem_from_url(url: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(url)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
        reason = str(error)
    try:
        import fsspec  # optional: every other fsspec URL (memory://, az://, ...)

        filesystem, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise ValueError(
            f"NINEPIC_WAREHOUSE {url!r} cannot be opened ({reason}; {error}): use a local "
            "folder or an s3://, gs://, abfs:// or hdfs:// URL, or install fsspec's package "
            "for its scheme"
        ) from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


def _make_folder(folder: Path) -> None:
    """mkdir -p that survives another transaction removing an empty `_staging` meanwhile."""
    for _ in range(5):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError:
            continue
    folder.mkdir(parents=True, exist_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
