"""The in-console channel as a notifier kind ("console"): it always works while the service
runs. An alert is its delivery row; "delivered" means stored for a person who can sign in and
see it (an active account). escalation/console_alerts.py shows it on every console page."""

from __future__ import annotations

from escalation.notifier import Contact, Notice, NotifyError, Target, register
from helpline.db import session_scope
from triage.models import StaffUser


class ConsoleNotifier:
    kind, personal, group = "console", True, False
    # Stored is not yet seen (the person may not be signed in): the console goes out alongside
    # the person's first outside channel and never makes it stand by or be skipped.
    alongside = True

    def ready(self) -> bool:
        return True  # needs nothing outside the service

    def address(self, contact: Contact) -> str | None:
        return str(contact.staff_id)

    async def send(self, target: Target, notice: Notice) -> None:
        staff_id = target.staff_id or (int(target.address) if target.address.isdigit() else 0)
        async with session_scope() as session:
            staff = await session.get(StaffUser, staff_id)
            if staff is None or not staff.active:
                raise NotifyError("console_inactive")  # nobody who can sign in to see it


register(ConsoleNotifier())
