import pytest

from support.servers import PostgresCluster, RedisServer, Service


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg():
    cluster = PostgresCluster()
    yield cluster
    cluster.destroy()


@pytest.fixture
def clean_stores(pg, redis_server):
    """Each test starts with empty tables and Redis."""
    import redis
    for db in ("mt5_crs", "mt5_features"):
        pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION trader;", db=db)
    for n in (0, 1):
        redis.Redis.from_url(redis_server.url(n)).flushdb()
    return pg, redis_server


@pytest.fixture
def stack(clean_stores, tmp_path):
    """Start project services (mt5mesh-gateway, mt5mesh-nexus) on clean stores; all stopped after."""
    pg, redis_server = clean_stores
    started = []

    def start(name, args):
        svc = Service(name, args, str(tmp_path))
        started.append(svc)
        return svc

    yield pg, redis_server, start, tmp_path
    for svc in started:
        svc.stop()
