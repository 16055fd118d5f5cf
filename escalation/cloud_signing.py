"""Request signing of the two Chinese clouds whose SMS and voice APIs page duty officers.

- Alibaba Cloud RPC APIs (dysmsapi SendSms, dyvmsapi IvrCall), signature version 1.0:
  the parameters (common ones included) sorted by name, each name and value percent-encoded
  per RFC 3986, joined as `k=v&k=v`; StringToSign = METHOD & %2F & percentEncode(that);
  Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
- Tencent Cloud API 3.0 (sms SendSms, vms SendTtsVoice), TC3-HMAC-SHA256: a canonical request
  (method, "/", empty query, the signed headers content-type;host;x-tc-action, the body's
  SHA-256), hashed into StringToSign with the credential scope date/service/tc3_request; the
  key derived as HMAC-SHA256 chained over "TC3"+SecretKey, date, service, "tc3_request".
Pure functions: no network, no clock unless none is given.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
import uuid
from datetime import UTC, datetime


def percent_encode(value: str) -> str:
    """RFC 3986: unreserved characters stay, everything else %XX (space is %20, * is %2A)."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_signed(
    action: str,
    version: str,
    access_key_id: str,
    secret: str,
    params: dict[str, str],
    region: str,
    nonce: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The complete, signed parameters of one RPC call (sent as a form body by POST)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = {
        **params,
        "AccessKeyId": access_key_id,
        "Action": action,
        "Format": "JSON",
        "RegionId": region,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": stamp,
        "Version": version,
    }
    signed["Signature"] = aliyun_signature(signed, secret)
    return signed


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


TC3_CONTENT_TYPE = "application/json; charset=utf-8"


def tc3_headers(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    action: str,
    version: str,
    region: str,
    payload: bytes,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers of one signed Tencent Cloud API 3.0 POST (Authorization included)."""
    stamp = int(timestamp if timestamp is not None else time.time())
    date = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host;x-tc-action"
    canonical_headers = (
        f"content-type:{TC3_CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    )
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, _sha256_hex(payload)]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(stamp), scope, _sha256_hex(canonical_request.encode())]
    )
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": (
            f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        ),
        "Content-Type": TC3_CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(stamp),
        "X-TC-Version": version,
        "X-TC-Region": region,
    }
