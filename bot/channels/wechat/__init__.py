"""The WeChat channel: inbound webhook, crypto, outbound client, followers and messages."""
