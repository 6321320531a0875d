"""The circus-tui supervisor daemon. Never imports the console or its UI libraries."""
