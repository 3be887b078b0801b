"""The peer for scripts/bench: PgQueuer (PyPI `pgqueuer`, 1.6.x) draining the same jobs into the
same no-op endpoint, as its documentation sets up a consumer: one QueueManager on asyncpg,
batches of 50, at most 100 tasks, each POSTing its payload through one aiohttp session of 16
connections.

    bench_pgqueuer.py enqueue DATABASE_URL COUNT      installs PgQueuer's schema if missing, empties
                                                      its queue and enqueues COUNT jobs
    bench_pgqueuer.py drain DATABASE_URL URL COUNT    drains them; prints {"seconds": ..., "completed": ...}
    bench_pgqueuer.py listen DATABASE_URL URL TOKEN   continuous mode (LISTEN/NOTIFY), until SIGTERM: each
                                                      job's payload POSTed to URL with the bearer TOKEN
    bench_pgqueuer.py insert DATABASE_URL SYSTEM RATE COUNT
                                                      the latency scenario's producer: COUNT jobs at RATE
                                                      per second, into job_queue (SYSTEM process-jobs) or
                                                      PgQueuer's queue (SYSTEM pgqueuer); each payload
                                                      carries insertedAt, the Unix time just before its
                                                      INSERT was sent (both systems timed from the same point)
    bench_pgqueuer.py insert DATABASE_URL commit RATE COUNT
                                                      the latency scenario's floor: the same INSERTs into
                                                      job_queue with no consumer; prints each one's time
                                                      from insertedAt to its commit returning, in ms (a JSON
                                                      list): no consumer can start a job sooner

The drain is timed inside the process, from the consumer's start to its drain-mode exit:
Python's start-up and imports are left out, in the peer's favour.
"""
import asyncio
import json
import signal
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


async def listen(database_url, url, token):
    connection = await asyncpg.connect(database_url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        @manager.entrypoint(ENTRYPOINT)
        async def post(job: Job) -> None:
            async with session.post(url, data=job.payload, headers=headers) as response:
                await response.read()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, manager.shutdown.set)
        await manager.run(batch_size=10, max_concurrent_tasks=100, mode=QueueExecutionMode.continuous)
    await connection.close()


async def insert(database_url, system, rate, count, connections=16):
    """Sends INSERT n at start + n/rate, on one of `connections` connections (a commit waits for
    the disk: one connection alone could not keep 1,000 a second)."""
    free = asyncio.Queue()
    for _ in range(connections):
        connection = await asyncpg.connect(database_url)
        await free.put((connection, Queries(AsyncpgDriver(connection))))
    committed = []

    async def one(n):
        connection, queries = await free.get()
        try:
            body = {"projectId": f"latency-{n}", "imageType": "main", "insertedAt": time.time()}
            if system == "pgqueuer":
                await queries.enqueue([ENTRYPOINT], [json.dumps(body).encode()], [0])
            else:
                await connection.execute("INSERT INTO job_queue (job_type, payload, user_id) VALUES ($1, $2::jsonb, $3)",
                                          ENTRYPOINT, json.dumps(body), f"user-{n % 97}")
        finally:
            free.put_nowait((connection, queries))
        committed.append((time.time() - body["insertedAt"]) * 1000)

    tasks = []
    started = time.perf_counter()
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    while not free.empty():
        connection, _ = free.get_nowait()
        await connection.close()
    if system == "commit":
        print(json.dumps(committed))


def main():
    if sys.argv[1] == "enqueue":
        asyncio.run(enqueue(sys.argv[2], int(sys.argv[3])))
    elif sys.argv[1] == "listen":
        asyncio.run(listen(sys.argv[2], sys.argv[3], sys.argv[4]))
    elif sys.argv[1] == "insert":
        asyncio.run(insert(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])))
    else:
        asyncio.run(drain(sys.argv[2], sys.argv[3], int(sys.argv[4])))


if __name__ == "__main__":
    main()
