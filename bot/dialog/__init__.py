"""Conversation routing: which part of the bot answers a message."""
