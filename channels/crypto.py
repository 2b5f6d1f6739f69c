"""Channel credentials at rest: Fernet with FIELD_ENCRYPTION_KEY.

Plain secrets exist only in memory, between `decrypt_credentials` and the HTTP call that needs
them; what is stored is the token, what is shown is only whether a secret is set. Key rotation:
new tokens use FIELD_ENCRYPTION_KEY; FIELD_ENCRYPTION_OLD_KEYS are still read (a MultiFernet)
until `manage.py rotate_credentials_key` has re-encrypted everything under the new key.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted with any configured key: retrying won't help."""


@lru_cache(maxsize=4)
def _fernet(current: str, old: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in (current, *old)])


def _keys() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, tuple(settings.FIELD_ENCRYPTION_OLD_KEYS))


def encrypt_credentials(credentials: dict[str, str]) -> str:
    payload = json.dumps(credentials, sort_keys=True).encode()
    return _keys().encrypt(payload).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        payload = _keys().decrypt(token.encode())
    except InvalidToken:
        # Deliberately says nothing about the token or the keys.
        raise CredentialsUnreadable("stored channel credentials cannot be decrypted") from None
    return json.loads(payload)


def reencrypt_credentials(token: str) -> str:
    """The same credentials under the current key (raises CredentialsUnreadable)."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable("stored channel credentials cannot be decrypted") from None
