"""One-line answers for the command line's expected failures (exit code 2, no traceback).

A person who mistypes a setting or forgets `helpline db upgrade` needs one line saying what is
wrong and what to do, not a 160-line traceback (tracebacks can also print local variables that
hold message text). Unexpected errors still raise: they are bugs, not user mistakes.
"""

from __future__ import annotations

import socket
import tomllib

EXIT_USAGE = 2


class CommandError(Exception):
    """An expected failure of a command: what went wrong and what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        return f"error: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


class ConfigFileMissing(CommandError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"the configuration file {path} (HELPLINE_CONFIG_FILE) does not exist",
            "correct the path, or set HELPLINE_CONFIG_FILE= (empty) to run without a file",
        )


class ConfigFileInvalid(CommandError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"the configuration file {path} is not valid TOML: {reason}",
            "fix the file at the place named, or set HELPLINE_CONFIG_FILE= to run without it",
        )


class DatabaseMissing(CommandError):
    def __init__(self, path: str) -> None:
        super().__init__(
            f"there is no database at {path}",
            'run "helpline db upgrade" to create it, or set HELPLINE_DATABASE_URL',
        )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _database_url() -> str:
    from helpline.settings import _mask_url_password, get_settings

    try:
        return _mask_url_password(get_settings().effective_database_url)
    except Exception:  # settings themselves are broken: the other branch says so
        return "the configured database"


def _settings_error(exc: BaseException) -> CommandError | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    # The given value is never repeated: it may be a key or a password.
    return CommandError(
        f"setting {name} (HELPLINE_{name.upper()} or `{name}` in the TOML file) is not valid: "
        f"{first['msg']}",
        '"helpline config show" prints the settings once they are valid',
    )


def _is_missing_table(exc: BaseException) -> bool:
    text = str(exc)
    return "no such table" in text or type(exc).__name__ == "UndefinedTableError" or (
        "relation" in text and "does not exist" in text
    )


def _is_unreachable(exc: BaseException) -> bool:
    names = {
        "InvalidPasswordError",
        "InvalidAuthorizationSpecificationError",
        "InvalidCatalogNameError",
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
    }
    if type(exc).__name__ in names:
        return True
    if isinstance(exc, socket.gaierror | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, OSError) and "connect" in str(exc).lower()


def explain(exc: BaseException) -> CommandError | None:
    """The one-line explanation of an expected failure, or None for a bug."""
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, CommandError):
            return link
    for link in chain:
        if isinstance(link, tomllib.TOMLDecodeError):
            return ConfigFileInvalid("(HELPLINE_CONFIG_FILE)", _first_line(link))
        found = _settings_error(link)
        if found is not None:
            return found
    for link in chain:
        if _is_missing_table(link):
            return CommandError(
                f"the database {_database_url()} has no tables or an old schema",
                'run "helpline db upgrade" first',
            )
    for link in chain:
        if _is_unreachable(link):
            return CommandError(
                f"cannot reach the database {_database_url()}: {_first_line(link)}",
                "check HELPLINE_DATABASE_URL and that the database server is running",
            )
    return None
