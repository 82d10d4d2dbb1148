"""The two client transports under :class:`rasad.core.engine.client.Engine`: opensearch-py and
elasticsearch-py, each built from settings, sending one request and turning the client's own
exceptions into the adapter's named errors (:mod:`rasad.core.engine.errors`).
"""

from __future__ import annotations

from typing import Any, Protocol

from rasad.core.engine.errors import EngineUnavailable, error_from_status
from rasad.core.settings import Settings


class Transport(Protocol):
    """How one client sends one request and reports its failures as the named errors."""

    async def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        ndjson: bool,
    ) -> Any: ...

    async def close(self) -> None: ...


class OpenSearchTransport:
    """opensearch-py's AsyncOpenSearch; its transport takes bytes and returns parsed JSON."""

    def __init__(self, settings: Settings) -> None:
        from opensearchpy import AsyncOpenSearch

        kwargs: dict[str, Any] = _common_tls(settings)
        if settings.engine_username:
            kwargs["http_auth"] = (settings.engine_username, _secret(settings.engine_password))
        if settings.engine_api_key:
            kwargs["headers"] = {"authorization": f"ApiKey {_secret(settings.engine_api_key)}"}
        self._timeout = settings.engine_timeout_s
        # Retries are ours (the sink backs off, a CLI fails fast), never hidden in the client;
        # only a node that cannot be reached hands the request on to the next (_failover).
        self._client = AsyncOpenSearch(
            hosts=settings.engine_urls,
            timeout=settings.engine_timeout_s,
            maxsize=settings.engine_pool_size,
            **_failover(settings),
            **kwargs,
        )

    async def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        ndjson: bool,
    ) -> Any:
        from opensearchpy import exceptions as os_errors

        headers = {"content-type": "application/x-ndjson" if ndjson else "application/json"}
        try:
            # An explicit timeout, or the client would take the engine's own ``timeout``
            # parameter (e.g. of _cluster/health) as the HTTP timeout.
            return await self._client.transport.perform_request(
                method, path, params=params, body=body, headers=headers, timeout=self._timeout
            )
        except os_errors.ConnectionError as exc:  # includes ConnectionTimeout
            raise EngineUnavailable(f"cannot reach the engine: {exc.error or exc}") from exc
        except os_errors.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 500
            raise error_from_status(status, exc.info) from exc

    async def close(self) -> None:
        # The client closes the connections of the nodes it holds alive; one it marked dead
        # would keep its HTTP session open, so every node's is closed (twice is harmless).
        every = getattr(self._client.transport.connection_pool, "orig_connections", ())
        await self._client.close()
        for connection in every:
            await connection.close()


class ElasticTransport:
    """elasticsearch-py's AsyncElasticsearch (9.x client), speaking the server's major version.

    The 9.x client asks for ``compatible-with=9`` media types, which 8.x servers refuse with
    ``media_type_header_exception``; we send ``compatible-with=<server major>`` instead, which
    8.x and 9.x servers both accept.
    """

    def __init__(self, settings: Settings, server_major: int) -> None:
        from elasticsearch import AsyncElasticsearch

        kwargs: dict[str, Any] = _common_tls(settings)
        if settings.engine_api_key:
            kwargs["api_key"] = _secret(settings.engine_api_key)
        elif settings.engine_username:
            kwargs["basic_auth"] = (settings.engine_username, _secret(settings.engine_password))
        self._client = AsyncElasticsearch(
            hosts=settings.engine_urls,
            request_timeout=settings.engine_timeout_s,
            connections_per_node=settings.engine_pool_size,
            **_failover(settings),
            **kwargs,
        )
        compat = f"compatible-with={server_major}"
        self._json = {
            "accept": f"application/vnd.elasticsearch+json; {compat}",
            "content-type": f"application/vnd.elasticsearch+json; {compat}",
        }
        self._ndjson = {
            **self._json,
            "content-type": f"application/vnd.elasticsearch+x-ndjson; {compat}",
        }

    async def send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: bytes | None,
        ndjson: bool,
    ) -> Any:
        import elastic_transport
        from elasticsearch import ApiError

        try:
            response = await self._client.perform_request(
                method,
                path,
                params=params,
                body=body,
                headers=self._ndjson if ndjson else self._json,
            )
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as exc:
            raise EngineUnavailable(f"cannot reach the engine: {exc}") from exc
        except ApiError as exc:
            raise error_from_status(exc.meta.status, exc.body) from exc
        return response.body

    async def close(self) -> None:
        await self._client.close()


def _secret(value: Any) -> str:
    return "" if value is None else str(value.get_secret_value())


def _failover(settings: Settings) -> dict[str, Any]:
    """A request that cannot reach its node goes to each other node once (the client marks the
    dead one and picks the next live one); an answer, even an error status, or a timeout (the
    node may have done the work) is the caller's to handle."""
    return {
        "max_retries": len(settings.engine_urls) - 1,
        "retry_on_status": (),
        "retry_on_timeout": False,
    }


def _common_tls(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"verify_certs": settings.engine_verify_certs}
    if settings.engine_ca_certs:
        kwargs["ca_certs"] = str(settings.engine_ca_certs)
    if not settings.engine_verify_certs:
        kwargs["ssl_show_warn"] = False
    return kwargs
