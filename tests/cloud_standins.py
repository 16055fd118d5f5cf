"""Local stand-ins of the Alibaba Cloud and Tencent Cloud SMS and voice APIs over real HTTP.

Each one checks the request's signature with its own implementation of the cloud's documented
algorithm (written here independently of escalation/cloud_signing.py), refuses a wrong or
replayed signature the way the cloud does, records what it accepted, and can be told to fail
the next requests (HTTP 503) so that retries are exercised.

Alibaba (RPC, signature 1.0): form POST; parameters sorted; RFC 3986 encoding;
  sign("POST&%2F&" + enc(canonical), AccessKeySecret + "&") with HMAC-SHA1, base64;
  SignatureNonce never reused; Timestamp within 15 minutes.
Tencent (API 3.0, TC3-HMAC-SHA256): JSON POST; Authorization header
  "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=...,
  Signature=..." recomputed from the headers it names; X-TC-Timestamp within 5 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.standin import ThreadedServer


@dataclass
class Accepted:
    provider: str
    action: str
    params: dict[str, Any]
    ref: str


@dataclass
class _State:
    changed: threading.Condition = field(default_factory=threading.Condition)
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (action, error code)
    fail_next: int = 0
    nonces: set[str] = field(default_factory=set)
    counter: int = 0


class _Server:
    provider = ""

    def __init__(self) -> None:
        self.state = _State()
        self._server = ThreadedServer(
            Starlette(routes=[Route("/", self._handle, methods=["POST"])]), "cloud stand-in"
        )
        self.port = self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> _Server:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, count: int) -> None:
        with self.state.changed:
            self.state.fail_next = count

    def accepted(self, action: str | None = None) -> list[Accepted]:
        with self.state.changed:
            return [a for a in self.state.accepted if action is None or a.action == action]

    def _next_ref(self, prefix: str) -> str:
        self.state.counter += 1
        return f"{prefix}{self.state.counter:06d}"

    async def _handle(self, request: Request) -> Response:
        raise NotImplementedError


class AliyunStandin(_Server):
    """dysmsapi (SendSms) and dyvmsapi (IvrCall) on one address."""

    provider = "aliyun"

    def __init__(self, key_id: str = "LTAIstandin", secret: str = "aliyun-secret-1") -> None:  # noqa: S107
        super().__init__()
        self.key_id, self.secret = key_id, secret

    @staticmethod
    def _enc(text: str) -> str:
        return quote(text, safe="~-._")

    def expected_signature(self, params: dict[str, str]) -> str:
        pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
        query = "&".join(self._enc(k) + "=" + self._enc(v) for k, v in pairs)
        to_sign = "POST&" + self._enc("/") + "&" + self._enc(query)
        mac = hmac.new((self.secret + "&").encode("utf-8"), to_sign.encode("utf-8"), "sha1")
        return base64.b64encode(mac.digest()).decode("ascii")

    def _error(self, code: str, status: int = 400) -> JSONResponse:
        self.state.refused.append(("", code))
        return JSONResponse({"Code": code, "Message": code, "RequestId": "r"}, status_code=status)

    async def _handle(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        with self.state.changed:
            if self.state.fail_next > 0:
                self.state.fail_next -= 1
                return Response("unavailable", status_code=503)
            if params.get("AccessKeyId") != self.key_id:
                return self._error("InvalidAccessKeyId.NotFound", 404)
            if (
                params.get("SignatureMethod") != "HMAC-SHA1"
                or params.get("SignatureVersion") != "1.0"
            ):
                return self._error("IncompleteSignature")
            if not hmac.compare_digest(
                params.get("Signature", ""), self.expected_signature(params)
            ):
                return self._error("SignatureDoesNotMatch")
            nonce = params.get("SignatureNonce", "")
            if not nonce or nonce in self.state.nonces:
                return self._error("SignatureNonceUsed")
            self.state.nonces.add(nonce)
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
            if abs(stamp.replace(tzinfo=UTC).timestamp() - time.time()) > 900:
                return self._error("InvalidTimeStamp.Expired")
            action = params.get("Action", "")
            if action == "SendSms" and params.get("Version") == "2017-05-25":
                json.loads(params["TemplateParam"])
                ref = self._next_ref("BIZ")
                answer = {"Code": "OK", "Message": "OK", "BizId": ref, "RequestId": "r"}
            elif action == "IvrCall" and params.get("Version") == "2017-05-25":
                if params.get("MenuKeyMap.1.Key") is None:
                    return self._error("MissingMenuKeyMap")
                ref = self._next_ref("CALL^")
                answer = {"Code": "OK", "Message": "OK", "CallId": ref, "RequestId": "r"}
            else:
                return self._error("InvalidAction.NotFound", 404)
            self.state.accepted.append(Accepted("aliyun", action, params, ref))
            self.state.changed.notify_all()
        return JSONResponse(answer)


class TencentStandin(_Server):
    """sms (SendSms) and vms (SendTtsVoice) on one address (the service is in the scope)."""

    provider = "tencent"

    def __init__(self, secret_id: str = "AKIDstandin", secret_key: str = "tencent-key-1") -> None:  # noqa: S107
        super().__init__()
        self.secret_id, self.secret_key = secret_id, secret_key

    def expected_authorization(self, request: Request, body: bytes) -> str | None:
        auth = request.headers.get("authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            secret_id, date, service, terminator = fields["Credential"].split("/")
        except ValueError:
            return None
        if algorithm != "TC3-HMAC-SHA256" or terminator != "tc3_request":
            return None
        signed = fields["SignedHeaders"].split(";")
        if not {"content-type", "host"} <= set(signed):
            return None  # Tencent Cloud requires both to be signed
        lines = []
        for name in signed:
            value = request.headers.get(name, "").strip()
            lines.append(f"{name}:{value.lower() if name == 'x-tc-action' else value}\n")
        headers = "".join(lines)
        canonical = (
            "POST\n/\n\n"
            + headers
            + "\n"
            + fields["SignedHeaders"]
            + "\n"
            + hashlib.sha256(body).hexdigest()
        )
        stamp = request.headers.get("x-tc-timestamp", "0")
        to_sign = (
            f"TC3-HMAC-SHA256\n{stamp}\n{date}/{service}/tc3_request\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )

        def mac(key: bytes, msg: str) -> bytes:
            return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

        signing_key = mac(
            mac(mac(("TC3" + self.secret_key).encode(), date), service), "tc3_request"
        )
        signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        return (
            f"TC3-HMAC-SHA256 Credential={self.secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={fields['SignedHeaders']}, Signature={signature}"
        )

    def _error(self, code: str) -> JSONResponse:
        self.state.refused.append(("", code))
        return JSONResponse(
            {"Response": {"Error": {"Code": code, "Message": code}, "RequestId": "r"}}
        )

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        with self.state.changed:
            if self.state.fail_next > 0:
                self.state.fail_next -= 1
                return Response("unavailable", status_code=503)
            expected = self.expected_authorization(request, body)
            given = request.headers.get("authorization", "")
            if expected is None or not hmac.compare_digest(given, expected):
                return self._error("AuthFailure.SignatureFailure")
            if abs(int(request.headers.get("x-tc-timestamp", "0")) - time.time()) > 300:
                return self._error("AuthFailure.SignatureExpire")
            action = request.headers.get("x-tc-action", "")
            data = json.loads(body)
            if action == "SendSms":
                ref = self._next_ref("SERIAL")
                answer = {
                    "SendStatusSet": [
                        {
                            "SerialNo": ref,
                            "PhoneNumber": data["PhoneNumberSet"][0],
                            "Fee": 1,
                            "SessionContext": data.get("SessionContext", ""),
                            "Code": "Ok",
                            "Message": "send success",
                            "IsoCode": "CN",
                        }
                    ],
                    "RequestId": "r",
                }
            elif action == "SendTtsVoice":
                ref = self._next_ref("CALLID")
                answer = {
                    "SendStatus": {"CallId": ref, "SessionContext": data.get("SessionContext", "")},
                    "RequestId": "r",
                }
            else:
                return self._error("InvalidAction")
            self.state.accepted.append(Accepted("tencent", action, data, ref))
            self.state.changed.notify_all()
        return JSONResponse({"Response": answer})
