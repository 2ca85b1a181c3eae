"""Database plumbing shared by the apps: the row builder and group commit."""
