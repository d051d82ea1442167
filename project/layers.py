"""Channel-layer configuration, shared by settings and tests."""

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def channel_layer_config(
    redis_url: str, *, kind: str = "redis", max_connections: int = 500, **config
) -> dict:
    """``kind``: memory | redis (channels-redis's core layer with one reader per process:
    ``mpesa_plumbing.layers.OneReaderRedisChannelLayer``) | redis-pubsub (RedisPubSubChannelLayer).

    redis-py 8 defaults ``socket_timeout`` to 5 s, which kills idle channels-redis receivers
    (the layer blocks longer than that); ``max_connections`` bounds the pool for connect
    bursts (performance-notes.md, known problems 1-2). After a Redis restart every pooled
    connection is dead; without a retry (redis-py's pool default is none) the first command on
    each one fails, refusing sockets that could have been served: retry once on a new socket.
    """
    if kind == "memory":
        return {"default": {"BACKEND": "mpesa_plumbing.layers.LocalChannelLayer"}}  # in-memory, O(1) sweeps
    backend = {
        "redis": "mpesa_plumbing.layers.OneReaderRedisChannelLayer",
        "redis-pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    }[kind]
    host = {
        "address": redis_url,
        "socket_timeout": None,
        "max_connections": max_connections,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        "retry_on_error": [RedisConnectionError],
    }
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": [host], **config}}}
