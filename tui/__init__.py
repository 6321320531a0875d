"""The circus-tui console."""
