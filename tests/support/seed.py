"""A database made ready for tests: migrated, and the demo configuration loaded."""

from __future__ import annotations

import asyncio
import os

from helpline.settings import PROJECT_ROOT
from tests.support.web import DEMO_PASSWORD


def migrate_and_seed(url: str) -> None:
    """Migrate the database at `url`, make it HELPLINE_DATABASE_URL, load the demo into it."""
    from assembly import dbadmin
    from helpline.settings import reset_settings

    dbadmin.upgrade(url)
    os.environ["HELPLINE_DATABASE_URL"] = url
    reset_settings()

    async def seed() -> None:
        from assembly.wiring import load_demo
        from helpline.db import dispose_engine

        try:
            await load_demo(PROJECT_ROOT / "data" / "demo" / "config.yaml", DEMO_PASSWORD)
        finally:
            await dispose_engine()  # its connections belong to this short-lived event loop

    asyncio.run(seed())
