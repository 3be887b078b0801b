"""The peer for scripts/bench: PgQueuer (PyPI `pgqueuer`, 1.6.x) draining the same jobs into the
same no-op endpoint, as its documentation sets up a consumer: one QueueManager on asyncpg,
batches of 50, at most 100 tasks, each POSTing its payload through one aiohttp session of 16
connections.

    bench_pgqueuer.py enqueue DATABASE_URL COUNT      installs PgQueuer's schema if missing, empties
                                                      its queue and enqueues COUNT jobs
    bench_pgqueuer.py drain DATABASE_URL URL COUNT    drains them; prints {"seconds": ..., "completed": ...}

The drain is timed inside the process, from the consumer's start to its drain-mode exit:
Python's start-up and imports are left out, in the peer's favour.
"""
import asyncio
import json
import sys
import time

import aiohttp
import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode

ENTRYPOINT = "generate-image"


def payload(n):
    # The same ~100-byte body process-jobs sends: the job's payload with its user.
    return json.dumps({"projectId": f"project-{n}", "imageType": "main", "style": "modern", "generateImages": True,
                       "note": "benchmark job", "userId": f"user-{n % 97}"}, separators=(",", ":")).encode()


async def enqueue(database_url, count):
    connection = await asyncpg.connect(database_url)
    try:
        queries = Queries(AsyncpgDriver(connection))
        if not await queries.schema_is_installed():
            await queries.install()
        await queries.clear_queue()
        for start in range(0, count, 5000):
            size = min(5000, count - start)
            await queries.enqueue([ENTRYPOINT] * size, [payload(start + i) for i in range(size)], [0] * size)
    finally:
        await connection.close()


async def drain(database_url, url, count):
    connection = await asyncpg.connect(database_url)
    completed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        @manager.entrypoint(ENTRYPOINT)
        async def post(job: Job) -> None:
            nonlocal completed
            async with session.post(url, data=job.payload, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
            completed += 1

        started = time.perf_counter()
        await manager.run(batch_size=50, max_concurrent_tasks=100, mode=QueueExecutionMode.drain)
        seconds = time.perf_counter() - started
    await connection.close()
    print(json.dumps({"seconds": seconds, "completed": completed, "expected": count}))


def main():
    if sys.argv[1] == "enqueue":
        asyncio.run(enqueue(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(drain(sys.argv[2], sys.argv[3], int(sys.argv[4])))


if __name__ == "__main__":
    main()
