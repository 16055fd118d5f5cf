"""Alembic environment: async engine, URL from the helpline settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from assembly.tables import metadata
from helpline.crypto import EncryptedText
from helpline.db import create_engine
from helpline.settings import get_settings


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Encrypted columns are plain TEXT in the schema; the encryption lives in the model.
    if type_ == "type" and isinstance(obj, EncryptedText):
        return "sa.Text()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = context.config.attributes.get("url") or get_settings().effective_database_url
    engine = create_engine(url, create=True)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_online())


run_migrations_online()
