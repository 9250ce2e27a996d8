"""The database: one aiosqlite connection (WAL, foreign keys on) and numbered migrations.

Migrations live in `bot/migrations/NNN_name.sql`; the schema version is SQLite's own
`PRAGMA user_version`. Each migration runs in its own transaction. Before a database that
already holds data is migrated, it is copied to `<file>.bak-v<old version>` (with `VACUUM INTO`,
so the copy carries no free pages), and afterwards it is vacuumed once, so pages freed before
`secure_delete` was on hold nothing any more.
A landed migration is never edited: add a new file instead.

Deleted rows must not linger in the files: `secure_delete` zeroes them in the database, and
`scrub()` (a truncating WAL checkpoint) removes the old frames from the `-wal`. Code that drops
text calls `scrub_soon()`, and something calls `scrub()` at least once a minute while one is
pending; code that deletes what a person asked to delete calls `scrub()` at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.files import create_private_file, database_files, tighten, use_private_umask

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

Params = Sequence[Any]
T = TypeVar("T")
# The database whose transaction the current task has open, if any.
_TRANSACTION: ContextVar[Database | None] = ContextVar("circlekeeper_transaction", default=None)
# Inside `Database.unit`, on the database thread: the connection its queries run on directly.
_UNIT: ContextVar[tuple[Database, sqlite3.Connection] | None] = ContextVar(
    "circlekeeper_unit", default=None
)
_SAVEPOINT = "circlekeeper_inner"


class DatabaseError(Exception):
    """The database cannot be used (too new, unreadable); the message says what to do."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    path: Path

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in version order; refuses gaps and duplicates."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise DatabaseError(f"Badly named migration {path.name} (want NNN_name.sql)")
        found.append(Migration(int(match.group(1)), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise DatabaseError(f"Migration {migration.path.name} is out of sequence")
    return found


class Database:
    """A thin async wrapper: one small method per kind of query, `?` parameters only."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path
        self._lock = asyncio.Lock()
        self._scrub_pending = False

    @classmethod
    async def open(cls, path: Path, *, migrations: Iterable[Migration] | None = None) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        Sets the process umask to 077 and creates the file 0600 first, so the database, its
        `-wal` and `-shm` and any copy are private to the bot's user; existing database files
        that others could read are made private (with a log line). Raises DatabaseError when
        the file is newer than this code.
        """
        use_private_umask()
        create_private_file(path)
        tighten(database_files(path))
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            db = cls(conn, path)
            await db.fetchone(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.fetchone("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA foreign_keys = ON")
            # Debian's SQLite has this on already, upstream's does not: deleted rows and
            # dropped text are overwritten with zeros instead of left on free space.
            await db.fetchone("PRAGMA secure_delete = ON")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db._migrate(list(migrations) if migrations is not None else discover_migrations())
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection. Idempotent."""
        await self._conn.close()

    @property
    def scrub_pending(self) -> bool:
        """True when text was dropped since the last complete `scrub()`."""
        return self._scrub_pending

    def scrub_soon(self) -> None:
        """Note that text was dropped, so the next periodic `scrub()` has work to do."""
        self._scrub_pending = True

    async def scrub(self) -> bool:
        """Copy the WAL into the database and truncate it, so the frames that held deleted
        rows or dropped text are gone from the `-wal`. True if it completed.

        Inside a transaction (or while another process reads) it cannot complete: it then
        stays pending for the next periodic call.
        """
        if _TRANSACTION.get() is self:
            self._scrub_pending = True
            return False
        row = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
        done = row is not None and row[0] == 0
        self._scrub_pending = not done
        if not done:
            log.info("Could not empty the WAL yet (another reader); will try again")
        return done

    async def version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self, migrations: list[Migration]) -> None:
        current = await self.version()
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise DatabaseError(
                f"The database {self.path} is at schema version {current}, newer than this "
                f"code understands ({latest}). Update Circlekeeper, or restore a backup."
            )
        pending = [m for m in migrations if m.version > current]
        if not pending:
            return
        upgrading = await self._has_data()
        if upgrading:
            backup = self.path.with_name(f"{self.path.name}.bak-v{current}")
            await self._vacuum_into(backup)
            # It holds what the live file held (salts, held posts, member ids): keep it as
            # private as the database, and tell the operator it exists.
            backup.chmod(0o600)
            log.warning(
                "Copied the database to %s before migrating. It holds the live data of this "
                "moment: delete it once the upgraded bot is known to run well",
                backup,
            )
        for migration in pending:
            await self._apply(migration)
            log.info("Applied migration %s", migration.path.name)
        if upgrading:
            # Free pages of a file written before secure_delete was on may still hold deleted
            # rows: rebuild it once, then empty the WAL that held the old pages.
            await self.execute("VACUUM")
            await self.scrub()
            log.info("Rebuilt the upgraded database, so no deleted rows remain in it")

    async def _has_data(self) -> bool:
        row = await self.fetchone(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return bool(row and row[0])

    async def _apply(self, migration: Migration) -> None:
        # executescript() would commit on its own; run statement by statement inside one
        # transaction instead, so a failing migration leaves the previous version intact.
        statements = [s for s in _split_sql(migration.sql()) if s.strip()]
        async with self.transaction():
            for statement in statements:
                await self.execute(statement)
            await self.execute(f"PRAGMA user_version = {migration.version}")

    async def _vacuum_into(self, target: Path) -> None:
        """Write a compact copy of the live database to `target` (mode 0600) with `VACUUM
        INTO`: unlike the online backup it copies no free pages, so rows deleted before now
        (even before secure_delete was on) are not in it. A copy left by an earlier attempt
        at the same upgrade is replaced."""
        _fresh_private_file(target)  # VACUUM INTO accepts an empty file, and keeps its mode
        await self.execute("VACUUM INTO ?", (str(target),))

    # --- queries -------------------------------------------------------------------------
    # Each query is one hop to aiosqlite's worker thread: the statement runs and its result
    # is read there. Outside a transaction a query waits for any transaction another task
    # has open, so its statements never become part of (or are rolled back with) that one.

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite's own queue; its public cursor API costs a hop per step.
        return cast(T, await self._conn._execute(work, self._conn._conn))

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        unit = _UNIT.get()
        if unit is not None and unit[0] is self:
            return work(unit[1])  # already on the database thread: no hop
        if _TRANSACTION.get() is self:
            return await self._call(work)
        async with self._lock:
            return await self._call(work)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows changed."""
        return await self._run(lambda c: c.execute(sql, params).rowcount)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; return the new row id."""
        rowid = await self._run(lambda c: c.execute(sql, params).lastrowid)
        if rowid is None:
            raise DatabaseError("insert returned no row id")
        return rowid

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)
        await self._run(lambda c: c.executemany(sql, batch))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._run(lambda c: c.execute(sql, params).fetchone())

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._run(lambda c: c.execute(sql, params).fetchall())

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def unit(self, work: Callable[[Database], Awaitable[T]], *, write: bool = True) -> T:
        """Run `work(db)` as one transaction in one hop to the database thread.

        `work` is ordinary service code (`await db.fetchone(...)` and so on, any number of
        queries, transactions inside it included): on the database thread every query runs
        at once, so the coroutine never waits and finishes within the hop. It must await
        nothing but this database (no Discord, no sleeping, no asyncio objects); if it does,
        the unit is rolled back and RuntimeError raised. An exception from `work` rolls the
        whole unit back and is raised here. With `write=False` the transaction only reads
        (a consistent snapshot, taking no write lock). Inside a transaction this task already
        holds, `work` simply runs as part of it (inside another unit, as a savepoint).
        """
        unit = _UNIT.get()
        if unit is not None and unit[0] is self:
            async with self.transaction():  # a savepoint of the unit already running
                return await work(self)
        if _TRANSACTION.get() is self:
            return await work(self)
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        context = copy_context()

        def run(conn: sqlite3.Connection) -> T:
            conn.execute(begin)
            try:
                result = context.run(self._drive, conn, work)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._lock:
            return await self._call(run)

    def _drive(self, conn: sqlite3.Connection, work: Callable[[Database], Awaitable[T]]) -> T:
        _UNIT.set((self, conn))
        _TRANSACTION.set(self)
        coroutine = cast(Any, work(self))
        try:
            coroutine.send(None)
        except StopIteration as done:
            return cast(T, done.value)
        coroutine.close()
        raise RuntimeError("a database unit awaited something other than the database")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """Group statements atomically; other tasks' queries wait until it ends.

        Not re-entrant: opening one inside another raises RuntimeError. Inside a `unit` it
        is a savepoint of the unit's transaction: its statements are undone together if it
        fails, even when the unit goes on.
        """
        unit = _UNIT.get()
        if unit is not None and unit[0] is self:
            unit[1].execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                yield self
            except BaseException:
                unit[1].execute(f"ROLLBACK TO {_SAVEPOINT}")
                unit[1].execute(f"RELEASE {_SAVEPOINT}")
                raise
            unit[1].execute(f"RELEASE {_SAVEPOINT}")
            return
        if _TRANSACTION.get() is self:
            raise RuntimeError("a transaction is already open in this task")
        async with self._lock:
            token = _TRANSACTION.set(self)
            try:
                await self._call(lambda c: c.execute("BEGIN IMMEDIATE"))
                try:
                    yield self
                except BaseException:
                    await self._call(lambda c: c.execute("ROLLBACK"))
                    raise
                await self._call(lambda c: c.execute("COMMIT"))
            finally:
                _TRANSACTION.reset(token)

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[Database]:
        """A transaction, or, inside one this task already holds, part of that one."""
        if _TRANSACTION.get() is self:
            yield self
            return
        async with self.transaction():
            yield self


def _fresh_private_file(path: Path) -> None:
    """An empty file at `path`, mode 0600, replacing whatever was there."""
    path.unlink(missing_ok=True)
    create_private_file(path)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, respecting quotes and trigger bodies."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer)
            buffer = ""
    if buffer.strip():
        statements.append(buffer)
    return statements
