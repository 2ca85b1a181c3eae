"""The channel-agnostic help desk: queues, tickets, agents."""
