"""Error types; the only place exit codes live."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_LOCK_HELD = 4
EXIT_INTERRUPTED = 130


class RockwayError(Exception):
    """Base error: a message for people, an exit code, and an optional next step."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UsageError(RockwayError):
    """Bad command-line usage, configuration or input (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """Invalid configuration (rockway.toml, environment variables, DSN)."""


class InputError(UsageError):
    """A bad input file: names the file and, where known, the line."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        location = f"{path}:{line}" if line else str(path)
        super().__init__(f"{location}: {message}", hint=hint)
        self.path = str(path)
        self.line = line


class DatabaseUnavailable(RockwayError):
    """The database cannot be reached or refused the credentials (exit 3)."""

    exit_code = EXIT_UNREACHABLE


class LockHeld(RockwayError):
    """Another run holds the lock (exit 4)."""

    exit_code = EXIT_LOCK_HELD


class DatabaseError(RockwayError):
    """A statement failed on the server (exit 1)."""

    def __init__(self, message: str, *, errno: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.errno = errno


class OutcomeUnknown(DatabaseError):
    """The connection broke after a statement was sent: whether it ran is unknown."""


class AsyncJobFailed(DatabaseError):
    """A StarRocks asynchronous job (ALTER, rollup, MV, backup) ended CANCELLED or timed out."""


class MigrationFailed(RockwayError):
    """A migration failed or history is in a state that needs a person (exit 1)."""


class ValidationFailed(RockwayError):
    """`validate` found problems (exit 1)."""


class Interrupted(RockwayError):
    """The run was interrupted (exit 130)."""

    exit_code = EXIT_INTERRUPTED
