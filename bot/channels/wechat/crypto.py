"""WeChat signatures and the safe-mode (AES) envelope, on top of wechatpy's cipher."""

import hashlib
import hmac

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException


class CryptoError(Exception):
    """The envelope cannot be opened: wrong key, wrong app id, or garbage."""


def signature_of(*parts: str) -> str:
    """Compute WeChat's SHA-1 signature over the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's protocol)


def signature_matches(signature: str, *parts: str) -> bool:
    """Compare in constant time so a sender cannot learn the signature byte by byte."""
    return hmac.compare_digest(signature_of(*parts).encode(), (signature or "").encode())


class MessageCipher:
    """Encrypt and decrypt WeChat's safe-mode payloads for one app id."""

    def __init__(self, *, encoding_aes_key: str, app_id: str) -> None:
        import base64

        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("WECHAT_ENCODING_AES_KEY must be 43 characters of base64")
        self._key = key
        self._app_id = app_id

    def _prp(self) -> PrpCrypto:
        return PrpCrypto(self._key)

    def decrypt(self, encrypted: str) -> str:
        """Open one Encrypt field; raise CryptoError for anything that is not ours."""
        try:
            return self._prp().decrypt(encrypted, self._app_id)
        except InvalidAppIdException as exc:
            raise CryptoError("app id mismatch") from exc
        except Exception as exc:  # padding, base64, unicode: all mean "not a valid envelope"
            raise CryptoError(str(exc) or exc.__class__.__name__) from exc

    def encrypt(self, plaintext: str, *, random_prefix: str | None = None) -> str:
        """Seal plaintext into base64; random_prefix is for known-answer tests only."""
        prp = self._prp()
        if random_prefix is not None:
            prp.get_random_string = lambda: random_prefix
        return prp.encrypt(plaintext, self._app_id).decode()

    def envelope(self, plaintext: str, *, token: str, timestamp: str, nonce: str) -> str:
        """Build the encrypted reply XML WeChat expects in safe and compatible mode."""
        encrypted = self.encrypt(plaintext)
        signature = signature_of(token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
