#!/usr/bin/python3
"""The original Python service's Redis helpers, unchanged for callers, on redis-py pointed at
`connpool proxy` (docs/proxy.md).

Every worker process keeps a small redis-py pool to the *local* proxy; the proxy carries all of
their commands over connpool's few, auto-pipelined, health-checked connections to the real server.
So the only change from the original module is the URL:

    connpool proxy --listen 127.0.0.1:6380 --url redis://redis.internal:6379/0?max_size=20
    CONNPOOL_PROXY_URL=redis://127.0.0.1:6380 python3 redis_pool.py

Requires redis-py >= 4.2 (Debian: python3-redis).
"""
import asyncio
import os

import redis.asyncio as redis

_pool = None


async def get_redis_pool() -> redis.Redis:
    """The process-wide client (created on first use), as in the original app.utils.redis_pool."""
    global _pool
    if _pool is None:
        _pool = redis.Redis.from_url(os.environ.get("CONNPOOL_PROXY_URL", "redis://127.0.0.1:6380"),
                                     decode_responses=True)
    return _pool


async def redis_set(key: str, value: str, ex: int | None = None) -> bool:
    return bool(await (await get_redis_pool()).set(key, value, ex=ex))


async def redis_get(key: str) -> str | None:
    return await (await get_redis_pool()).get(key)


async def main() -> None:
    await redis_set("key", "value", ex=3600)
    value = await redis_get("key")
    print(f"redis_get('key') -> {value!r}")
    # Pipelines and transactions work as before; MULTI/EXEC pins to one server connection.
    pool = await get_redis_pool()
    async with pool.pipeline(transaction=True) as pipe:
        pipe.set("key1", "value1")
        pipe.set("key2", "value2")
        print("pipeline ->", await pipe.execute())
    await pool.aclose() if hasattr(pool, "aclose") else await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
