"""Injecting an exception at a chosen line: the tool of the interrupt tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from types import FrameType
from typing import Any


class Injected(KeyboardInterrupt):
    """The interrupt the tests raise (a KeyboardInterrupt, as Ctrl-C would be)."""


def count_lines(files: Collection[str], action: Callable[[], object]) -> int:
    """How many lines of code in `files` run while action() runs."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if frame.f_code.co_filename not in files:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        action()
    finally:
        sys.settrace(None)
    return count


def interrupt_at(k: int, files: Collection[str], action: Callable[[], object]) -> bool:
    """Run action() with Injected raised at the k-th line run in `files`; True if it was."""
    seen = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal seen
        if frame.f_code.co_filename not in files:
            return None
        if event == "line":
            seen += 1
            if seen == k:
                raise Injected
        return tracer

    sys.settrace(tracer)
    try:
        action()
    except Injected:
        return True
    finally:
        sys.settrace(None)
    return False
