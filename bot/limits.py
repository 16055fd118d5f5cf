"""Rate limits for the intake channels, each counted in its own short transaction.

The count commits even when the request then fails or is refused.
"""

from __future__ import annotations

from bot import texts
from bot.flow import single_writer_slot
from helpline import ratelimit
from helpline.db import session_scope


async def allow(scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False when the limit for this window is used up."""
    async with single_writer_slot(), session_scope() as session:
        return await ratelimit.hit(session, scope, key, limit, window_seconds)


async def exhausted_rule(rule_name: str, scope: str, key: str) -> bool:
    """Whether the rule's limit for this window is used up, counting nothing."""
    rule = texts.limits()[rule_name]
    async with session_scope() as session:
        used = await ratelimit.used(session, scope, key, int(rule["window_seconds"]))
    return used >= int(rule["limit"])


async def allow_rule(rule_name: str, scope: str, key: str) -> bool:
    """`allow` with the limit and window of a rule in data/bot/limits.yaml."""
    rule = texts.limits()[rule_name]
    return await allow(scope, key, int(rule["limit"]), int(rule["window_seconds"]))
