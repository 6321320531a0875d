"""The console's stylesheets. They live here, at the top of the repository; the wheel ships them
as the package `tui.styles` (pyproject.toml maps it here), and the console finds them through
importlib.resources, never by a path into the source tree."""
