"""Bounded streaming reading of text and gzip files: the readers' only way in.

* **One open.** A path is opened once; the gzip magic is sniffed from the same buffered
  stream (``peek``), so a pipe, ``/dev/stdin`` or a process substitution ``<(zcat f)`` is
  never reopened and loses nothing.
* **Regular files only where a file is required.** ``stream=False`` (model files, anything
  read twice or seeked) refuses FIFOs, sockets and devices *without blocking*: the path is
  opened with ``O_NONBLOCK`` and checked with ``fstat`` before any read, so a FIFO never
  hangs. ``stream=True`` (data readers that read once, front to back) also takes pipes and
  character devices. Directories raise ``IsADirectoryError`` in both modes.
* **Bounded.** Each line is at most ``max_line_bytes`` (an endless line or ``/dev/zero``
  stops there); the whole (decompressed) text at most ``max_bytes``, by default a share of
  the memory available now, divided by ``memory_factor`` = bytes of memory the caller needs
  per byte of text (its parsed arrays); gzip data inflating more than ``max_ratio``:1 beyond
  the first 1 MiB is refused as a gzip bomb. Each fault raises
  :class:`structpred.errors.DataFormatError` naming the file (and line), early, before
  memory runs out.

Truncated or corrupt gzip streams and (with ``errors="strict"``) undecodable bytes raise
DataFormatError too; ``OSError`` from opening (missing file, permissions) passes unchanged.
"""
from __future__ import annotations

import errno
import fcntl
import gzip
import io
import os
import stat
import zlib

import numpy as np

from ..errors import DataFormatError

__all__ = ["open_text", "read_text", "read_bytes", "open_binary", "input_limit", "TextReader",
           "DEFAULT_MAX_LINE_BYTES", "DEFAULT_MAX_RATIO"]

#: Default per-line limit (bytes, newline included): far above any line of the formats we
#: read (svm_hmm, LETOR, CoNLL, JSONL rows), far below memory.
DEFAULT_MAX_LINE_BYTES = 64 << 20
#: A gzip stream inflating more than this many times its compressed size (after 1 MiB of
#: output) is refused as a bomb; deflate's own ceiling is about 1032:1, the data sets here
#: 4.6-5.6:1 (CoNLL, MQ2008, LightGBM's sample, digits, an svm_hmm file).
DEFAULT_MAX_RATIO = 100
_RATIO_GRACE = 1 << 20
_GZ_READ = 1 << 20   # compressed bytes per decoding step (the ratio stays exact: max_length)
_CHUNK = 1 << 20
_GZ_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def _available_memory() -> int:
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 -- psutil missing or unsupported: fall back to sysconf
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 4 << 30


def input_limit(memory_factor: float = 8.0) -> int:
    """Default largest text (bytes) a reader takes: half the memory available now divided by
    ``memory_factor`` (memory the caller needs per byte of text), at least 64 MiB.
    ``$STRUCTPRED_MAX_INPUT_BYTES`` overrides it."""
    env = os.environ.get("STRUCTPRED_MAX_INPUT_BYTES")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(64 << 20, int(_available_memory() / (2.0 * max(memory_factor, 1.0))))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO / pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def open_binary(path, *, stream: bool = False):
    """The file at ``path`` opened once for binary reading, without ever blocking on open.

    ``stream=False``: only a regular file is accepted (DataFormatError naming the path and
    what it is otherwise). ``stream=True``: pipes, FIFOs with a writer, sockets and
    character devices are also accepted (block devices never). Directories raise
    ``IsADirectoryError``; missing files ``FileNotFoundError``.
    """
    p = os.fspath(path)
    # Required files: a non-blocking open, so a FIFO without a writer is refused, not waited
    # on. Streams: a named FIFO waits for its writer, as ``cat fifo`` does (a pipe such as
    # /dev/stdin or <(zcat f) already has one).
    blocking_ok = stream and stat.S_ISFIFO(os.stat(p).st_mode)
    nonblock = 0 if blocking_ok else os.O_NONBLOCK
    fd = os.open(p, os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fsdecode(p))
        if not stat.S_ISREG(mode) and (not stream or stat.S_ISBLK(mode)):
            raise DataFormatError(f"{os.fsdecode(p)}: {_kind(mode)}; a regular file is required "
                                  "here", p)
        if nonblock:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


class _Counted(io.RawIOBase):
    """A raw reader over ``inner`` that counts bytes and calls ``check(total)`` per read."""

    def __init__(self, inner, check=None):
        super().__init__()
        self.inner = inner
        self.total = 0
        self._check = check
        self.max_read = None

    def readable(self):
        return True

    def readinto(self, b):
        if self.max_read is not None and len(b) > self.max_read:
            b = memoryview(b)[:self.max_read]
        n = self.inner.readinto(b)
        if n:
            self.total += n
            if self._check is not None:
                self._check(self.total)
        return n

    def close(self):
        try:
            self.inner.close()
        finally:
            super().close()


class _GzipRaw(io.RawIOBase):
    """Streaming gzip decoder (multi-member) over a buffered stream, in C-sized steps:
    ``consumed`` is the exact number of compressed bytes decoded so far (for the inflation
    ratio). zlib.error for corrupt data, EOFError for a truncated stream."""

    def __init__(self, src):
        super().__init__()
        self.src = src
        self.d = zlib.decompressobj(31)
        self.pending = b""
        self.consumed = 0
        self.started = False

    def readable(self):
        return True

    def readinto(self, b):
        out = self.read_chunk(len(b))
        b[:len(out)] = out
        return len(out)

    def read_chunk(self, want: int) -> bytes:
        """Up to ``want`` decompressed bytes (b"" at the end), without an extra copy."""
        while True:
            data, self.pending = (self.pending, b"") if self.pending else (self.src.read1(_GZ_READ), b"")
            if not data:
                if self.started:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return b""
            self.started = True
            out = self.d.decompress(data, want)
            rest = self.d.unconsumed_tail
            if self.d.eof:          # a member ends: what follows is the next member
                rest = self.d.unused_data + rest
                self.d = zlib.decompressobj(31)
                self.started = False
            self.consumed += len(data) - len(rest)
            self.pending = rest
            if out:
                return out

    def close(self):
        try:
            self.src.close()
        finally:
            super().close()


class _Prefixed(io.RawIOBase):
    """``prefix`` bytes then the rest of ``inner`` (when a sniff had to consume bytes)."""

    def __init__(self, prefix: bytes, inner):
        super().__init__()
        self.prefix, self.inner = prefix, inner

    def readable(self):
        return True

    def readinto(self, b):
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        return self.inner.readinto(b)

    def close(self):
        try:
            self.inner.close()
        finally:
            super().close()


class TextReader:
    """A bounded text stream over one open file (see the module docstring).

    Iterating yields decoded lines (with their newline); ``lineno`` is the number of the
    last line yielded. ``read()`` returns the whole remaining text. Use as a context manager.
    """

    def __init__(self, path, *, encoding="ascii", errors="replace", gz=None,
                 max_line_bytes=DEFAULT_MAX_LINE_BYTES, max_bytes=None, memory_factor=8.0,
                 max_ratio=DEFAULT_MAX_RATIO, stream=True):
        self.name = os.fsdecode(os.fspath(path))
        self.encoding, self.errors = encoding, errors
        self.max_line_bytes = int(max_line_bytes)
        self.max_bytes = int(max_bytes) if max_bytes is not None else input_limit(memory_factor)
        self.max_ratio = max_ratio
        self.lineno = 0
        raw = open_binary(path, stream=stream)
        try:
            self._raw_count = _Counted(raw)
            buf = io.BufferedReader(self._raw_count, 1 << 16)  # small: the ratio check sees input early
            magic = buf.peek(2)[:2]
            if len(magic) == 1 and magic == b"\x1f":  # a pipe that delivered one byte so far
                magic = buf.read(2)
                buf = io.BufferedReader(_Prefixed(magic, buf), _CHUNK)
            if gz is None:
                gz = magic == b"\x1f\x8b" or self.name.endswith(".gz")
            self.gz = bool(gz)
            if self.gz:
                self._gz_in = inner = _GzipRaw(buf)
            else:
                inner = buf
                st = os.fstat(raw.fileno())
                if stat.S_ISREG(st.st_mode) and st.st_size > self.max_bytes:
                    self._too_big(st.st_size)
            self._out = _Counted(inner, self._check_total)
            self._bin = io.BufferedReader(self._out, _CHUNK)
        except BaseException:
            raw.close()
            raise

    # -- limits
    def _too_big(self, n):
        raise DataFormatError(f"{self.name}: more than {self.max_bytes:,} bytes of text "
                              f"({n:,} read); the limit is set from the memory available "
                              "(set $STRUCTPRED_MAX_INPUT_BYTES to change it)", self.name)

    def _check_total(self, total):
        if total > self.max_bytes:
            self._too_big(total)
        if self.gz and total > _RATIO_GRACE and total > self.max_ratio * max(self._gz_in.consumed, 1):
            raise DataFormatError(f"{self.name}: gzip data inflating more than "
                                  f"{self.max_ratio}:1 ({self._gz_in.consumed:,} bytes to "
                                  f"{total:,} so far): refused as a gzip bomb", self.name)

    def _gz_error(self, exc):
        kind = "truncated" if isinstance(exc, EOFError) else "corrupt"
        return DataFormatError(f"{self.name}: {kind} or unreadable gzip data "
                               f"({exc or type(exc).__name__})", self.name)

    def _long_line(self, lineno):
        return DataFormatError(f"{self.name}, line {lineno}: line longer than "
                               f"{self.max_line_bytes:,} bytes (an endless line?)", self.name, lineno)

    def _decode(self, data: bytes, first_line: int) -> str:
        try:
            return data.decode(self.encoding, self.errors)
        except UnicodeDecodeError as exc:
            lineno = first_line + data.count(b"\n", 0, exc.start)
            raise DataFormatError(f"{self.name}, line {lineno}: bytes that are not valid "
                                  f"{self.encoding} ({exc.reason} at byte {exc.start})",
                                  self.name, lineno) from None

    # -- reading
    def __iter__(self):
        readline, lim = self._bin.readline, self.max_line_bytes
        enc, errs = self.encoding, self.errors
        try:
            while True:
                line = readline(lim + 1)
                if not line:
                    return
                self.lineno += 1
                if len(line) > lim:
                    raise self._long_line(self.lineno)
                try:
                    yield line.decode(enc, errs)
                except UnicodeDecodeError:
                    yield self._decode(line, self.lineno)
        except _GZ_ERRORS as exc:
            raise self._gz_error(exc) from None

    def read(self) -> str:
        """The whole remaining text (within ``max_bytes``; a line longer than
        ``max_line_bytes`` is refused as it streams by)."""
        first = self.lineno + 1
        data = self.read_bytes()
        return self._decode(data, first)   # (``lineno`` is not advanced by read())

    def read_bytes(self) -> bytearray:
        """The whole remaining content, undecoded, as one bytearray grown in place (no list
        of chunks joined at the end, so the peak is about the content's size); the same
        limits as :meth:`read`."""
        out = bytearray()
        run = 0
        lim = self.max_line_bytes
        first = self.lineno + 1
        direct = self.gz and self.lineno == 0 and self._out.total == 0

        def line_of(extra=b"", offset=0):   # counted only when an error needs it
            return first + out.count(b"\n") + extra.count(b"\n", 0, offset)
        try:
            while True:
                if direct:   # decompressed chunks straight from zlib, no buffer copy
                    chunk = self._gz_in.read_chunk(_CHUNK)
                    self._out.total += len(chunk)
                    self._check_total(self._out.total)
                else:
                    chunk = self._bin.read1(_CHUNK)
                if not chunk:
                    break
                i = chunk.find(b"\n")
                if i < 0:
                    run += len(chunk)
                    if run > lim:
                        raise self._long_line(line_of())
                else:
                    if run + i + 1 > lim:
                        raise self._long_line(line_of())
                    if lim < len(chunk):  # a whole line may fit inside this chunk: scan it
                        ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
                        lens = np.diff(ends)
                        if lens.size and lens.max() > lim:
                            k = int(np.argmax(lens > lim))
                            raise self._long_line(line_of(chunk, int(ends[k]) + 1))
                    last = chunk.rfind(b"\n")
                    run = len(chunk) - last - 1
                    if run > lim:
                        raise self._long_line(line_of(chunk, last + 1))
                out += chunk
        except _GZ_ERRORS as exc:
            raise self._gz_error(exc) from None
        return out

    def close(self):
        """Close the underlying file (and the gzip decoder); safe to call twice."""
        self._bin.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def open_text(path, *, encoding: str = "ascii", errors: str = "replace", gz: bool | None = None,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, max_bytes: int | None = None,
              memory_factor: float = 8.0, max_ratio: float = DEFAULT_MAX_RATIO,
              stream: bool = True) -> TextReader:
    """A :class:`TextReader` over the plain or gzip file ``path`` (gzip when ``gz``, or by
    default when the name ends in ``.gz`` or the stream starts with the gzip magic).
    Undecodable bytes become U+FFFD by default (``errors="replace"``) and fail the reader's
    grammar; pass ``errors="strict"`` for a DataFormatError naming the line."""
    return TextReader(path, encoding=encoding, errors=errors, gz=gz,
                      max_line_bytes=max_line_bytes, max_bytes=max_bytes,
                      memory_factor=memory_factor, max_ratio=max_ratio, stream=stream)


def read_text(path, encoding: str = "utf-8", errors: str = "strict", gz: bool | None = None, *,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, max_bytes: int | None = None,
              memory_factor: float = 8.0, max_ratio: float = DEFAULT_MAX_RATIO,
              stream: bool = True) -> str:
    """The whole text of a plain or gzip file, read through :func:`open_text`'s limits
    (DataFormatError naming the file, and the line where one applies)."""
    with open_text(path, encoding=encoding, errors=errors, gz=gz, max_line_bytes=max_line_bytes,
                   max_bytes=max_bytes, memory_factor=memory_factor, max_ratio=max_ratio,
                   stream=stream) as fh:
        return fh.read()


def read_bytes(path, gz: bool | None = None, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
               max_bytes: int | None = None, memory_factor: float = 8.0,
               max_ratio: float = DEFAULT_MAX_RATIO, stream: bool = True) -> bytearray:
    """The whole (decompressed) content of a plain or gzip file, undecoded, through
    :func:`open_text`'s limits: :func:`read_text` without the decode (for byte scanners)."""
    with open_text(path, gz=gz, max_line_bytes=max_line_bytes, max_bytes=max_bytes,
                   memory_factor=memory_factor, max_ratio=max_ratio, stream=stream) as fh:
        return fh.read_bytes()
