"""A history database on a network filesystem is refused (RELIABILITY §A2, test 4).

SQLite's WAL needs shared memory and POSIX locks that NFS, SMB and friends do not give
reliably ("WAL does not work over a network filesystem", sqlite.org/wal.html). Before the
fix nothing looked: a home directory on NFS silently got a WAL database. The filesystem
type comes from ``/proc/self/mountinfo``; these tests feed real-format mountinfo text (a
network mount cannot be made in the test environment) and open real local files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsconsole.adapters import sqlite_store
from opsconsole.adapters.sqlite_store import (
    ALLOW_NETWORK_DB_ENV,
    SqliteStore,
    StoreError,
    filesystem_type,
)

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
40 27 0:45 / /home rw,relatime shared:20 - nfs4 fs1:/export/home rw,vers=4.2
41 40 0:46 / /home/ann/local\\040disk rw,relatime - ext4 /dev/vdb1 rw
42 27 0:47 / /mnt/share rw,relatime shared:22 master:3 - cifs //nas/share rw,vers=3.0
43 27 0:48 / /mnt/c rw,noatime - 9p drvfs rw,dirsync
44 27 0:49 / /srv/data rw,relatime - ext4 /dev/vdc1 rw
45 27 0:50 / /srv/data rw,relatime - fuse.sshfs ann@box:/data rw
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/home/ann/.local/share/opsconsole/opsconsole.db", "nfs4"),
        ("/home", "nfs4"),
        ("/home/ann/local disk/ops.db", "ext4"),  # a local disk mounted inside the NFS home
        ("/homework/ops.db", "ext4"),  # a prefix of the name is not the mount
        ("/mnt/share/ops.db", "cifs"),
        ("/mnt/c/Users/ann/ops.db", "9p"),
        ("/srv/data/ops.db", "fuse.sshfs"),  # stacked: the later mount hides the earlier
        ("/var/lib/ops.db", "ext4"),
    ],
)
def test_filesystem_type_from_mountinfo(path: str, expected: str) -> None:
    assert filesystem_type(Path(path), MOUNTINFO) == expected


def test_filesystem_type_of_a_real_local_directory(tmp_path: Path) -> None:
    if not Path("/proc/self/mountinfo").exists():
        if os.environ.get("CI") == "true":  # CI is Linux: a skip there would hide a failure
            pytest.fail("no /proc/self/mountinfo")
        pytest.skip("no /proc/self/mountinfo (not Linux)")
    kind = filesystem_type(tmp_path)
    assert kind is not None and kind not in sqlite_store.NETWORK_FILESYSTEMS


@pytest.mark.parametrize("kind", ["nfs", "nfs4", "cifs", "smb3", "9p", "fuse.sshfs", "afs"])
def test_network_filesystems_are_refused_in_one_line(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_NETWORK_DB_ENV, raising=False)
    with pytest.raises(StoreError) as excinfo:
        sqlite_store._refuse_network_filesystem(Path("/home/ann/ops.db"), kind)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"network filesystem ({kind})" in message and "--db" in message


@pytest.mark.parametrize("kind", [None, "ext4", "xfs", "btrfs", "tmpfs", "zfs", "overlay"])
def test_local_filesystems_are_accepted(kind: str | None) -> None:
    sqlite_store._refuse_network_filesystem(Path("/var/lib/ops.db"), kind)


def test_the_override_accepts_a_network_filesystem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_NETWORK_DB_ENV, "1")
    sqlite_store._refuse_network_filesystem(Path("/home/ann/ops.db"), "nfs4")


async def test_a_local_database_still_opens(tmp_path: Path) -> None:
    async with await SqliteStore.open(tmp_path / "sub" / "ops.db") as store:
        assert await store.latest_results() == {}
    assert (tmp_path / "sub" / "ops.db").exists()
    assert os.environ.get(ALLOW_NETWORK_DB_ENV) != "1"
