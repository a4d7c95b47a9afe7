"""Log excerpts for the error messages of the stack, the agents and the demo."""

from __future__ import annotations

from pathlib import Path


def tail(path: Path | None, lines: int = 30) -> str:
    """The last ``lines`` lines of a log, headed by its path ('' for no path)."""
    if path is None:
        return ''
    try:
        text = path.read_text(errors='replace').splitlines()
    except OSError:
        return f'--- (no log at {path}) ---'
    return f'--- last {min(lines, len(text))} lines of {path} ---\n' + '\n'.join(text[-lines:])
