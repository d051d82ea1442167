"""A real redis-server on a free loopback port (project/topology.py), and cache settings."""

from tests.helpers.topology import RedisServer

__all__ = ["RedisServer", "cache_settings"]


def cache_settings(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
