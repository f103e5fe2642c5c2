"""Boundary checks on paths: inputs that can be read, outputs that can be written without
destroying anything, and atomic writes.

* :func:`check_input_path` -- an input exists, is not a folder and is readable (``regular=True``
  also refuses FIFOs and devices, for model files: opening a FIFO would block). Pipes such as
  ``/dev/stdin`` or ``<(zcat f)`` are accepted as data inputs.
* :func:`check_output_path` -- an output is never one of the inputs (same file by
  ``os.path.samefile`` or resolved path), is a regular file or a new file in an existing
  writable folder, not a folder; a few special files are accepted as streams (``/dev/null``,
  a FIFO, the process's own stdout/stderr). Nothing is created; call it before any work.
* :func:`atomic_write` / :func:`write_text_atomic` / :func:`write_bytes_atomic` -- write to a
  temporary file in the target's folder, flush and fsync it, then ``os.replace`` it into
  place. On any failure (ENOSPC, EFBIG under a file-size limit, an exception of the caller
  while writing) the previous file is untouched, the temporary file is removed and the
  error (an ``OSError`` of the same kind) names the target path.

Every rejection is a :class:`PathError` (a :class:`~structpred.errors.StructpredError`, hence a
``ValueError``) whose ``path`` and message name the file and what it is for.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from ..errors import StructpredError

__all__ = ["PathError", "check_input_path", "check_output_path", "atomic_write",
           "atomic_text_output", "write_text_atomic", "write_bytes_atomic"]


class PathError(StructpredError):
    """An input that cannot be read or an output that must not or cannot be written;
    ``path`` names it and the message says what it is for (``model file m.npz: ...``)."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


def _fspath(path, name) -> str:
    try:
        text = os.fspath(path)
    except TypeError:
        raise PathError(f"{name}: expected a file name, got {type(path).__name__}") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or "\x00" in text:
        raise PathError(f"{name}: {text!r} is not a file name", text)
    return text


def _stat(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise PathError(f"{path}: {exc.strerror or exc}", path) from None


def check_input_path(path, name: str = "input file", regular: bool = False) -> str:
    """Return ``path`` (as str) when it names a readable file; else PathError naming ``name``.

    ``regular=True`` (model files) also refuses FIFOs, sockets and devices: only a regular file
    is opened, so a FIFO cannot block the reader. ``os.stat`` is used, never ``open``.
    """
    text = _fspath(path, name)
    st = _stat(text)
    if st is None:
        raise PathError(f"{name} {text}: no such file", text)
    if stat.S_ISDIR(st.st_mode):
        raise PathError(f"{name} {text}: is a folder, not a file", text)
    if regular and not stat.S_ISREG(st.st_mode):
        raise PathError(f"{name} {text}: not a regular file (a FIFO, socket or device)", text)
    if not os.access(text, os.R_OK):
        raise PathError(f"{name} {text}: not readable (permission denied)", text)
    return text


def _same(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _is_stream(st) -> bool:
    """A special file written as a stream: a FIFO/socket, /dev/null or our own stdout/stderr."""
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        return True
    if stat.S_ISCHR(st.st_mode):
        null = os.stat(os.devnull)
        if (st.st_rdev, st.st_ino) == (null.st_rdev, null.st_ino):
            return True
        for fd in (1, 2):
            try:
                own = os.fstat(fd)
            except OSError:
                continue
            if (own.st_dev, own.st_ino, own.st_rdev) == (st.st_dev, st.st_ino, st.st_rdev):
                return True
    return False


def check_output_path(path, name: str = "output file", inputs=()) -> str:
    """Return ``path`` (as str) when it may be written; else PathError naming ``name``.

    Refused: a path that is (or resolves to) one of ``inputs`` (paths, or ``(name, path)``
    pairs naming them), a folder, a missing or non-folder parent, a read-only file or folder,
    and a special file other than a stream (FIFO, /dev/null, our own stdout/stderr), e.g.
    ``/dev/full``. Nothing is created.
    """
    text = _fspath(path, name)
    for item in inputs:
        in_name, in_path = item if isinstance(item, tuple) else ("input file", item)
        if in_path is None:
            continue
        if _same(text, os.fspath(in_path)):
            raise PathError(f"{name} {text}: is the {in_name} {os.fspath(in_path)}; writing it "
                            "would destroy the input; give another name", text)
    st = _stat(text)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise PathError(f"{name} {text}: is a folder; give a file name", text)
        if not stat.S_ISREG(st.st_mode):
            if _is_stream(st):
                return text
            raise PathError(f"{name} {text}: not a regular file (a device); give a file name",
                            text)
        if not os.access(text, os.W_OK):
            raise PathError(f"{name} {text}: file is not writable (permission denied)", text)
    real = os.path.realpath(text)
    parent = os.path.dirname(real) or "."
    shown = os.path.dirname(text) or "."
    pst = _stat(parent)
    if pst is None:
        raise PathError(f"{name} {text}: folder {shown} does not exist", text)
    if not stat.S_ISDIR(pst.st_mode):
        raise PathError(f"{name} {text}: {shown} is not a folder", text)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PathError(f"{name} {text}: folder {shown} is not writable (permission denied "
                        "or a read-only file system)", text)
    return text


def _named(exc: OSError, path: str) -> OSError:
    """The same kind of OSError (by errno), naming ``path``."""
    if exc.errno is None:
        return OSError(f"{path}: {exc}")
    return OSError(exc.errno, exc.strerror or str(exc), path)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8", newline=None):
    """Context manager yielding a file object whose content replaces ``path`` on success.

    The content goes to a temporary file in the target's folder, which is flushed, fsynced
    and renamed onto ``path`` (``os.replace``: atomic on POSIX). If the block raises or any
    write, flush or rename fails, the temporary file is removed, ``path`` keeps its previous
    content, and OSErrors are re-raised as the same kind of OSError naming ``path``. A symlink
    target is replaced behind the link; a stream (FIFO, /dev/null, stdout) is written directly.
    ``mode`` is ``"w"`` (text) or ``"wb"`` (bytes).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    text = os.fspath(path)
    kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
    real = os.path.realpath(text)
    st = _stat(real)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", text)
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            with open(text, mode, **kwargs) as fh:  # a stream: no temporary file possible
                yield fh
        except OSError as exc:
            raise _named(exc, text) from None
        return
    perms = stat.S_IMODE(st.st_mode) if st is not None else _new_file_mode()
    folder = os.path.dirname(real) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".tmp",
                                   dir=folder)
    except OSError as exc:
        raise _named(exc, text) from None
    fh = None
    try:
        fh = os.fdopen(fd, mode, **kwargs)
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.chmod(tmp, perms)
        os.replace(tmp, real)
    except BaseException as exc:
        if fh is not None:
            with contextlib.suppress(OSError, ValueError):
                fh.close()
        else:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _named(exc, text) from None
        raise


@contextlib.contextmanager
def atomic_text_output(path, encoding: str = "utf-8"):
    """Context manager yielding a text file whose content replaces ``path`` atomically (as
    :func:`atomic_write`); a ``.gz`` path is written gzip-compressed."""
    text = os.fspath(path)
    if not text.endswith(".gz"):
        with atomic_write(text, "w", encoding=encoding) as fh:
            yield fh
        return
    import gzip
    import io
    with atomic_write(text, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as gz, \
                io.TextIOWrapper(gz, encoding=encoding) as fh:
            yield fh


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path``'s content with ``text`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding) as fh:
        fh.write(text)


def write_bytes_atomic(path, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
