"""Administration: schools, staff accounts and roles, first-response targets."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from helpline.datafiles import section_text
from helpline.db import utcnow
from triage import grants
from triage import permissions as perm
from triage.auth import ROLES_NEEDING_TOTP, StaffSession
from triage.models import GrantAction, Organisation, OrgKind, ResponseTarget, Role, StaffUser
from triage.policy import URGENCY_ORDER

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_TARGET_MINUTES = 7 * 24 * 60


_said = section_text("triage", "admin")  # its messages, from data/triage/texts.yaml


class AdminError(ValueError):
    """Shown to the administrator as it is (fixed Chinese sentences only)."""


def _actor(staff: StaffUser) -> str:
    return f"staff:{staff.id}"


async def orgs_in_scope(session: AsyncSession, admin: StaffUser) -> list[Organisation]:
    rows = await session.execute(
        select(Organisation)
        .where(perm.scope_org_clause(admin, Organisation.id))
        .order_by(Organisation.kind, Organisation.code)
    )
    return list(rows.scalars())


async def create_school(
    session: AsyncSession, admin: StaffUser, code: str, name: str
) -> Organisation:
    if admin.org.kind != OrgKind.district:
        raise AdminError(_said("school_by_district_only"))
    code, name = code.strip().lower(), name.strip()
    if not CODE.match(code) or not 2 <= len(name) <= 200:
        raise AdminError(_said("school_code_or_name"))
    taken = await session.execute(select(Organisation.id).where(Organisation.code == code))
    if taken.scalar_one_or_none() is not None:
        raise AdminError(_said("school_code_taken"))
    org = Organisation(
        kind=OrgKind.school, code=code, name=name, parent_id=admin.org_id, region=admin.org.region
    )
    session.add(org)
    await session.flush()
    await audit.record(session, _actor(admin), "org.created", "organisation", org.id)
    return org


async def staff_in_scope(session: AsyncSession, admin: StaffUser) -> list[StaffUser]:
    rows = await session.execute(
        select(StaffUser)
        .where(perm.scope_org_clause(admin, StaffUser.org_id))
        .order_by(StaffUser.org_id, StaffUser.username)
    )
    return list(rows.scalars())


async def staff_for_admin(session: AsyncSession, admin: StaffUser, staff_id: int) -> StaffUser:
    """The account if it lies in the administrator's scope (else LookupError -> 404)."""
    target = await session.get(StaffUser, staff_id)
    if target is None or target.org_id not in {o.id for o in await orgs_in_scope(session, admin)}:
        raise LookupError("staff")
    return target


async def _org_by_code(session: AsyncSession, admin: StaffUser, code: str) -> Organisation:
    for org in await orgs_in_scope(session, admin):
        if org.code == code:
            return org
    raise AdminError(_said("org_out_of_scope"))


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise AdminError(_said("role_unknown")) from exc


async def create_staff(
    session: AsyncSession,
    admin: StaffUser,
    username: str,
    display_name: str,
    role: str,
    org_code: str,
    email: str | None,
) -> tuple[StaffUser, str | None, str | None]:
    """A new account; returns it with its one-time password and TOTP URI (shown once).

    An account with a guarded role (it would read case content, or approve such accounts) is
    created inactive and without usable credentials, with a request that a second
    administrator approves (triage/grants.py); then the password is None.
    """
    username, display_name = username.strip().lower(), display_name.strip()
    if not USERNAME.match(username) or not 1 <= len(display_name) <= 100:
        raise AdminError(_said("username_or_name"))
    taken = await session.execute(select(StaffUser.id).where(StaffUser.username == username))
    if taken.scalar_one_or_none() is not None:
        raise AdminError(_said("username_taken"))
    org = await _org_by_code(session, admin, org_code)
    role_value = _role(role)
    held = grants.guarded(role_value)
    totp = pyotp.random_base32() if role_value in ROLES_NEEDING_TOTP and not held else None
    staff = StaffUser(
        org_id=org.id,
        username=username,
        display_name=display_name,
        role=role_value,
        totp_secret=totp,
        email=(email or "").strip() or None,
        active=not held,
    )
    password = grants.new_password(staff)
    session.add(staff)
    await session.flush()
    await audit.record(
        session, _actor(admin), "staff.created", "staff", staff.id, role=role_value, active=not held
    )
    if held:
        # Nobody learns this password: the approver is given a fresh one.
        await grants.request(session, admin, staff, GrantAction.create, role_value)
        return staff, None, None
    uri = pyotp.TOTP(totp).provisioning_uri(name=username, issuer_name="Helpline") if totp else None
    return staff, password, uri


def _not_self(admin: StaffUser, target: StaffUser) -> None:
    if admin.id == target.id:
        raise AdminError(_said("not_yourself"))


async def _end_sessions(session: AsyncSession, target: StaffUser) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == target.id))


async def set_active(
    session: AsyncSession, admin: StaffUser, target: StaffUser, active: bool
) -> bool:
    """Deactivate at once; activating an account of a guarded role is a request (False)."""
    _not_self(admin, target)
    if active and not target.active and grants.guarded(target.role):
        await _request(session, admin, target, GrantAction.activate, target.role)
        return False
    target.active = active
    if not active:
        await _end_sessions(session, target)
    action = "staff.activated" if active else "staff.deactivated"
    await audit.record(session, _actor(admin), action, "staff", target.id)
    return True


async def _request(
    session: AsyncSession, admin: StaffUser, target: StaffUser, action: GrantAction, role: str
) -> None:
    try:
        await grants.request(session, admin, target, action, role)
    except grants.GrantError as exc:
        raise AdminError(str(exc)) from exc


async def reset_password(
    session: AsyncSession, admin: StaffUser, target: StaffUser
) -> grants.Issued | None:
    """A new one-time password (shown once); unlocks the account and ends its sessions.

    For an account of a guarded role it is a request (None): the approver gets the password.
    """
    if grants.guarded(target.role):
        _not_self(admin, target)
        await _request(session, admin, target, GrantAction.password, target.role)
        return None
    password = grants.new_password(target)
    await _end_sessions(session, target)
    await audit.record(session, _actor(admin), "staff.password_reset", "staff", target.id)
    return grants.Issued(target, password, None)


async def reset_totp(
    session: AsyncSession, admin: StaffUser, target: StaffUser
) -> grants.Issued | None:
    """A lost phone: a new authenticator key and a new one-time password (its holder sets their
    own at first sign-in and gets new recovery codes then); the old key, recovery codes and
    sessions stop working. For a guarded account a request a second administrator approves
    (None); the approver is given the new credentials."""
    _not_self(admin, target)
    if target.role not in ROLES_NEEDING_TOTP:
        raise AdminError(_said("no_totp"))
    if grants.guarded(target.role):
        await _request(session, admin, target, GrantAction.totp, target.role)
        return None
    issued = await grants.new_authenticator(session, target)
    await audit.record(session, _actor(admin), "staff.totp_reset", "staff", target.id)
    return issued


async def set_role(session: AsyncSession, admin: StaffUser, target: StaffUser, role: str) -> bool:
    """Change a role at once, or (to a guarded role) ask a second administrator (False)."""
    _not_self(admin, target)
    role_value = _role(role)
    if role_value == target.role:
        return True
    if grants.guarded(role_value):
        await _request(session, admin, target, GrantAction.role, role_value)
        return False
    previous, target.role = target.role, role_value
    if role_value in ROLES_NEEDING_TOTP and not target.totp_secret:
        target.totp_secret = pyotp.random_base32()
    await _end_sessions(session, target)
    await audit.record(
        session,
        _actor(admin),
        "staff.role_changed",
        "staff",
        target.id,
        role=role_value,
        previous_role=previous,
    )
    return True


async def save_targets(session: AsyncSession, admin: StaffUser, minutes: dict[str, int]) -> None:
    """Store the first-response targets (minutes per urgency) that override data/ defaults."""
    if set(minutes) != set(URGENCY_ORDER):
        raise AdminError(_said("target_missing"))
    if any(not 1 <= m <= MAX_TARGET_MINUTES for m in minutes.values()):
        raise AdminError(_said("target_range", most=MAX_TARGET_MINUTES))
    ordered = [minutes[u] for u in URGENCY_ORDER]
    if ordered != sorted(ordered):
        raise AdminError(_said("target_order"))
    now = utcnow()
    for urgency, value in minutes.items():
        row = await session.get(ResponseTarget, urgency)
        if row is None:
            row = ResponseTarget(urgency=urgency, minutes=value)
            session.add(row)
        row.minutes, row.updated_by, row.updated_at = value, admin.id, now
    await session.flush()
    await audit.record(session, _actor(admin), "targets.changed", "settings", "", **minutes)
