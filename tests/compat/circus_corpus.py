"""How Circus's own configurations fare through `circus-tui convert`: every .ini file of a
Circus checkout (examples/, circus/tests/config/) and every ini block of its docs, converted,
then loaded as the daemon would. Not a test (the checkout is not on a fresh machine):

    git clone https://github.com/circus-tent/circus && chmod -R go-w circus
    .venv/bin/python -m tests.compat.circus_corpus circus

(go-w: the daemon refuses to run a plugin from a directory other users can write to.)
Prints the counts and the warnings, most frequent first."""

from __future__ import annotations

import collections
import re
import sys
import tempfile
from pathlib import Path

from daemon.config import ConfigError, parse_config_text
from daemon.convert import convert_report

ENDPOINT_DEFAULTS = "circus: Circus defaulted to"
_BLOCK = re.compile(r"\.\. code-block:: ini\n\n((?:[ \t]+.*\n|\n)+)")


def doc_blocks(checkout: Path, into: Path) -> list[Path]:
    found = []
    for rst in sorted((checkout / "docs").rglob("*.rst")):
        text = rst.read_text(errors="replace")
        for number, match in enumerate(_BLOCK.finditer(text), 1):
            lines = match.group(1).splitlines()
            block = "\n".join(x[4:] if x.startswith("    ") else x.strip() for x in lines)
            if "[" in block:
                path = into / f"{rst.stem}-{number}.ini"
                path.write_text(block + "\n")
                found.append(path)
    return found


def main(checkout: Path) -> None:
    counts: collections.Counter[str] = collections.Counter()
    said: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as blocks:
        files = sorted(checkout.rglob("*.ini")) + doc_blocks(checkout, Path(blocks))
        for path in files:
            report = convert_report(path)
            try:
                parse_config_text(report.text, path.with_suffix(".toml"))
                counts["load"] += 1
            except ConfigError as exc:
                said[f"does not load: {exc.key}: {exc.message}"] += 1
            others = [w for w in report.warnings if not w.startswith(ENDPOINT_DEFAULTS)]
            counts["no warning"] += not report.warnings
            counts["no warning but the endpoint defaults"] += not others
            for warning in report.warnings:
                said[re.sub(r"'[^']*'|\"[^\"]*\"|/\S+", "…", warning)] += 1
    print(f"{len(files)} files: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    for text, n in said.most_common():
        print(f"{n:4} {text}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
