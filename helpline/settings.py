"""Configuration: environment variables (prefix HELPLINE_) and an optional TOML file."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from helpline.clierrors import ConfigFileInvalid, ConfigFileMissing

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path | None:
    """The TOML file to read: HELPLINE_CONFIG_FILE (empty: none), else var/helpline.toml if any.

    A file that was named but does not exist is an error: silently running without the
    settings someone meant to give is worse than not starting.
    """
    named = os.environ.get("HELPLINE_CONFIG_FILE")
    if named is None:
        default = PROJECT_ROOT / "var" / "helpline.toml"
        return default if default.is_file() else None
    if not named.strip():
        return None
    if not Path(named).is_file():
        raise ConfigFileMissing(named)
    return Path(named)


def _toml_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
    path = _config_file()
    if path is None:
        return None
    try:
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileInvalid(str(path), str(exc)) from None


class Settings(BaseSettings):
    """Every setting of the service. Secrets are SecretStr so they never print in clear."""

    model_config = SettingsConfigDict(env_prefix="HELPLINE_", extra="ignore")

    var_dir: Path = PROJECT_ROOT / "var"
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""
    model_dir: Path | None = None
    nlu_backend: str = "spacy"
    rasa_url: str = "http://127.0.0.1:5005"

    key_file: Path | None = None
    keys: SecretStr | None = Field(
        default=None, description="key ring as 'id:base64key,id:base64key' (newest last)"
    )
    pseudonym_key: SecretStr | None = None
    secret_key: SecretStr | None = None

    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # The escalation worker, the Telegram poller and the audit checkpoints run inside the web
    # process; off in the web processes of `helpline serve --workers N` (one process of their
    # own runs them) and on app nodes whose escalation workers run apart (docs/deployment.md).
    background_services: bool = True
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks, comma
    # separated, e.g. "10.0.0.5,10.1.0.0/16"). Behind a proxy the socket's address is the
    # proxy's, so every per-address limit would count a whole district as one client; from any
    # other peer the header is ignored, so a client cannot choose its own address.
    trusted_proxies: str = ""

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: SecretStr | None = None
    telegram_mode: str = "polling"

    # WeChat Official Account (公众号): safe (encrypted) mode when wechat_aes_key is set.
    wechat_token: SecretStr | None = None
    wechat_appid: str | None = None
    wechat_secret: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    # WeCom customer service (微信客服) of a school that uses WeCom: callback at /wecom.
    wecom_corp_id: str | None = None
    wecom_kf_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"

    # SMS and voice alerts (escalation/phone_alerts.py); which cloud per district is in
    # data/escalation/phone_alerts.yaml. The endpoints point at stand-ins in tests.
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    aliyun_voice_endpoint: str = "https://dyvmsapi.aliyuncs.com"
    tencent_secret_id: str | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_sms_endpoint: str = "https://sms.tencentcloudapi.com"
    tencent_voice_endpoint: str = "https://vms.tencentcloudapi.com"
    phone_callback_secret: SecretStr | None = None  # path secret of the receipt callbacks

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "helpline@localhost"

    # Alert channel kinds in order for everyone without an alert profile (comma-separated);
    # unset: delivery.channel_order of data/escalation/escalation.yaml.
    alert_channel_order: str | None = None

    # A one-time acknowledgement link in an alert works this long after the alert was made.
    ack_link_hours: float = Field(default=24.0, gt=0)

    # Signed audit checkpoints (helpline.audit_anchor): their folder, and an address (the
    # district's) that gets each one by e-mail, out of reach of whoever holds the server.
    audit_dir: Path | None = None
    audit_checkpoint_mailto: str | None = None

    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {item!r}") from None
        return value

    @property
    def proxy_networks(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _toml_source(settings_cls)
        return (init_settings, env_settings, toml) if toml else (init_settings, env_settings)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'helpline.db'}"

    @property
    def effective_model_dir(self) -> Path:
        return self.model_dir or self.var_dir / "models"

    @property
    def effective_audit_dir(self) -> Path:
        return self.audit_dir or self.var_dir / "audit"

    @property
    def effective_key_file(self) -> Path:
        return self.key_file or self.var_dir / "keys.json"

    def masked(self) -> dict[str, Any]:
        """The settings as a dict, with every secret and any password in a URL masked."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif name == "database_url" and value:
                out[name] = _mask_url_password(value)
            else:
                out[name] = str(value) if isinstance(value, Path) else value
        out["effective_database_url"] = _mask_url_password(self.effective_database_url)
        return out


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "********"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between runs)."""
    get_settings.cache_clear()
