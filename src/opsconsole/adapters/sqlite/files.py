"""Where the database file lives, which filesystems are refused, and private creation."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Final

from opsconsole.adapters.sqlite.common import log
from opsconsole.core.store import StoreError


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME/opsconsole/opsconsole.db`` (default ``~/.local/share``).

    A relative or empty ``XDG_DATA_HOME`` is ignored, as the XDG spec requires.
    """
    environ = os.environ if env is None else env
    data_home = environ.get("XDG_DATA_HOME", "")
    if data_home and Path(data_home).is_absolute():
        base = Path(data_home)
    else:
        home = environ.get("HOME")
        base = (Path(home) if home else Path.home()) / ".local" / "share"
    return base / "opsconsole" / "opsconsole.db"


ALLOW_NETWORK_DB_ENV: Final = "OPSCONSOLE_ALLOW_NETWORK_DB"
"""Set to 1 to open a database on a network filesystem anyway (at your own risk)."""

NETWORK_FILESYSTEMS: Final = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",  # WSL's Windows drives, VM shares
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "davfs",
        "fuse.davfs2",
        "glusterfs",
        "fuse.glusterfs",
        "ceph",
        "fuse.ceph",
        "lustre",
    }
)
"""Filesystem types whose locking or shared memory SQLite's WAL cannot rely on."""

_MOUNTINFO = Path("/proc/self/mountinfo")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem that holds ``path`` (an existing directory or file).

    Read from ``mountinfo`` (the text of ``/proc/self/mountinfo``; read when None). None
    when it cannot be told (not Linux, no ``/proc``).
    """
    if mountinfo is None:
        try:
            mountinfo = _MOUNTINFO.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
    target = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        separator = fields.index("-", 6)
        if len(fields) <= separator + 1:
            continue
        point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):  # later mounts win ties
            best = (len(point), fields[separator + 1])
    return None if best is None else best[1]


def _refuse_network_filesystem(path: Path, fstype: str | None) -> None:
    if fstype is None or fstype.lower() not in NETWORK_FILESYSTEMS:
        return
    if os.environ.get(ALLOW_NETWORK_DB_ENV, "") == "1":
        log.warning("%s is on a network filesystem (%s); WAL may corrupt it", path, fstype)
        return
    raise StoreError(
        f"cannot open {path}: it is on a network filesystem ({fstype}), where SQLite's WAL "
        f"can corrupt it; use --db with a path on a local disk "
        f"(or set {ALLOW_NETWORK_DB_ENV}=1)"
    )


def _create_private(path: Path) -> None:
    """Create a new database file as 0600 (its -wal and -shm inherit the mode).

    Tickets hold customer names, addresses and mail bodies; SQLite would create the file
    with the umask's mode (usually 0644, readable by every local user). An existing file
    keeps its mode; a failure here is left for SQLite to report.
    """
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
