"""nexus's connections to PostgreSQL (INF and HUB), how they are named in logs, and which of
PostgreSQL's errors blame the rows rather than the server."""
import psycopg2

# SQLSTATE classes that blame the data, not the server: 22 data exception, 23 integrity.
DATA_ERROR_CLASSES = ("22", "23")


def is_data_error(e):
    """True when PostgreSQL refused the rows themselves (a poison event), not when it is down."""
    return (getattr(e, "pgcode", None) or "")[:2] in DATA_ERROR_CLASSES


def pg_connect(cfg, prefix):
    """Connect with the password passed as a separate argument so it never sits in a logged DSN."""
    # host may list several hosts (an HA pair: "inf1,inf2"); libpq tries them in order and keeps
    # the one that takes writes, so a failover needs no VIP. With one host it refuses a standby.
    return psycopg2.connect(host=cfg[prefix + "host"], port=int(cfg[prefix + "port"]), dbname=cfg[prefix + "db"],
                            user=cfg[prefix + "user"], password=cfg[prefix + "password"] or None,
                            connect_timeout=3, application_name="mt5mesh-nexus", target_session_attrs="read-write",
                            # A silently dead link (no RST) must fail within seconds, not TCP's minutes.
                            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                            options="-c statement_timeout=15000")


def pg_where(cfg, prefix):
    return "postgresql %s@%s:%s/%s" % (cfg[prefix + "user"], cfg[prefix + "host"], cfg[prefix + "port"], cfg[prefix + "db"])
