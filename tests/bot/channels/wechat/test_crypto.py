"""Safe-mode crypto against Tencent's published WXBizMsgCrypt sample."""

import pytest

from bot.channels.wechat.crypto import CryptoError, MessageCipher, signature_matches, signature_of

SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wxb11529c136998cb6"
SAMPLE_CIPHERTEXT = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)


def test_encrypts_tencent_sample_exactly():
    cipher = MessageCipher(encoding_aes_key=SAMPLE_KEY, app_id=SAMPLE_APPID)
    assert cipher.encrypt("我是中文abcd123", random_prefix="aaaabbbbccccdddd") == SAMPLE_CIPHERTEXT


def test_decrypts_tencent_sample():
    cipher = MessageCipher(encoding_aes_key=SAMPLE_KEY, app_id=SAMPLE_APPID)
    assert cipher.decrypt(SAMPLE_CIPHERTEXT) == "我是中文abcd123"


def test_other_app_id_is_refused():
    cipher = MessageCipher(encoding_aes_key=SAMPLE_KEY, app_id="wx-someone-else")
    with pytest.raises(CryptoError):
        cipher.decrypt(SAMPLE_CIPHERTEXT)


@pytest.mark.parametrize("garbage", ["", "not base64!!", "QUJD", "A" * 64])
def test_garbage_is_a_crypto_error_not_a_crash(garbage):
    cipher = MessageCipher(encoding_aes_key=SAMPLE_KEY, app_id=SAMPLE_APPID)
    with pytest.raises(CryptoError):
        cipher.decrypt(garbage)


def test_signature_is_sha1_of_sorted_parts():
    # Known value from WeChat's documentation example: token, timestamp, nonce.
    assert signature_of("pamtest", "1409304348", "xxxxxx") == signature_of(
        "xxxxxx", "pamtest", "1409304348"
    )
    good = signature_of("pamtest", "1409304348", "xxxxxx")
    assert signature_matches(good, "pamtest", "1409304348", "xxxxxx")
    assert not signature_matches(good[:-1] + "0", "pamtest", "1409304348", "xxxxxx")
    assert not signature_matches("", "pamtest", "1409304348", "xxxxxx")
