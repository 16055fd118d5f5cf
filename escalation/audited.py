"""One way the console's editors store a change: the fields whose value differs are set, and
one audit event names them (never their values: addresses, names)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from triage.models import StaffUser


async def set_fields(
    session: AsyncSession,
    admin: StaffUser,
    row: Any,
    values: dict[str, Any],
    action: str,
    object_type: str,
    **details: Any,
) -> list[str]:
    """Set the changed fields of `row`; audit `action` with their names; return the names."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        await session.flush()
        await audit.record(
            session, f"staff:{admin.id}", action, object_type, row.id, fields=changed, **details
        )
    return changed
