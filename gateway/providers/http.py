"""Pooled upstream HTTP clients (aiohttp, measured fastest) and upstream error mapping."""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import orjson

from gateway.catalogue import Deployment
from gateway.errors import (
    ConnectTimeout,
    GatewayError,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)


class UpstreamClients:
    """One pooled aiohttp session per upstream origin, with connect/read/total timeouts."""

    def __init__(self, connect_s: float, read_s: float, total_s: float, max_connections: int = 512) -> None:
        self._timeout = aiohttp.ClientTimeout(total=total_s, sock_connect=connect_s, sock_read=read_s)
        self._max_connections = max_connections
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def session(self, base_url: str) -> aiohttp.ClientSession:
        """The session for `base_url`'s origin, created on first use (inside the running loop)."""
        origin = "/".join(base_url.split("/", 3)[:3])
        session = self._sessions.get(origin)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, keepalive_timeout=30)
            session = aiohttp.ClientSession(
                connector=connector,
                # Shared by every caller: an upstream's cookies (a CDN's bot-management cookie, say)
                # must not travel from one tenant's request to the next one's, and skipping the jar
                # saves its per-request filtering.
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                read_bufsize=1 << 20,
                auto_decompress=True,
            )
            self._sessions[origin] = session
        return session

    async def close(self) -> None:
        """Close every pooled session."""
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)


def scrub(text: str, secret: str | None) -> str:
    """`text` with the upstream key replaced. Scrub before cutting text short, so no prefix of the key survives."""
    return text.replace(secret, "[redacted]") if secret else text


_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,100}")


def error_detail(error: Any, secret: str | None) -> str:
    """The message of an upstream's error object (or the error itself), scrubbed and cut."""
    message = error.get("message") if isinstance(error, Mapping) else error
    return scrub(str(message), secret)[:1000]


def _short_name(value: Any, secret: str | None) -> str | None:
    """An upstream's `param` or `code` worth passing on: a short identifier (it lands in the ledger too)."""
    return scrub(value, secret) if isinstance(value, str) and _NAME.fullmatch(value) else None


def _upstream_error(payload: bytes, secret: str | None) -> tuple[str, str | None, str | None]:
    """The upstream's error message (scrubbed, then cut), and its `param` and `code` where it gave them."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return scrub(payload.decode("utf-8", "replace"), secret)[:300].strip(), None, None
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping):
            message = scrub(str(error.get("message") or error.get("type") or ""), secret)[:1000]
            return message, _short_name(error.get("param"), secret), _short_name(error.get("code"), secret)
        return scrub(str(error), secret)[:1000], None, None
    return scrub(str(body), secret)[:300], None, None


def error_for_status(status: int, payload: bytes, headers: Mapping[str, str], deployment: Deployment,
                     secret: str | None) -> GatewayError:
    """Map an upstream HTTP error to the gateway error the client should see."""
    detail, param, code = _upstream_error(payload, secret)
    where = f"upstream {deployment.name}"
    if status == 429:
        retry_after = headers.get("retry-after")
        return RateLimited(
            f"{where} is rate limiting requests; retry later. ({detail})",
            headers={"retry-after": retry_after} if retry_after else None,
        )
    if status in (401, 403):
        key = deployment.api_key_env or "its API key"
        return UpstreamError(f"{where} rejected the gateway's credentials (HTTP {status}); check {key}.",
                             code="upstream_auth_failed")
    if status == 413:
        return PayloadTooLarge(f"{where} refused the request as too large: {detail}")
    if status in (408, 504):
        return UpstreamTimeout(f"{where} timed out (HTTP {status}).")
    if 400 <= status < 500 and status != 404:
        # The upstream's own param and code (context_length_exceeded, say) tell the client what to change.
        return InvalidRequest(f"{where} rejected the request: {detail}", param=param,
                              code=code or "upstream_invalid_request")
    return UpstreamError(f"{where} failed with HTTP {status}: {detail}")


def connection_error(exc: BaseException, deployment: Deployment) -> GatewayError:
    """Map a transport failure to a gateway error (timeouts → 504, the rest → 502)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout(f"could not connect to upstream {deployment.name} in time.")
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"upstream {deployment.name} did not answer in time.")
    return UpstreamError(f"could not reach upstream {deployment.name}: {type(exc).__name__}",
                         code="upstream_unreachable")


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: Mapping[str, str],
               deployment: Deployment, secret: str | None) -> aiohttp.ClientResponse:
    """POST JSON; returns the open response on 2xx, raises the mapped GatewayError otherwise."""
    try:
        response = await session.post(url, data=orjson.dumps(body), headers=headers)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise connection_error(exc, deployment) from None
    if response.status >= 400:
        try:
            payload = await response.read()
        except (TimeoutError, aiohttp.ClientError):
            payload = b""
        finally:
            response.release()
        raise error_for_status(response.status, payload, response.headers, deployment, secret)
    return response


async def read_json(response: aiohttp.ClientResponse, deployment: Deployment) -> dict[str, Any]:
    """Read a whole JSON response body; transport errors and bad JSON become gateway errors."""
    try:
        payload = await response.read()
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise connection_error(exc, deployment) from None
    finally:
        response.release()
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"upstream {deployment.name} returned a body that is not JSON.") from None
    if not isinstance(body, dict):
        raise UpstreamError(f"upstream {deployment.name} returned unexpected JSON.")
    return body


# A stream line or event still growing past this is refused, as aiohttp's readline refused lines past twice our
# 1 MiB read buffer: an upstream that never ends its line or its event cannot grow the gateway's memory.
MAX_SSE_LINE_BYTES = 2 << 20

# After [DONE], how long the end of the response body may take to arrive before the connection is dropped
# rather than returned to the pool.
DRAIN_AFTER_DONE_S = 2.0
_draining: set[asyncio.Task[None]] = set()


class SSEReader:
    """The (event name, data) pairs of a server-sent-event stream, as each event arrives.

    It reads whatever has arrived (one await per network read, not per line) and parses all of it at
    once; `buffered` says whether the next event is already parsed, so that iterating once more will
    not wait on the network (the relay sends what it holds before that wait, not after). A line cut
    between two reads waits for the rest.
    """

    def __init__(self, response: aiohttp.ClientResponse, deployment: Deployment,
                 whole: Callable[[], bool] = lambda: False) -> None:
        self._response = response
        self._deployment = deployment
        self._whole = whole  # whether the answer is complete: a transport failure then ends the events quietly
        self._parsed: collections.deque[tuple[str, bytes]] = collections.deque()
        self._done = False
        self._events = self._read()

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        return self._events

    @property
    def buffered(self) -> bool:
        """Whether the next event has been read already."""
        return bool(self._parsed)

    def done(self) -> None:
        """The stream said it is complete ([DONE]): once closed, the rest of the body is read in the background
        (its end is often a moment behind) so that the connection goes back to the pool instead of being dropped."""
        self._done = True

    async def aclose(self) -> None:
        """Stop reading (an unfinished stream's connection is dropped, a finished one's released)."""
        await self._events.aclose()

    def _too_big(self, what: str) -> UpstreamError:
        return UpstreamError(f"upstream {self._deployment.name} sent a stream {what} over {MAX_SSE_LINE_BYTES} bytes.")

    async def _read(self) -> AsyncIterator[tuple[str, bytes]]:
        parsed = self._parsed
        event = ""
        data: list[bytes] = []
        data_bytes = 0
        partial: list[bytes] = []  # the pieces of a line cut between reads (joined once its end arrives)
        partial_bytes = 0
        finished = False
        skip_lf = False
        content = self._response.content
        try:
            while True:
                block = await content.readany()
                if not block:  # the end: a last line without its newline still counts, as readline gave it
                    if not partial:
                        break
                    block = b"\n"
                elif skip_lf or b"\r" in block:
                    block, skip_lf = _lf_lines(block, skip_lf)
                    if not block:
                        continue
                if b"\n" in block:
                    if partial:
                        block = b"".join(partial) + block
                        partial.clear()
                        partial_bytes = 0
                    lines = block.split(b"\n")
                    rest = lines.pop()
                else:
                    lines, rest = [], block
                if rest:
                    partial.append(rest)
                    partial_bytes += len(rest)
                    if partial_bytes > MAX_SSE_LINE_BYTES:
                        raise self._too_big("line")
                for line in lines:
                    if not line:
                        if data:
                            parsed.append((event, b"\n".join(data)))
                        event, data, data_bytes = "", [], 0
                    elif line.startswith(b"data:"):
                        data.append(line[5:].lstrip(b" "))
                        data_bytes += len(line)
                        if data_bytes > MAX_SSE_LINE_BYTES:
                            raise self._too_big("event")
                    elif line.startswith(b"event:"):
                        event = line[6:].strip().decode("utf-8", "replace")
                    # other fields and ":" keep-alive comments carry nothing we need
                while parsed:
                    yield parsed.popleft()
            finished = True
            if data:
                yield event, b"\n".join(data)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if not self._whole():
                raise connection_error(exc, self._deployment) from None
            # Cut after the answer finished (only the usage or the end marker may be missing): the end.
        finally:
            parsed.clear()
            # An unfinished stream (client gone, error) must not return its connection to the pool.
            if finished:
                self._response.release()
            elif self._done and not self._response.closed:
                task = asyncio.get_running_loop().create_task(_drain(self._response))
                _draining.add(task)
                task.add_done_callback(_draining.discard)
            else:
                self._response.close()


def _lf_lines(block: bytes, skip_lf: bool) -> tuple[bytes, bool]:
    """The block with each line ending as LF: SSE lines may end in CRLF, LF or a CR alone. A CR that ends a block
    ends its line there, so an LF that starts the next block is the rest of that CRLF (`skip_lf`: left out)."""
    if skip_lf and block.startswith(b"\n"):
        block = block[1:]
    if b"\r" not in block:
        return block, False
    return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), block.endswith(b"\r")


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read (and drop) what is left of a completed stream's body, then return its connection to the pool."""
    try:
        async with asyncio.timeout(DRAIN_AFTER_DONE_S):
            while await response.content.readany():
                pass
    except (TimeoutError, aiohttp.ClientError, OSError):
        response.close()
    else:
        response.release()
