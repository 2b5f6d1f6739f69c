"""Channel credentials at rest: Fernet with FIELD_ENCRYPTION_KEY.

Plain secrets exist only in memory, between `decrypt_credentials` and the HTTP
call that needs them; what is stored, shown or logged is the token or a mask.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted with the configured key."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt_credentials(credentials: dict[str, str]) -> str:
    payload = json.dumps(credentials, sort_keys=True).encode()
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(payload).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        payload = _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode())
    except InvalidToken:
        # Deliberately says nothing about the token or the key.
        raise CredentialsUnreadable("stored channel credentials cannot be decrypted") from None
    return json.loads(payload)


def mask_secret(value: str) -> str:
    """'abcd…wxyz' for long values, '••••' for short ones: enough to recognise, never to use."""
    if not value:
        return ""
    if len(value) < 12:
        return "••••"
    return f"{value[:4]}…{value[-4:]}"
