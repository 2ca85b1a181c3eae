"""The bot's side of the help desk: escalation, the tickets.notify backend, snapshots."""
