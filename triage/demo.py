"""Loads the demo organisations and staff from data/demo/config.yaml."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpline import audit
from triage.auth import ROLES_NEEDING_TOTP, hash_password
from triage.models import Organisation, OrgKind, StaffUser


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    org: str
    password: str
    totp_uri: str | None


async def load_orgs_and_staff(
    session: AsyncSession, config: dict[str, Any], password: str | None = None
) -> list[DemoLogin]:
    """Create what is missing; existing accounts are left as they are (no logins printed)."""
    orgs = await _load_orgs(session, config)
    logins = []
    for entry in config["staff"]:
        exists = (
            await session.execute(
                select(StaffUser.id).where(StaffUser.username == entry["username"])
            )
        ).scalar_one_or_none()
        if exists is not None:
            continue
        pw = password or secrets.token_urlsafe(9)
        totp = pyotp.random_base32() if entry["role"] in ROLES_NEEDING_TOTP else None
        staff = StaffUser(
            org_id=orgs[entry["org"]].id,
            username=entry["username"],
            display_name=entry["display_name"],
            role=entry["role"],
            password_hash=hash_password(pw),
            totp_secret=totp,
            email=entry.get("email"),
            phone=entry.get("phone"),
            telegram_chat_id=entry.get("telegram_chat_id"),
            active=bool(entry.get("active", True)),
            # A password the operator chose (--password) is theirs already; one made up here
            # and printed on the terminal must be replaced at first sign-in, as an
            # administrator's one-time password is.
            password_must_change=password is None,
        )
        session.add(staff)
        await session.flush()
        await audit.record(session, "system", "staff.created", "staff", staff.id, role=staff.role)
        uri = (
            pyotp.TOTP(totp).provisioning_uri(name=entry["username"], issuer_name="Helpline")
            if totp
            else None
        )
        logins.append(DemoLogin(entry["username"], entry["role"], entry["org"], pw, uri))
    return logins


async def _load_orgs(session: AsyncSession, config: dict[str, Any]) -> dict[str, Organisation]:
    district_cfg = config["district"]
    district = await _get_or_create_org(session, OrgKind.district, district_cfg, None)
    orgs = {district.code: district}
    for school_cfg in config["schools"]:
        school_cfg = {"region": district.region, **school_cfg}
        orgs[school_cfg["code"]] = await _get_or_create_org(
            session, OrgKind.school, school_cfg, district.id
        )
    return orgs


async def _get_or_create_org(
    session: AsyncSession, kind: OrgKind, cfg: dict[str, Any], parent_id: int | None
) -> Organisation:
    org = (
        await session.execute(select(Organisation).where(Organisation.code == cfg["code"]))
    ).scalar_one_or_none()
    if org is None:
        org = Organisation(
            kind=kind,
            code=cfg["code"],
            name=cfg["name"],
            parent_id=parent_id,
            region=cfg.get("region", "default"),
            coverage_fallback=cfg.get("fallback"),
        )
        session.add(org)
        await session.flush()
    return org
