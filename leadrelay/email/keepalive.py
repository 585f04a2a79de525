"""Keep-alive transport for the official SendGrid client.

python_http_client (the `sendgrid` package's HTTP client) opens a new urllib connection per
request ("Connection: close"): a TCP (and TLS) handshake per email capped sending near 400/s
here. `KeepAliveClient` keeps the client and urllib for everything but the socket, which comes
from a pool of keep-alive `http.client` connections.
"""
from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
import urllib.response
from io import BytesIO
from typing import Any

import python_http_client

IDLE_CONNECTION_SECONDS = 50.0
"""A pooled connection idle this long is closed instead of reused: servers and proxies drop idle
keep-alive connections after about a minute (nginx: 75 s), and sending on one at the moment it is
being closed would cost that message a retry."""

MAX_IDLE_CONNECTIONS = 32
"""Idle connections kept per host: more than the drainer ever runs at once (`max_in_flight`)."""

# What writing to a keep-alive connection the server has closed raises (plain or TLS socket).
_DROPPED_CONNECTION_ERRORS = (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _is_dropped(sock: socket.socket) -> bool:
    """True when an idle connection's socket is readable: the server closed it (EOF) or sent
    something nobody asked for; either way it cannot carry another request."""
    if not hasattr(select, "poll"):  # Windows: select() copes with one socket there
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _set_timeout(connection: http.client.HTTPConnection, timeout: Any) -> None:
    """Apply a request's timeout to a connection that is already open (urllib's default
    sentinel means the socket module's default, as for a new connection)."""
    if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:
        timeout = socket.getdefaulttimeout()
    connection.timeout = timeout
    connection.sock.settimeout(timeout)


class ConnectionPool:
    """Idle keep-alive `http.client` connections, shared by every thread of one client: a send
    takes one (or makes one), makes one request on it and gives it back, so a pool holds at most
    as many connections as requests ever ran at once. Thread-safe."""

    def __init__(self, max_idle: int = MAX_IDLE_CONNECTIONS, idle_seconds: float = IDLE_CONNECTION_SECONDS):
        self.max_idle = max_idle
        self.idle_seconds = idle_seconds
        self._idle: dict[tuple, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self._opener: urllib.request.OpenerDirector | None = None

    def opener(self) -> urllib.request.OpenerDirector:
        """urllib's default opener (proxies from the environment, redirects, HTTPError for
        non-2xx) with HTTP(S) handlers that use this pool; made once, as building one per request
        cost 0.2 ms of CPU, a tenth of a send."""
        if self._opener is None:
            with self._lock:
                if self._opener is None:
                    self._opener = urllib.request.build_opener(_PooledHTTPHandler(self), _PooledHTTPSHandler(self))
        return self._opener

    def __reduce__(self):
        # a pickled client (python_http_client supports it) gets an empty pool, not sockets
        return type(self), (self.max_idle, self.idle_seconds)

    def take(self, key: tuple) -> http.client.HTTPConnection | None:
        """The most recently used idle connection for `key` that can still carry a request, or
        None. Connections the server closed or that sat idle too long are closed on the way."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection, since = idle.pop()
            if (connection.sock is not None and time.monotonic() - since < self.idle_seconds
                    and not _is_dropped(connection.sock)):
                return connection
            connection.close()

    def give(self, key: tuple, connection: http.client.HTTPConnection) -> None:
        """Keep `connection` for the next request to `key`; closed instead when the pool is full."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append((connection, time.monotonic()))
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection. A request under way keeps its connection and gives it
        back when done; the pool stays usable (the next request opens a new connection)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()


class _PooledOpen:
    """urllib's `AbstractHTTPHandler.do_open` over pooled connections: the same request headers
    (without `Connection: close`), proxy tunnel, timeout and exceptions, and a response urllib's
    error processing turns into `HTTPError` for anything but 2xx, as before."""

    def __init__(self, pool: ConnectionPool, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def do_open(self, http_class, req, **http_conn_args):
        if not req.host:
            raise urllib.error.URLError("no host given")
        headers = dict(req.unredirected_hdrs)
        headers.update({k: v for k, v in req.headers.items() if k not in headers})
        headers = {name.title(): value for name, value in headers.items()}
        tunnel_headers = {}
        if req._tunnel_host and "Proxy-Authorization" in headers:
            tunnel_headers["Proxy-Authorization"] = headers.pop("Proxy-Authorization")  # for the proxy only
        key = (http_class, req.host, req._tunnel_host, tuple(tunnel_headers.items()))

        def new_connection() -> http.client.HTTPConnection:
            connection = http_class(req.host, timeout=req.timeout, **http_conn_args)
            connection.set_debuglevel(self._debuglevel)
            if req._tunnel_host:
                connection.set_tunnel(req._tunnel_host, headers=tunnel_headers)
            return connection

        def send(connection: http.client.HTTPConnection) -> None:
            connection.request(req.get_method(), req.selector, req.data, headers,
                               encode_chunked=req.has_header("Transfer-encoding"))

        connection = self.pool.take(key)
        reused = connection is not None
        if reused:
            _set_timeout(connection, req.timeout)
        else:
            connection = new_connection()
        try:
            try:
                send(connection)
            except _DROPPED_CONNECTION_ERRORS as err:
                if not reused:
                    raise urllib.error.URLError(err)
                # The server closed this idle connection as we wrote (a race _is_dropped cannot
                # see). The request went out in one sendall that failed, so the server never had
                # all of it: sending it once more on a new connection cannot deliver it twice.
                connection.close()
                connection = new_connection()
                try:
                    send(connection)
                except OSError as err:
                    raise urllib.error.URLError(err)
            except OSError as err:  # refused, DNS, connect timeout: as urllib reports them
                raise urllib.error.URLError(err)
            # From here the server may have acted on the request: a failure is raised, never resent.
            response = connection.getresponse()
            body = response.read()  # all of it, so the connection is free for the next request
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self.pool.give(key, connection)
        answer = urllib.response.addinfourl(BytesIO(body), response.headers, req.get_full_url(), response.status)
        answer.msg = response.reason  # urllib's error processing reads the reason from .msg
        return answer


class _PooledHTTPHandler(_PooledOpen, urllib.request.HTTPHandler):
    pass


class _PooledHTTPSHandler(_PooledOpen, urllib.request.HTTPSHandler):
    pass


class KeepAliveClient(python_http_client.Client):
    """The official client (`python_http_client.Client`: URL building, headers, its
    `_make_request` with timeout and `HTTPError` translation) sending over pooled keep-alive
    connections. The children a call chain makes (`client.mail.send`) share the parent's pool.
    As safe to use from several threads as the parent; `close()` closes the idle connections."""

    def __init__(self, *args: Any, pool: ConnectionPool | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # "_pool", set before any other use: Client.__getattr__ turns a missing name into a URL segment
        self._pool = pool if pool is not None else ConnectionPool()

    def _build_client(self, name=None):
        url_path = self._url_path + [name] if name else self._url_path
        return type(self)(host=self.host, version=self._version, request_headers=self.request_headers,
                          url_path=url_path, append_slash=self.append_slash, timeout=self.timeout,
                          pool=self._pool)

    def _make_request(self, opener, request, timeout=None):
        # The parent's, with the pool's opener in place of the per-request one the parent built
        # (so proxy variables are read when the first request is made, not at every request).
        return super()._make_request(self._pool.opener(), request, timeout=timeout)

    def close(self) -> None:
        self._pool.close()
