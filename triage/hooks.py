"""Hooks through which higher layers act inside triage's transactions and pages.

The assembly (assembly.wiring) registers the higher packages' handlers here, so that a case
opened by intake gets its statutory reports and escalation timers in the SAME transaction, a
mandatory case cannot close before its reports are recorded, and the case page shows the
escalation panel, all without triage importing escalation or bot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:  # the models import nothing from here; the names are only for the types
    from nlu.analysis import Analysis
    from triage.models import Case, StaffUser

# A link or a button on a console page: (url, title).
NavLink = tuple[str, str]
# (session, case, analysis) -> None; runs inside the intake transaction.
CaseHook = Callable[[AsyncSession, "Case", "Analysis"], Awaitable[None]]
# (session, case) -> a reason the case may not close yet, or None.
CloseGuard = Callable[[AsyncSession, "Case"], Awaitable[str | None]]
# (session, case, staff, csrf) -> an HTML fragment for the case page, or None.
CasePanel = Callable[[AsyncSession, "Case", "StaffUser", str], Awaitable[Markup | None]]
# () -> None; called when a reply to a reporter was queued (wakes the delivering channel).
ReplyQueued = Callable[[], None]
# (session, case, reason) -> None; runs inside the transaction that closes or merges the case.
CaseClosed = Callable[[AsyncSession, "Case", str], Awaitable[None]]
# (session, staff) -> short notices for the top of every console page of this staff member.
ConsoleBanner = Callable[[AsyncSession, "StaffUser"], Awaitable[list[str]]]
# (staff) -> the console pages of a higher layer this staff member may open.
NavLinks = Callable[["StaffUser"], list[NavLink]]
# (viewer, person) -> buttons (post url, label) a higher layer adds to a staff member's row of
# the admin page (e.g. escalation's "send a test alert").
StaffActions = Callable[["StaffUser", "StaffUser"], list[NavLink]]


@dataclass
class HookRegistry:
    case_opened: list[CaseHook] = field(default_factory=list)
    case_raised: list[CaseHook] = field(default_factory=list)  # urgency or labels went up
    close_guards: list[CloseGuard] = field(default_factory=list)
    case_panels: list[CasePanel] = field(default_factory=list)
    reply_queued: list[ReplyQueued] = field(default_factory=list)
    nav_links: list[NavLinks] = field(default_factory=list)
    case_closed: list[CaseClosed] = field(default_factory=list)  # closed or merged away
    console_banners: list[ConsoleBanner] = field(default_factory=list)
    staff_actions: list[StaffActions] = field(default_factory=list)  # POST buttons
    staff_links: list[StaffActions] = field(default_factory=list)  # pages about the person

    def clear(self) -> None:
        for registered in vars(self).values():
            registered.clear()


hooks = HookRegistry()


async def run_case_hooks(
    kind: str, session: AsyncSession, case: Case, analysis: Analysis
) -> None:
    for hook in getattr(hooks, kind):
        await hook(session, case, analysis)


async def close_blockers(session: AsyncSession, case: Case) -> list[str]:
    reasons = [await guard(session, case) for guard in hooks.close_guards]
    return [reason for reason in reasons if reason]


async def run_case_closed(session: AsyncSession, case: Case, reason: str) -> None:
    for hook in hooks.case_closed:
        await hook(session, case, reason)


async def console_banners(session: AsyncSession, staff: StaffUser) -> list[str]:
    return [line for banner in hooks.console_banners for line in await banner(session, staff)]


def extra_nav_links(staff: StaffUser) -> list[NavLink]:
    return [link for provider in hooks.nav_links for link in provider(staff)]


def extra_staff_actions(viewer: StaffUser, person: StaffUser) -> list[NavLink]:
    return [action for provider in hooks.staff_actions for action in provider(viewer, person)]


def extra_staff_links(viewer: StaffUser, person: StaffUser) -> list[NavLink]:
    return [link for provider in hooks.staff_links for link in provider(viewer, person)]


def notify_reply_queued() -> None:
    for wake in hooks.reply_queued:
        wake()
