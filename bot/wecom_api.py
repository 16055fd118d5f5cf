"""WeCom customer service (微信客服) as the help line uses it, on wechatpy's WeCom client.

WeCom only notifies (`kf_msg_or_event` with a short-lived Token); the messages themselves are
read with `POST /cgi-bin/kf/sync_msg` (cursor + token), their images and voice fetched
with `GET /cgi-bin/media/get`, and answered with `POST /cgi-bin/kf/send_msg` (to the
customer's external_userid, through the account's open_kfid, within 48 hours of their
message). The corp token comes from `/cgi-bin/gettoken` (corpid +
the customer-service secret), cached and refreshed like the Official Account's
(bot/wechat_api.py: one retry on 40001/40014/42001).
"""

from __future__ import annotations

import asyncio
from typing import Any

from wechatpy.enterprise import WeChatClient as WeComClient

from bot.wechat_api import (
    TIMEOUT_SECONDS,
    OneClient,
    WeChatError,
    call_with,
    chunks,
    fetch_media,
    keep_token,
)
from helpline.settings import get_settings


class HelplineWeComClient(WeComClient):  # type: ignore[misc]
    def __init__(self, corp_id: str, secret: str, api_base: str) -> None:
        super().__init__(corp_id, secret, timeout=TIMEOUT_SECONDS, auto_retry=False)
        self.API_BASE_URL = f"{api_base.rstrip('/')}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        """GET /cgi-bin/gettoken with a timeout (wechatpy's has none)."""
        response = self._http.get(
            url=f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=TIMEOUT_SECONDS,
        )
        return keep_token(self, response)


_clients = OneClient(HelplineWeComClient)


def configured() -> bool:
    conf = get_settings()
    return bool(
        conf.wecom_corp_id and conf.wecom_kf_secret and conf.wecom_token and conf.wecom_aes_key
    )


def client() -> HelplineWeComClient:
    conf = get_settings()
    if not configured():
        raise WeChatError("wecom_not_configured")
    assert conf.wecom_corp_id and conf.wecom_kf_secret
    return _clients.get(
        (conf.wecom_corp_id, conf.wecom_kf_secret.get_secret_value(), conf.wecom_api_base)
    )


def reset() -> None:
    _clients.reset()


def _sync(api: HelplineWeComClient, body: dict[str, Any]) -> dict[str, Any]:
    return api.post("kf/sync_msg", data=body)  # type: ignore[no-any-return]


def _send(api: HelplineWeComClient, body: dict[str, Any]) -> None:
    api.post("kf/send_msg", data=body)


async def sync_msg(open_kfid: str, token: str, cursor: str | None) -> dict[str, Any]:
    """One page of messages after `cursor` (msg_list, next_cursor, has_more)."""
    body: dict[str, Any] = {"token": token, "limit": 1000, "open_kfid": open_kfid}
    if cursor:
        body["cursor"] = cursor
    result: dict[str, Any] = await asyncio.to_thread(call_with, client(), "sync", _sync, body)
    return result


async def download(media_id: str) -> tuple[bytes, str]:
    """A customer's image or voice (temporary media, /cgi-bin/media/get): content and MIME."""
    result: tuple[bytes, str] = await asyncio.to_thread(
        call_with, client(), "media", fetch_media, media_id
    )
    return result


async def send_text(open_kfid: str, external_userid: str, text: str) -> None:
    for part in chunks(text):
        body = {
            "touser": external_userid,
            "open_kfid": open_kfid,
            "msgtype": "text",
            "text": {"content": part},
        }
        await asyncio.to_thread(call_with, client(), "kf_send", _send, body)
