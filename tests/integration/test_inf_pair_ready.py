"""nexus's side of an INF pair (issue 30), against a real PostgreSQL on loopback: the checkpoint
only grows whoever writes it, the writer finds the host that takes writes in a host list, and a
read-only node (a demoted primary) is refused at connect, so the writer spools instead of erring."""
import psycopg2
import pytest

from mt5mesh.config import ConfigError, validate
from mt5mesh.nexus import pg, stores
from mt5mesh.nexus.schema_config import SCHEMA

from support.servers import PostgresCluster


def cfg_for(pg, host="127.0.0.1"):
    return {"pg_host": host, "pg_port": pg.port, "pg_db": "mt5_crs", "pg_user": "trader",
            "pg_password": pg.PASSWORD, "gateway": "gtw"}


def ticks(epoch, seqs):
    return [(epoch, s, "EURUSD", 1767225600.0 + s, 1.1, 1.2) for s in seqs]


def checkpoint(pg):
    with pg.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT epoch, seq FROM nexus_checkpoint WHERE gateway = 'gtw'")
        return cur.fetchone()


def test_a_lagging_writer_never_moves_the_checkpoint_back_and_a_new_epoch_moves_it_on(clean_stores):
    pg, _redis = clean_stores
    first, second = stores.TickStore(cfg_for(pg)), stores.TickStore(cfg_for(pg))  # nexus on inf1 and on inf2
    try:
        first.write(ticks(5, range(1, 101)))
        second.write(ticks(5, range(10, 21)))  # the other INF's nexus, behind
        assert checkpoint(pg) == (5, 100)
        with pg.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT seq) FROM ticks")
            assert cur.fetchone() == (100, 100)  # its rows were already there: none twice
        second.write(ticks(6, range(1, 4)))  # the gateway's new epoch
        assert checkpoint(pg) == (6, 3)
        first.write(ticks(5, [101]))
        assert checkpoint(pg) == (6, 3)
    finally:
        first.drop()
        second.drop()


def test_in_a_host_list_the_writer_takes_the_host_that_answers(clean_stores):
    pg, _redis = clean_stores
    store = stores.TickStore(cfg_for(pg, host="127.0.0.2,127.0.0.1"))  # nothing listens on 127.0.0.2
    try:
        store.write(ticks(1, [1, 2]))
        assert checkpoint(pg) == (1, 2)
    finally:
        store.drop()


def test_a_host_list_is_valid_config_and_a_bad_one_is_refused_naming_the_option():
    assert validate(SCHEMA, {"pg_host": "inf1.lab,inf2.lab"})["pg_host"] == "inf1.lab,inf2.lab"
    for bad in ("inf1.lab,,inf2.lab", "inf1.lab,", ",".join(["h"] * 9)):
        with pytest.raises(ConfigError, match="pg_host"):
            validate(SCHEMA, {"pg_host": bad})


@pytest.fixture
def read_only_cluster():
    cluster = PostgresCluster()
    cluster.psql("ALTER SYSTEM SET default_transaction_read_only = on")
    cluster.psql("SELECT pg_reload_conf()")
    yield cluster
    cluster.destroy()


def test_a_read_only_node_is_refused_at_connect_so_the_writer_treats_it_as_down(read_only_cluster):
    store = stores.TickStore(cfg_for(read_only_cluster))
    with pytest.raises(psycopg2.OperationalError, match="read-only|read-write") as refused:
        store.write(ticks(1, [1]))
    assert not pg.is_data_error(refused.value)  # down, not poison: the writer spools and retries


def test_two_hub_feeders_racing_count_each_tick_in_the_bars_once(clean_stores):
    """Both nexus instances of an INF pair build HUB's bars from the same ticks: each step holds the
    gateway's HUB lock from reading the checkpoint to committing, so racing feeders never add a
    tick twice (without it, both read the same checkpoint and both add the same ticks)."""
    import threading
    pg, redis_server = clean_stores
    cfg = dict(cfg_for(pg), hub_pg_host="127.0.0.1", hub_pg_port=pg.port, hub_pg_db="mt5_features",
               hub_pg_user="trader", hub_pg_password=pg.PASSWORD, hub_redis_url=redis_server.url(1),
               redis_url=redis_server.url(0))
    store = stores.TickStore(cfg)
    total = 6000
    store.write([(5, s, "EURUSD", 1767225600.0 + s / 100.0, 1.1, 1.2) for s in range(1, total + 1)])
    store.drop()
    feeders = [stores.HubFeeder(cfg), stores.HubFeeder(cfg)]
    start, errors = threading.Barrier(2), []

    def feed(feeder):
        try:
            start.wait(timeout=10)
            for _step in range(2 * total):  # bounded: far more steps than the ticks need
                if feeder.step(limit=100) == 0:
                    return
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=feed, args=(f,)) for f in feeders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for f in feeders:
        f.drop()
    assert not errors and not any(t.is_alive() for t in threads)
    with pg.connect("mt5_features") as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(ticks) FROM bars_1s WHERE gateway = 'gtw'")
        assert cur.fetchone()[0] == total
