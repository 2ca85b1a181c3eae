"""Channels through which followers reach the bot (WeChat official account today)."""
