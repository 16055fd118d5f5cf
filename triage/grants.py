"""Four eyes: what would let an account read case content waits for a second administrator.

Separation of duties (issue 14, docs/triage.md "Separation of duties"): an administrator manages
accounts but reads no case, and may not make an account that does on their own. Creating an
account with a guarded role (every role that reads case content, and the admin role that
decides these requests), changing an account to such a role, activating such an account again
and issuing a new password for one are *requests*; another administrator whose scope covers
the account approves or refuses them. Whoever asked cannot approve. The one-time password and
the authenticator key of an approved account are shown once, to the approver: the requester
never holds them. Requests, approvals, refusals and withdrawals are audited (ids and roles).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.db import utcnow
from triage import permissions as perm
from triage import recovery
from triage.auth import ROLES_NEEDING_TOTP, StaffSession, hash_password
from triage.models import GrantAction, GrantState, Organisation, RoleGrant, StaffUser

_said = section_text("triage", "grants")  # words from data/triage/texts.yaml


class GrantError(ValueError):
    """Shown to the administrator as it is (fixed Chinese sentences only)."""


@dataclass(frozen=True)
class Issued:
    """Credentials issued by an approval, shown once to the approver."""

    person: StaffUser
    password: str | None
    totp_uri: str | None


def guarded(role: str) -> bool:
    """A role whose grant needs a second administrator."""
    return role in perm.GUARDED_ROLES


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.id}"


async def pending_for(session: AsyncSession, target: StaffUser) -> RoleGrant | None:
    return (
        await session.execute(
            select(RoleGrant).where(
                RoleGrant.staff_id == target.id, RoleGrant.state == GrantState.pending
            )
        )
    ).scalar_one_or_none()


async def request(
    session: AsyncSession, admin: StaffUser, target: StaffUser, action: GrantAction, role: str
) -> RoleGrant:
    """Ask a second administrator to approve `action` (one open request per account)."""
    if await pending_for(session, target) is not None:
        raise GrantError(_said("already_pending"))
    grant = RoleGrant(
        staff_id=target.id,
        action=action,
        role=role,
        state=GrantState.pending,
        requested_by_id=admin.id,
        requested_at=utcnow(),
    )
    session.add(grant)
    await session.flush()
    await audit.record(
        session,
        _actor(admin),
        "grant.requested",
        "staff",
        target.id,
        grant_id=grant.id,
        grant_action=str(action),
        role=role,
    )
    return grant


async def pending_in_scope(session: AsyncSession, admin: StaffUser) -> list[RoleGrant]:
    """Open requests for accounts in the administrator's scope, oldest first."""
    rows = await session.execute(
        select(RoleGrant)
        .join(StaffUser, StaffUser.id == RoleGrant.staff_id)
        .where(
            RoleGrant.state == GrantState.pending, perm.scope_org_clause(admin, StaffUser.org_id)
        )
        .order_by(RoleGrant.requested_at, RoleGrant.id)
    )
    return list(rows.scalars())


async def _open_grant(session: AsyncSession, admin: StaffUser, grant_id: int) -> RoleGrant:
    """The pending request if its account lies in the administrator's scope (else LookupError)."""
    grant = await session.get(RoleGrant, grant_id)
    target = await session.get(StaffUser, grant.staff_id) if grant is not None else None
    if grant is None or target is None:
        raise LookupError("grant")
    in_scope = await session.execute(
        select(Organisation.id).where(
            Organisation.id == target.org_id, perm.scope_org_clause(admin, Organisation.id)
        )
    )
    if in_scope.first() is None:
        raise LookupError("grant")
    if grant.state != GrantState.pending:
        raise GrantError(_said("already_decided"))
    return grant


async def approve(session: AsyncSession, approver: StaffUser, grant_id: int) -> Issued:
    """Carry out a request another administrator made; returns what to hand over once."""
    grant = await _open_grant(session, approver, grant_id)
    if grant.requested_by_id == approver.id:
        raise GrantError(_said("not_own_request"))
    target = await session.get(StaffUser, grant.staff_id)
    assert target is not None
    if target.id == approver.id:
        raise GrantError(_said("not_own_account"))
    issued = await _apply(session, grant, target)
    grant.state, grant.decided_by_id, grant.decided_at = GrantState.approved, approver.id, utcnow()
    await audit.record(
        session,
        _actor(approver),
        "grant.approved",
        "staff",
        target.id,
        grant_id=grant.id,
        grant_action=grant.action,
        role=grant.role,
        requested_by=grant.requested_by_id,
    )
    return issued


async def refuse(session: AsyncSession, admin: StaffUser, grant_id: int) -> RoleGrant:
    """Refuse a request (or withdraw one's own); nothing changes on the account."""
    grant = await _open_grant(session, admin, grant_id)
    own = grant.requested_by_id == admin.id
    grant.state = GrantState.withdrawn if own else GrantState.refused
    grant.decided_by_id, grant.decided_at = admin.id, utcnow()
    await audit.record(
        session,
        _actor(admin),
        "grant.withdrawn" if own else "grant.refused",
        "staff",
        grant.staff_id,
        grant_id=grant.id,
        grant_action=grant.action,
        role=grant.role,
    )
    return grant


def new_password(target: StaffUser) -> str:
    """A one-time password (returned once): its holder must set their own at first sign-in."""
    password = secrets.token_urlsafe(12)
    target.password_hash = hash_password(password)
    target.failed_logins, target.locked_until = 0, None
    target.password_must_change = True
    return password


def _new_totp(target: StaffUser) -> str:
    target.totp_secret = pyotp.random_base32()
    return pyotp.TOTP(target.totp_secret).provisioning_uri(
        name=target.username, issuer_name="Helpline"
    )


async def new_authenticator(session: AsyncSession, target: StaffUser) -> Issued:
    """A lost phone: new key and one-time password; old key, recovery codes, sessions void."""
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == target.id))
    await recovery.discard(session, target)
    target.totp_last_step = None
    uri = _new_totp(target)
    return Issued(target, new_password(target), uri)


async def _apply(session: AsyncSession, grant: RoleGrant, target: StaffUser) -> Issued:
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == target.id))
    needs_totp = grant.role in ROLES_NEEDING_TOTP
    if grant.action == GrantAction.create:
        target.role, target.active = grant.role, True
        uri = _new_totp(target) if needs_totp else None
        return Issued(target, new_password(target), uri)
    if grant.action == GrantAction.role:
        if not guarded(target.role):
            # An account of a role an admin manages alone (auditor) may have credentials its
            # administrator set and holds (made or reset at once): it reads content only with
            # new ones, handed to the approver, or "auditor, then promote" would bypass four eyes.
            target.role = grant.role
            uri = _new_totp(target) if needs_totp else None
            return Issued(target, new_password(target), uri)
        target.role = grant.role
        uri = _new_totp(target) if needs_totp and not target.totp_secret else None
        return Issued(target, None, uri)
    if grant.action == GrantAction.totp:
        return await new_authenticator(session, target)
    if grant.action == GrantAction.activate:
        target.active = True
        return Issued(target, None, None)
    return Issued(target, new_password(target), None)  # GrantAction.password
