"""A development stand-in for WeChat: a phone-like chat that talks to the real webhook."""
