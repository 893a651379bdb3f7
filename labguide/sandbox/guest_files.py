"""Files inside a VM's tree, as the host reads and writes them: every path is walked from the
guest's root one directory at a time (`O_NOFOLLOW|O_DIRECTORY` descriptors), a symbolic link
anywhere on the way is refused, and the last step never follows one either.

Guests are real root: whatever a guest left in its tree (a link from `authorized_keys` to a
host file, a link in place of `/etc/ssh`) must not lead the host outside that tree. Holds no
policy about which files a VM gets (supervisor.py, sshkeys.py decide); runs no guest code.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from labguide.errors import LabguideError, Location

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_READ = 1 << 20


class GuestPathError(LabguideError):
    """A path in a guest's tree the host will not use (a link, not a regular file…)."""


class GuestTree:
    """A VM's root directory on the host, and the paths in it. `vm` names the VM in errors
    (`VM 100 (client)`); paths are relative to the guest's `/` (`etc/hostname`)."""

    def __init__(self, root: Path, vm: str) -> None:
        self.root = root
        self.vm = vm

    # -- errors --------------------------------------------------------------------------
    def _refuse(self, rel: str, why: str) -> GuestPathError:
        return GuestPathError(
            f"refusing /{rel} in {self.vm}: {why}",
            Location(file=self.root / rel, host=self.vm),
            hint="the guest changed this path; labguide only writes and reads real files "
                 "and directories inside a guest (remove the link in the guest, or destroy "
                 "and re-create the VM)",
        )

    def _why(self, parent: int, name: str) -> str:
        """What is in the way at `name` (a link, a file where a directory should be)."""
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError as exc:
            return os.strerror(exc.errno or 0).lower()
        if stat.S_ISLNK(st.st_mode):
            try:
                return f"it is a symbolic link (to {os.readlink(name, dir_fd=parent)})"
            except OSError:
                return "it is a symbolic link"
        if stat.S_ISDIR(st.st_mode):
            return "it is a directory"
        if not stat.S_ISREG(st.st_mode):
            return "it is not a regular file"
        return "it is not a directory"

    # -- walking -------------------------------------------------------------------------
    @staticmethod
    def _parts(rel: str) -> list[str]:
        parts = [p for p in PurePosixPath(rel.lstrip("/")).parts]
        if not parts or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a plain path inside a guest: {rel!r}")
        return parts

    @contextmanager
    def _dir(self, parts: list[str], rel: str, create: int | None = None) -> Iterator[int]:
        """A descriptor of the directory `parts` (a prefix of `rel`), opened step by step
        without following links; missing directories are made with mode `create` (if set)."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for i, name in enumerate(parts):
                try:
                    nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if create is None:
                        raise self._refuse(rel, f"/{'/'.join(parts[:i + 1])} does not exist")\
                            from None
                    os.mkdir(name, create, dir_fd=fd)
                    nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    where = "/" + "/".join(parts[:i + 1])
                    raise self._refuse(rel, f"{where}: {self._why(fd, name)}") from None
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    # -- directories ---------------------------------------------------------------------
    def make_dir(self, rel: str, mode: int, uid: int = 0, gid: int = 0) -> None:
        """Make `rel` (and its parents, with 0755) if missing; set its mode and owner."""
        parts = self._parts(rel)
        with self._dir(parts[:-1], rel, create=0o755) as parent:
            try:
                os.mkdir(parts[-1], mode, dir_fd=parent)
            except FileExistsError:
                pass
            try:
                fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise self._refuse(rel, self._why(parent, parts[-1])) from None
            try:
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)

    # -- files ---------------------------------------------------------------------------
    def _check_target(self, parent: int, name: str, rel: str) -> None:
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode):
            raise self._refuse(rel, self._why(parent, name))

    def write(self, rel: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        """Replace the file `rel` with `data` (a new file renamed over it: a link the guest
        puts there meanwhile is replaced, never followed). Its directory must exist."""
        parts = self._parts(rel)
        with self._dir(parts[:-1], rel) as parent:
            self._check_target(parent, parts[-1], rel)
            tmp = f".{parts[-1]}.labguide-{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=parent)
            try:
                with os.fdopen(fd, "wb", closefd=False) as fh:
                    fh.write(data)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                os.unlink(tmp, dir_fd=parent)
                raise
            os.close(fd)
            os.replace(tmp, parts[-1], src_dir_fd=parent, dst_dir_fd=parent)

    def read(self, rel: str, limit: int = MAX_READ) -> bytes:
        """The content of the regular file `rel` (at most `limit` bytes, else refused)."""
        parts = self._parts(rel)
        with self._dir(parts[:-1], rel) as parent:
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                             | os.O_CLOEXEC, dir_fd=parent)
            except FileNotFoundError:
                raise self._refuse(rel, "it does not exist") from None
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                raise self._refuse(rel, self._why(parent, parts[-1])) from None
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise self._refuse(rel, "it is not a regular file")
                data = fh.read(limit + 1)
        if len(data) > limit:
            raise self._refuse(rel, f"it is larger than {limit} bytes")
        return data

    def exists(self, rel: str) -> bool:
        """Whether `rel` is a regular file (a link there counts as absent, never followed)."""
        parts = self._parts(rel)
        try:
            with self._dir(parts[:-1], rel) as parent:
                st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except (FileNotFoundError, GuestPathError):
            return False
        return stat.S_ISREG(st.st_mode)

    def remove(self, rel: str) -> None:
        """Delete the entry `rel` if present (a link is removed itself, not its target)."""
        parts = self._parts(rel)
        try:
            with self._dir(parts[:-1], rel) as parent:
                os.unlink(parts[-1], dir_fd=parent)
        except FileNotFoundError:
            pass

    def names(self, rel: str) -> list[str]:
        """The entries of the directory `rel` (missing: none)."""
        parts = self._parts(rel)
        try:
            with self._dir(parts, rel) as fd:
                return sorted(os.listdir(fd))
        except GuestPathError:
            return []

    def user_ids(self, user: str) -> tuple[int, int]:
        """uid and gid of `user` from the guest's /etc/passwd."""
        for line in self.read("etc/passwd").decode(errors="replace").splitlines():
            fields = line.split(":")
            if fields[0] == user and len(fields) > 3 and fields[2].isdigit() \
                    and fields[3].isdigit():
                return int(fields[2]), int(fields[3])
        raise GuestPathError(f"{self.vm}: no user {user} in the guest's /etc/passwd",
                             Location(file=self.root / "etc/passwd", host=self.vm))
