"""The shared-cache key family of a follower: every per-follower value lives under it."""

import hashlib


def follower_key(openid: str, part: str = "") -> str:
    """`conv:<hash>[:<part>]` (hashed: an openid is user input as far as cache keys go)."""
    digest = hashlib.sha256(openid.encode("utf-8", "replace")).hexdigest()[:32]
    return f"conv:{digest}" + (f":{part}" if part else "")
