"""Write outputs atomically: to a temporary file next to the target, then move it into place."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``target``
    (``os.replace``, atomic on one file system), on failure it is removed and the target is
    left untouched.

    >>> with atomic_path("report.xlsx") as tmp:   # doctest: +SKIP
    ...     workbook.save(tmp)
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
