"""Walk an exception's whole chain: what the HTTP adapters read to name a failure's cause
(a refused connection is an ``OSError`` several ``__cause__``/``__context__`` links, or an
exception group's member, below httpx's ``ConnectError``)."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["exception_chain"]


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield ``exc``, its causes/contexts and exception-group members, each once."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
