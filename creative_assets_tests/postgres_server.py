"""A throwaway PostgreSQL server for tests, started from the system's PostgreSQL binaries.

    server = PostgresServer()
    url = server.start()        # postgresql+psycopg2://dagster:dagster@127.0.0.1:<port>/dagster
    other = server.create_database("another")
    server.stop()               # pg_ctl stop -m fast, then the temporary folder is removed

The server listens on 127.0.0.1 only, on a free port, with its unix socket in its own temporary
folder, and runs with durability switched off (`fsync`, `full_page_writes`, `synchronous_commit`)
because its data is thrown away. `initdb` refuses to run as root, so as root the server runs as an
unprivileged system user (Debian's `postgres`, else one created with `useradd --system`).
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin "
    "or on PATH. Install them with `apt-get install postgresql` (scripts/test.sh does this via "
    "scripts/bootstrap.sh when run as root on Debian/Ubuntu)."
)
FALLBACK_OS_USER = "creative-assets-pg"
_BIND_ERRORS = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


class PostgresStartError(RuntimeError):
    """The server was found but did not come up; the message carries the end of its log."""


def find_pg_bindir() -> Path:
    """The folder holding `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/<ver>/bin`,
    else wherever `initdb` is on PATH."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)

    debian = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=version,
        reverse=True,
    )
    for bindir in debian:
        if os.access(bindir / "initdb", os.X_OK) and os.access(bindir / "pg_ctl", os.X_OK):
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if os.access(bindir / "pg_ctl", os.X_OK):
            return bindir
        if shutil.which("pg_ctl"):
            return bindir
    raise PostgresUnavailable(INSTALL_HINT)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _server_os_user() -> pwd.struct_passwd | None:
    """None when not root (the server runs as the current user); else the unprivileged user to run
    it as: `postgres` if it exists, otherwise a system user created for the purpose."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_OS_USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(FALLBACK_OS_USER)


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` can reach `path` (execute permission on every ancestor)."""
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid == user.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


class PostgresServer:
    """One PostgreSQL server in a temporary folder; `start()` returns the SQLAlchemy URL."""

    def __init__(
        self,
        user: str = "dagster",
        password: str = "dagster",
        dbname: str = "dagster",
        host: str = "127.0.0.1",
        startup_timeout: float = 60.0,
    ):
        self.user, self.password, self.dbname, self.host = user, password, dbname, host
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.folder: Path | None = None
        self.bindir: Path | None = None
        self._os_user: pwd.struct_passwd | None = None
        self._superuser = "postgres"

    # ---------------------------------------------------------------- public API

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        if self.port is None:
            raise RuntimeError("the PostgreSQL server is not running")
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        assert self.folder is not None
        return self.folder / "postgres.log"

    def start(self) -> str:
        if self.port is not None:
            return self.url
        self.bindir = find_pg_bindir()
        self._os_user = _server_os_user()
        self._make_folder()
        atexit.register(self.stop)
        try:
            self._initdb()
            for attempt in range(3):
                self.port = free_port(self.host)
                try:
                    self._write_config()
                    self._pg_ctl_start()
                    break
                except PostgresStartError as exc:
                    # another process grabbed the port between free_port() and the bind
                    if attempt == 2 or not any(e in str(exc) for e in _BIND_ERRORS):
                        raise
                    self._kill_leftover()
            self._wait_until_ready()
            self._create_role_and_database()
        except BaseException:
            self.stop()
            raise
        return self.url

    def create_database(self, dbname: str) -> str:
        """A new, empty database owned by the password user; returns its URL."""
        from psycopg2 import sql

        with self._admin_connection() as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(self.user)
                )
            )
        return self.url_for(dbname)

    def connect(self, dbname: str | None = None):
        """A psycopg2 connection as the password user over TCP (the caller closes it)."""
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
            connect_timeout=5,
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate, then SIGKILL) and remove its folder.
        Safe to call more than once."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        folder, self.folder = self.folder, None
        self.port = None
        if folder is None:
            return
        data = folder / "data"
        try:
            if (data / "postmaster.pid").exists() and self.bindir is not None:
                for mode in ("fast", "immediate"):
                    done = self._run(
                        [self._bin("pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "30", "stop"],
                        check=False,
                        cwd=folder,
                    )
                    if done.returncode == 0:
                        break
            self._kill_leftover(data)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- internals

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        path = self.bindir / name
        return str(path) if path.exists() else (shutil.which(name) or name)

    def _make_folder(self) -> None:
        base = Path(tempfile.gettempdir())
        if self._os_user is not None and not _traversable_by(base, self._os_user):
            base = Path("/tmp")
        # short path: the unix socket path (<folder>/.s.PGSQL.<port>) must stay under ~100 bytes
        self.folder = Path(tempfile.mkdtemp(prefix="ca-pg-", dir=base))
        if self._os_user is not None:
            os.chown(self.folder, self._os_user.pw_uid, self._os_user.pw_gid)
        self.folder.chmod(0o700)

    def _run(self, args: list[str], check: bool = True, cwd: Path | None = None, **kwargs):
        """Run a PostgreSQL binary as the server's OS user."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
            "LC_ALL": "C",
            "LANG": "C",
        }
        if self._os_user is not None:
            env.update(HOME=str(self.folder), USER=self._os_user.pw_name, LOGNAME=self._os_user.pw_name)
            kwargs.update(user=self._os_user.pw_uid, group=self._os_user.pw_gid, extra_groups=[])
        done = subprocess.run(
            args,
            cwd=str(cwd or self.folder),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=max(self.startup_timeout, 60),
            **kwargs,
        )
        if check and done.returncode != 0:
            raise PostgresStartError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}")
        return done

    def _initdb(self) -> None:
        self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "--username",
                self._superuser,
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )

    def _write_config(self) -> None:
        assert self.folder is not None
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.folder}'",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "max_connections": "100",
            "shared_buffers": "32MB",
        }
        conf = self.folder / "creative-assets.conf"
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        if self._os_user is not None:
            os.chown(conf, self._os_user.pw_uid, self._os_user.pw_gid)
        main = self.data_dir / "postgresql.conf"
        include = f"include = '{conf}'\n"
        if include not in main.read_text():
            with main.open("a") as f:  # appending keeps the file's owner
                f.write(include)

    def _pg_ctl_start(self) -> None:
        done = self._run(
            [
                self._bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(self.startup_timeout)),
                "start",
            ],
            check=False,
        )
        if done.returncode != 0:
            raise PostgresStartError(f"pg_ctl start failed:\n{done.stdout}\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "--- postgres.log ---\n" + "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def _kill_leftover(self, data: Path | None = None) -> None:
        """SIGKILL a postmaster that pg_ctl could not stop (its pid is the first line of postmaster.pid)."""
        pidfile = (data or self.data_dir) / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pidfile.read_text().splitlines()[0])
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and b"postgres" not in cmdline.read_bytes():
                return  # a stale pid file; the number now belongs to another process
            os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
        with contextlib.suppress(OSError):
            pidfile.unlink()

    def _admin_connection(self):
        """A superuser connection through the unix socket (trusted), in autocommit mode."""
        import psycopg2

        conn = psycopg2.connect(
            host=str(self.folder), port=self.port, user=self._superuser, dbname="postgres", connect_timeout=5
        )
        conn.autocommit = True
        return contextlib.closing(conn)

    def _wait_until_ready(self) -> None:
        import psycopg2

        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                with self._admin_connection() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresStartError(
                        f"PostgreSQL did not accept connections within {self.startup_timeout:.0f}s: {exc}\n"
                        f"{self._log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def _create_role_and_database(self) -> None:
        from psycopg2 import sql

        with self._admin_connection() as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(self.user), sql.Literal(self.password)
                )
            )
        self.create_database(self.dbname)
        # the password user can log in over TCP, the way Dagster will connect
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == self.user
