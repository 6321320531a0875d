"""Circus's stdout_stream.* / stderr_stream.* options: the stream classes that write to the
daemon's stdout become "inherit", the file streams become log file options."""

from __future__ import annotations

from collections.abc import Callable

from daemon.convert.circus_options import FILE_STREAMS, STREAM_OPTIONS
from daemon.convert.render import WatcherDraft


def convert_streams(
    watcher: WatcherDraft, streams: dict[str, dict[str, str]], warn: Callable[[str], None]
) -> list[tuple[str, str]]:
    """Sets the stream options on `watcher`; returns the (option, text) pairs of the log
    sizes, still to be checked like any other watcher option."""
    sizes: dict[str, tuple[str, str]] = {}
    for stream in ("stdout_stream", "stderr_stream"):
        options = streams.get(stream)
        if options is None:
            continue
        prefix = f"watcher {watcher.name}: {stream}"
        kind = options.get("class", "").strip().rsplit(".", 1)[-1]
        target = stream.removesuffix("_stream")
        extra = sorted(set(options) - STREAM_OPTIONS.get(kind, {"class"}))
        for option in extra:
            warn(f"{prefix}.{option} is not supported")
        if kind in ("StdoutStream", "FancyStdoutStream"):
            watcher.values[target] = "inherit"
            if kind == "FancyStdoutStream":
                warn(f"{prefix}: FancyStdoutStream's colours and prefixes are not kept")
        elif kind in FILE_STREAMS:
            filename = options.get("filename", "").strip()
            if not filename:
                warn(f"{prefix}: {kind} without a filename; output goes to state_dir/logs")
            elif target == "stdout" or filename != watcher.values.get("stdout_file"):
                watcher.values[f"{target}_file"] = filename
            if kind == "TimedRotatingFileStream":
                warn(
                    f"{prefix}: TimedRotatingFileStream rotates by time; here files rotate "
                    "by size (max_bytes, 10 MiB by default)"
                )
                size = (options.get("max_bytes", ""), options.get("backup_count", ""))
            else:
                # Circus's defaults: never rotate, and no backups once it does.
                max_bytes = options.get("max_bytes", "0")
                unset = "" if max_bytes.strip() == "0" else "0"
                size = (max_bytes, options.get("backup_count", unset))
            sizes[stream] = size
        else:
            warn(f"{prefix}: class {kind or '(none)'} is not supported")
    if len(set(sizes.values())) > 1:
        warn(
            f"watcher {watcher.name}: stdout and stderr files rotate alike here; "
            "stdout_stream's max_bytes and backup_count are kept"
        )
    if not sizes:
        return []
    max_bytes, backup_count = sizes.get("stdout_stream") or sizes["stderr_stream"]
    return [(k, v) for k, v in (("max_bytes", max_bytes), ("backup_count", backup_count)) if v]
