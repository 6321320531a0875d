"""Circus's names for options this daemon spells otherwise, as `options`, `get` and `set`
take them: `close_child_stdout` (our `stdout = "discard"`), `stdout_stream_conf` and
`stdout_stream.filename` (our `stdout_file`, `log_format`, …), and the same for stderr.

circusctl users and Circus plugins read and set these; each maps onto our options, so there
is one value in force whichever name was used."""

from __future__ import annotations

from typing import Any

from daemon import checks
from daemon.checks import CheckError
from daemon.wire.core import WatcherView

STREAMS = ("stdout", "stderr")
# What each stream option of Circus's FileStream becomes here.
STREAM_KEYS = {
    "filename": "{stream}_file",
    "max_bytes": "max_bytes",
    "backup_count": "backup_count",
}
FILE_CLASSES = ("FileStream", "WatchedFileStream")
CONSOLE_CLASSES = ("StdoutStream", "FancyStdoutStream")


def circus_options(watcher: WatcherView) -> dict[str, Any]:
    """The Circus-named options of a watcher, with the values in force."""
    cfg = watcher.config
    paths = watcher.output.log_paths()
    out: dict[str, Any] = {}
    for stream in STREAMS:
        mode = getattr(cfg, stream)
        out[f"close_child_{stream}"] = mode == "discard"
        conf: dict[str, Any] = {}
        if mode == "inherit":
            conf = {"class": "StdoutStream"}
        elif mode == "pipe":
            path = paths.get(stream)
            conf = {
                "class": "FileStream",
                "filename": str(path) if path is not None else None,
                "max_bytes": cfg.max_bytes,
                "backup_count": cfg.backup_count,
            }
            if cfg.log_format == "circus":
                conf["time_format"] = cfg.log_time_format
        out[f"{stream}_stream_conf"] = conf
    return out


def is_circus_name(key: str) -> bool:
    return key in ("close_child_stdout", "close_child_stderr") or key.startswith(
        ("stdout_stream.", "stderr_stream.")
    )


def from_circus(options: dict[str, Any]) -> dict[str, Any]:
    """`options` of a `set` with Circus's names replaced by ours; raises CheckError naming
    the Circus key when its value cannot mean anything here."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if not is_circus_name(key):
            out[key] = value
        elif key.startswith("close_child_"):
            stream = key.removeprefix("close_child_")
            try:
                closed = checks.boolean(value)
            except ValueError as exc:
                raise CheckError(key, str(exc)) from None
            out[stream] = "discard" if closed else "pipe"
        else:
            out.update(_stream_option(key, value))
    return out


def _stream_option(key: str, value: Any) -> dict[str, Any]:
    prefix, option = key.split(".", 1)
    stream = prefix.removesuffix("_stream")
    if option == "class":
        kind = str(value).strip().rsplit(".", 1)[-1]
        if kind in FILE_CLASSES:
            return {stream: "pipe"}
        if kind in CONSOLE_CLASSES:
            return {stream: "inherit"}
        raise CheckError(
            key,
            f"{value!r}: only {', '.join(FILE_CLASSES + CONSOLE_CLASSES)} mean something here "
            "(a stream class is code circusd ran, this daemon does not)",
        )
    if option in STREAM_KEYS:
        return {STREAM_KEYS[option].format(stream=stream): value}
    if option == "time_format":
        text = None if value in (None, "") else value
        return {"log_format": "circus" if text else "raw", "log_time_format": text}
    raise CheckError(
        key, f"unknown stream option (known: class, {', '.join(STREAM_KEYS)}, time_format)"
    )
