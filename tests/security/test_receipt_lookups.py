"""Issue 16: receipt look-ups count failures, not successes. A school of 2,000 students behind
one NAT address keeps opening its cases; guessing from an address is still cut off."""

from __future__ import annotations

from helpline.db import session_scope
from tests.security.support import client_from
from tests.support.web import csrf_from
from triage.intake import Intake, receive

SCHOOL_NAT = "198.51.100.200"


async def _codes(n: int) -> list[str]:
    from assembly import wiring

    wiring.wire_hooks()
    codes = []
    async with session_scope() as session:
        for i in range(n):
            got = await receive(
                session,
                Intake("web", f"nat-{i}", "同学总是笑话我", new_case=True, with_receipt=True),
            )
            codes.append(got.receipt_code)
    return codes


async def _open(client, code: str):  # noqa: ANN001, ANN202
    page = await client.get("/follow-up")
    return await client.post("/follow-up", data={"csrf_token": csrf_from(page.text), "code": code})


async def test_one_address_many_students_and_a_guesser(app) -> None:  # noqa: ANN001
    codes = await _codes(40)
    async with client_from(app, SCHOOL_NAT) as school:
        # Forty students (four times the old limit of ten a look-up) open their own cases.
        for code in codes:
            assert (await _open(school, code)).status_code == 200
        # Someone behind the same address guesses: wrong codes run out at the limit.
        statuses = [
            (await _open(school, f"ABCD-EFGH-JKMN-{i:04d}")).status_code for i in range(101)
        ]
        assert statuses[:100] == [404] * 100 and statuses[100] == 429
        # From there on this address gets no answer, not even for a right code.
        assert (await _open(school, codes[0])).status_code == 429
    async with client_from(app, "192.0.2.99") as elsewhere:
        assert (await _open(elsewhere, codes[0])).status_code == 200


async def test_one_code_opens_a_limited_number_of_times(app) -> None:  # noqa: ANN001
    (code,) = await _codes(1)
    async with client_from(app, "192.0.2.98") as client:
        statuses = [(await _open(client, code)).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
