"""The files zonesim reads and writes for a user: checked up front, written atomically.

Three rules (issue 12, item 2):

- Every path the user names is checked before any work starts, so a typo costs one line
  (exit 2), not a run: an output file's directory must exist and take a new file, an
  artifacts directory (or the nearest existing directory above it, which zonesim will
  create the rest under) must take a new file, an input must be a regular file of a
  bounded size. "Takes a new file" is tested by creating and removing an empty temp
  file: permission bits, read-only mounts and pseudo file systems (``/proc``) all answer
  that question the same way, and root's ``os.access`` says yes to all of them.
- A regular file is written atomically: a temp file in the same directory, flushed,
  ``fsync``'d, ``chmod 0644``, then renamed over the target. A reader never sees half a
  file and a failed write (``ENOSPC``, ``EROFS``, ``EACCES``) leaves the old file as it
  was. A target that exists and is not a regular file (``/dev/null``, ``/dev/full``, a
  FIFO) is written in place: renaming over a device node would replace it.
- A write that fails after the work was done raises ``OSError`` to the caller, who still
  prints the result and names the file in one line (``zonesim.cli.output``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from zonesim.errors import BadInput

FILE_MODE = 0o644  # artifacts and logs are read by other users' tools (and CI uploads)
#: The largest artifact or log zonesim reads: far beyond what one execution logs at the
#: default step bound (a few MB), small enough that parsing it fits the memory limit.
MAX_INPUT_BYTES = 128 << 20


def _probe(directory: Path) -> str | None:
    """Why ``directory`` cannot take a new file (None if it can)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".zonesim-probe-", suffix=".tmp")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return None


def check_output_file(path: Path, option: str) -> None:
    """An output file: not a directory; a device or FIFO that can be opened for writing;
    otherwise a file in an existing directory that takes a new file (the atomic write's
    temp file)."""
    where = f"{option} {path}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise BadInput(f"{where}: cannot write: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{where}: expected a file, got a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise BadInput(f"{where}: cannot write: {exc.strerror or exc}") from None
        os.close(fd)
        return
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        what = "no such directory" if not parent.exists() else "not a directory:"
        raise BadInput(f"{where}: {what} {parent}")
    why = _probe(parent)
    if why is not None:
        raise BadInput(f"{where}: cannot create a file in {parent}: {why}")


def check_output_dir(path: Path, option: str) -> None:
    """A directory zonesim writes files into (creating it when needed): it, or the nearest
    existing directory above it, must take a new file; nothing on the way may be a file."""
    where = f"{option} {path}"
    probe = path
    while True:
        try:
            st = os.stat(probe)
        except (FileNotFoundError, NotADirectoryError):
            # not there yet (zonesim creates it), or a file on the way: look further up
            parent = probe.parent
            if parent == probe:
                raise BadInput(f"{where}: no existing directory above it") from None
            probe = parent if str(parent) else Path(".")
            continue
        except OSError as exc:
            raise BadInput(f"{where}: cannot use {probe}: {exc.strerror or exc}") from None
        break
    if not stat.S_ISDIR(st.st_mode):
        got = "a file" if stat.S_ISREG(st.st_mode) else "not a directory"
        if probe == path:
            raise BadInput(f"{where}: expected a directory, got {got}")
        raise BadInput(f"{where}: expected a directory, but {probe} is {got}")
    why = _probe(probe)
    if why is not None:
        raise BadInput(f"{where}: cannot create files in {probe}: {why}")


def write_text(path: Path, text: str | bytes) -> None:
    """Write ``text`` (UTF-8) or raw bytes (a PNG) to ``path``: atomically for a regular
    file (see the module header), in place for a device or FIFO. Raises ``OSError``; a
    failed write removes its temp file and leaves ``path`` as it was."""
    try:
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    data = text.encode("utf-8") if isinstance(text, str) else text
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_text(path: Path, what: str, *, limit: int = MAX_INPUT_BYTES) -> str:
    """A regular file of at most ``limit`` bytes, as UTF-8; one-line ``BadInput`` else.
    ``what`` names the kind of file (``"artifact"``, ``"log"``)."""
    an = f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{path}: expected {an} file, got a directory")
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{path}: expected {an} file, got something that is not a regular "
                       "file")
    if st.st_size > limit:
        raise BadInput(f"{path}: {st.st_size} bytes, over the limit of {limit} bytes for "
                       f"{an} file")
    try:
        # in pieces: read(limit + 1) would allocate the whole limit up front
        chunks: list[bytes] = []
        size = 0
        with open(path, "rb") as f:
            while size <= limit and (chunk := f.read(1 << 20)):
                chunks.append(chunk)
                size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew while we looked
        raise BadInput(f"{path}: over the limit of {limit} bytes for {an} file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: {what} is not valid UTF-8 (byte 0x{data[exc.start]:02x} "
                       f"at offset {exc.start})") from None
