"""What a client may send a real server (pytest-jupyter's, in this
process): bodies built to be slow to scan, query parameters beyond any
number, text that would break the server's log formatting. Each answer is
a 4xx JSON error; nothing changes; the server's log gets no traceback."""

from __future__ import annotations

import logging
import statistics
import time

import pytest

from conftest import started


async def timed_patch(api, kernel_id: str, body: bytes) -> float:
    start = time.perf_counter()
    code, answer = await api.call("PATCH", "api", "active-sessions", kernel_id, raw=body)
    elapsed = time.perf_counter() - start
    assert code == 400 and "message" in answer, (code, answer)
    return elapsed


def never_closing(size: int) -> bytes:
    """A body whose string never closes, made of escaped quotes: what made
    the scanner that finds a body's nesting restart at every quote."""
    head = b'{"display_name": "'
    return head + b'\\"' * ((size - len(head)) // 2)


async def test_a_body_scanned_in_time_linear_in_its_size(api):
    """4x the body, at most 6x the time (a quadratic scanner made it 16x:
    16 KB took 1.6 s of the server's event loop). Medians of runs side by
    side, so a busy machine slows both alike."""
    kernel_id = await started(api)
    before = await api.session(kernel_id)
    small, large = never_closing(4096), never_closing(16384)
    times: dict[int, list[float]] = {len(small): [], len(large): []}
    for _ in range(7):
        for body in (small, large):
            times[len(body)].append(await timed_patch(api, kernel_id, body))
    ratio = statistics.median(times[len(large)]) / statistics.median(times[len(small)])
    print(f"\nPATCH of 16 KB / 4 KB never-closing bodies: {ratio:.2f}x the time")
    assert ratio <= 6, times
    after = await api.session(kernel_id)
    assert after["display_name"] == before["display_name"]


@pytest.mark.parametrize("limit", ["9" * 5000, "1" * 7, "-1", "1e3", "٣"])
async def test_a_query_number_beyond_any_limit_is_a_400(api, limit):
    kernel_id = await started(api)
    code, answer = await api.call(
        "GET", "api", "active-sessions", kernel_id, "history", params={"limit": limit}
    )
    assert code == 400 and "'limit' must be a whole number" in answer["message"], answer


@pytest.mark.parametrize(
    "route, name, values",
    [
        ((), "include", ["x", "ended"]),
        (("history",), "limit", ["x", "5"]),
        (("resources",), "points", ["ZJ", "", "3"]),
    ],
)
async def test_a_query_argument_given_twice_is_a_400(api, route, name, values):
    """tornado answers the last of several, so `?points=x&points=3` was
    answered as if valid (found by the OpenAPI fuzzer)."""
    kernel_id = await started(api)
    parts = ("api", "active-sessions", *((kernel_id, *route) if route else ()))
    code, answer = await api.call("GET", *parts, params=[(name, v) for v in values])
    assert code == 400, (code, answer)
    assert answer["message"] == f"{name!r} may be given once, not {len(values)} times.", answer
    assert (await api.call("GET", *parts, params=[(name, values[-1])]))[0] == 200


async def test_text_that_looks_like_a_format_string_is_never_one(api, caplog):
    """An id or a parameter holding `%s` or `%d` is quoted in the answer as
    sent, and the server's log formats it as text (tornado formats an
    error's message with its arguments: a `%s` in it broke the log line)."""
    caplog.set_level(logging.DEBUG)
    code, answer = await api.call("GET", "api", "active-sessions", "%s%d%(x)s")
    assert code == 404 and "'%s%d%(x)s'" in answer["message"], answer
    code, answer = await api.call("GET", "api", "active-sessions", params={"include": "%s%d"})
    assert code == 400 and "'%s%d'" in answer["message"], answer
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    for record in caplog.records:
        record.getMessage()  # each line formats
