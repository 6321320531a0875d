"""What the tests, the compatibility suite and the benches share: one harness for a running
supervisor (ours or Circus's circusd), one notion of a process being alive, one way to wait.

Imported as `tests.support...` (the repository root is on `sys.path` under
`python -m pytest`); tests/conftest.py re-exports the names tests have always imported from it.
"""
