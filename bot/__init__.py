"""Everything WeChat and everything the bot knows."""
