"""Circus's stdout_stream.* / stderr_stream.* options: the stream classes that write to the
daemon's stdout become "inherit", the file streams become log file options."""

from __future__ import annotations

from collections.abc import Callable

from daemon.convert.circus_options import FILE_STREAMS, STREAM_OPTIONS
from daemon.convert.render import WatcherDraft

# TimedRotatingFileStream's options for rotating by time.
ROTATION_BY_TIME = frozenset({"rotate_when", "rotate_interval", "utc"})


def convert_streams(
    watcher: WatcherDraft,
    streams: dict[str, dict[str, str]],
    warn: Callable[[str], None],
    note: Callable[[str], None],
    uncaptured: Callable[[str, list[str]], None],
) -> list[tuple[str, str]]:
    """Sets the stream options on `watcher`; returns the (option, text) pairs of the log
    file's format and sizes, still to be checked like any other watcher option. A stream
    left out means circusd let the process write on circusd's own stdout or stderr: say
    where that output goes now."""
    sizes: dict[str, tuple[str, str]] = {}
    formats: dict[str, str] = {}
    left: list[str] = []
    for stream in ("stdout_stream", "stderr_stream"):
        options = streams.get(stream)
        if options is None:
            target = stream.removesuffix("_stream")
            if watcher.values.get(target) is None:
                left.append(target)
            continue
        prefix = f"watcher {watcher.name}: {stream}"
        kind = options.get("class", "").strip().rsplit(".", 1)[-1]
        if not kind and options.get("filename", "").strip():
            kind = "FileStream"  # as Circus reads a filename without a class
        target = stream.removesuffix("_stream")
        extra = sorted(set(options) - STREAM_OPTIONS.get(kind, {"class"}))
        for option in extra:
            if option in ROTATION_BY_TIME:
                warn(f"{prefix}.{option} is not supported: files rotate by size here (max_bytes)")
            else:
                warn(f"{prefix}.{option} is not an option of {kind or 'a stream'}; left out")
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
            # FileStream writes the bytes alone, or each line after its time_format prefix.
            formats[stream] = options.get("time_format", "").strip()
        else:
            warn(
                f"{prefix}: class {options.get('class', '').strip() or '(none)'} is not "
                "supported (a stream class is Python code run inside circusd, which this "
                f"daemon does not run): the output is captured and written to {where(watcher)}; "
                "`tail -f` or the output events give it to another program"
            )
    if left == ["stderr"] and watcher.values.get("stdout_file"):
        # Captured, it would go into stdout's file, which then holds other bytes than
        # circusd wrote there.
        watcher.values["stderr"] = "inherit"
        note(
            f"watcher {watcher.name}: without stderr_stream, circusd left the stderr of its "
            'processes on its own: stderr = "inherit" written, so that '
            f"{watcher.values['stdout_file']} holds stdout alone as it did (set stderr_file "
            "to keep stderr in a file of its own)"
        )
    elif left:
        uncaptured(watcher.name, left)
    if len(set(sizes.values())) > 1:
        warn(
            f"watcher {watcher.name}: stdout and stderr files rotate alike here; "
            "stdout_stream's max_bytes and backup_count are kept"
        )
    if len(set(formats.values())) > 1:
        warn(
            f"watcher {watcher.name}: stdout and stderr files are written alike here; "
            "stdout_stream's time_format is kept"
        )
    time_format = formats.get("stdout_stream", formats.get("stderr_stream"))
    if time_format is None:
        return []
    pairs = [("log_format", "circus" if time_format else "raw")]
    if time_format:
        pairs.append(("log_time_format", time_format))
    max_bytes, backup_count = sizes.get("stdout_stream") or sizes["stderr_stream"]
    return pairs + [
        (k, v) for k, v in (("max_bytes", max_bytes), ("backup_count", backup_count)) if v
    ]


def where(watcher: WatcherDraft) -> str:
    return str(watcher.values.get("stdout_file") or f"state_dir/logs/{watcher.name}.log")
