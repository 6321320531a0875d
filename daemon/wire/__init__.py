"""Circus's wire bodies, built from the core's typed values: the only place that knows the
key names Circus's tools read. The core never imports this package (import-linter)."""
