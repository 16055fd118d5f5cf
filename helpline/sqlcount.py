"""Count the SQL statements an engine runs (tests and benchmarks hold the per-report ceiling)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class StatementCounter:
    """`with StatementCounter(engine) as c: ...` then `c.count`, `c.statements` (SQL text only,
    never the parameters: they may hold what a child wrote)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)
