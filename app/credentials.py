"""Secrets in the OS keyring (Windows 凭据管理器): remembered passwords, feedback keys and
the command line's session token — never in a plain file.

Entries are per platform and account, under the service name ``tuishui``. When no usable
keyring exists, :class:`KeyringUnavailable` says so and nothing is kept.
"""

from __future__ import annotations

import json
import logging

from app.errors import LocalError
from app.models import FeedbackKey

log = logging.getLogger(__name__)

SERVICE = "tuishui"


def _name(kind: str, server: str, who: str) -> str:
    """The keyring entry's name. The bundled platform listens on a new loopback port at
    every start, so every loopback address counts as the same platform: a remembered
    password still fills in after a restart."""
    from urllib.parse import urlsplit

    host = urlsplit(server).hostname or ""
    if host in {"127.0.0.1", "localhost", "::1"}:
        server = "builtin"
    return f"{kind}|{server}|{who}"


class KeyringUnavailable(LocalError):
    def __init__(self) -> None:
        super().__init__(
            "未找到系统凭据管理器，密码不会被保存。下次登录时请重新输入密码；"
            "反馈密钥会在每次登录后重新从平台获取。"
        )


class CredentialStore:
    """Keyring access; every failure of the backend becomes :class:`KeyringUnavailable`."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def available(self) -> bool:
        """True when a real keyring backend can be used (not the 'fail' backend)."""
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            if isinstance(backend, fail.Keyring):
                return False
            backend.get_password(self.service, "probe")
        except Exception:
            log.info("keyring unusable", exc_info=True)
            return False
        return True

    # -- passwords --------------------------------------------------------------------------

    def remember_password(self, server: str, account: str, password: str) -> None:
        self._set(_name("password", server, account), password)

    def password(self, server: str, account: str) -> str | None:
        return self._get(_name("password", server, account))

    def forget(self, server: str, account: str) -> None:
        self._delete(_name("password", server, account))
        self._delete(_name("token", server, account))

    # -- feedback keys ----------------------------------------------------------------------

    def remember_feedback_key(self, server: str, taxpayer_id: str, key: FeedbackKey) -> None:
        self._set(_name("feedback-key", server, taxpayer_id), json.dumps([key.key_id, key.key]))

    def feedback_key(self, server: str, taxpayer_id: str) -> FeedbackKey | None:
        raw = self._get(_name("feedback-key", server, taxpayer_id))
        if raw is None:
            return None
        try:
            key_id, key = json.loads(raw)
        except ValueError:
            return None
        return FeedbackKey(str(key_id), str(key))

    def forget_feedback_key(self, server: str, taxpayer_id: str) -> None:
        self._delete(_name("feedback-key", server, taxpayer_id))

    # -- the command line's session token (short-lived, see app.cli) ------------------------

    def remember_token(self, server: str, account: str, token: str) -> None:
        self._set(_name("token", server, account), token)

    def token(self, server: str, account: str) -> str | None:
        return self._get(_name("token", server, account))

    def forget_token(self, server: str, account: str) -> None:
        self._delete(_name("token", server, account))

    # -- plumbing ---------------------------------------------------------------------------

    def _set(self, name: str, secret: str) -> None:
        if not self.available():
            raise KeyringUnavailable
        import keyring

        try:
            keyring.set_password(self.service, name, secret)
        except Exception as exc:
            raise KeyringUnavailable from exc

    def _get(self, name: str) -> str | None:
        if not self.available():
            return None
        import keyring

        try:
            return keyring.get_password(self.service, name)
        except Exception:
            log.info("keyring read failed", exc_info=True)
            return None

    def _delete(self, name: str) -> None:
        if not self.available():
            return
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            keyring.delete_password(self.service, name)
        except PasswordDeleteError:
            pass
        except Exception:
            log.info("keyring delete failed", exc_info=True)
