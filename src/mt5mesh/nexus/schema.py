"""The one definition of the stores' schema (INF ticks, HUB feature store).

Applied by the nexus daemon at start and by the roles through ``mt5mesh-nexus --init-schema``.
"""

INF_SCHEMA = """
CREATE TABLE IF NOT EXISTS ticks (
    epoch   bigint           NOT NULL,
    seq     bigint           NOT NULL,
    symbol  text             NOT NULL,
    ts      double precision NOT NULL,
    bid     double precision NOT NULL,
    ask     double precision NOT NULL,
    gateway text             NOT NULL,
    PRIMARY KEY (gateway, epoch, seq)
);
-- Trade events (trade.<SYMBOL>): one row per event, in the same seq stream as the ticks, so
-- (gateway, epoch, seq) over ticks and orders together is one gateway's whole stream.
CREATE TABLE IF NOT EXISTS orders (
    epoch         bigint           NOT NULL,
    seq           bigint           NOT NULL,
    ts            double precision NOT NULL,
    symbol        text             NOT NULL,
    kind          text             NOT NULL,
    cmd           text,
    client_id     text,
    side          text,
    volume        double precision,
    price         double precision,
    retcode       integer,
    retcode_name  text,
    order_ticket  bigint,
    deal_ticket   bigint,
    position      bigint,
    error         text,
    gateway       text             NOT NULL,
    PRIMARY KEY (gateway, epoch, seq)
);
CREATE TABLE IF NOT EXISTS deals (
    ticket        bigint           NOT NULL,
    order_ticket  bigint           NOT NULL,
    position      bigint,
    symbol        text             NOT NULL,
    side          text,
    entry         text,
    volume        double precision NOT NULL,
    price         double precision NOT NULL,
    profit        double precision,
    time_msc      bigint,
    epoch         bigint           NOT NULL,
    seq           bigint           NOT NULL,
    gateway       text             NOT NULL,
    PRIMARY KEY (gateway, ticket)
);
CREATE TABLE IF NOT EXISTS nexus_checkpoint (
    gateway    text PRIMARY KEY,
    epoch      bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS nexus_discontinuity (
    id          bigserial PRIMARY KEY,
    detected_at timestamptz NOT NULL DEFAULT now(),
    kind        text   NOT NULL,
    epoch       bigint NOT NULL,
    from_seq    bigint,
    to_seq      bigint,
    detail      text,
    gateway     text   NOT NULL
);
CREATE TABLE IF NOT EXISTS nexus_quarantine (
    id             bigserial PRIMARY KEY,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    epoch          bigint,
    seq            bigint,
    reason         text NOT NULL,
    event          text NOT NULL,
    gateway        text NOT NULL
);
"""

HUB_SCHEMA = """
CREATE TABLE IF NOT EXISTS bars_1s (
    symbol      text             NOT NULL,
    bucket      bigint           NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    spread_sum  double precision NOT NULL,
    ticks       integer          NOT NULL,
    spread_mean double precision GENERATED ALWAYS AS (spread_sum / ticks) STORED,
    gateway     text             NOT NULL,
    PRIMARY KEY (gateway, symbol, bucket)
);
CREATE TABLE IF NOT EXISTS hub_checkpoint (
    gateway    text PRIMARY KEY,
    epoch      bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

# Every table holds rows of one gateway each (several gateways share the stores). The `gateway`
# column is last so that tables created before it (single-gateway, PRIMARY KEY without it) and
# migrated by ALTER TABLE have the same column order as new ones.
# table -> the primary key it had before several gateways (None: none changes) and has now.
GATEWAY_MIGRATION = {
    "inf": (("ticks", "(epoch, seq)", "(gateway, epoch, seq)"),
            ("orders", "(epoch, seq)", "(gateway, epoch, seq)"),
            ("deals", "(ticket)", "(gateway, ticket)"),
            ("nexus_discontinuity", None, None),
            ("nexus_quarantine", None, None)),
    "hub": (("bars_1s", "(symbol, bucket)", "(gateway, symbol, bucket)"),),
}
# The checkpoint tables were keyed by a `stream` named "gateway": the key becomes the gateway.
CHECKPOINTS = {"inf": "nexus_checkpoint", "hub": "hub_checkpoint"}
OLD_STREAM = "gateway"

TABLES = {"inf": ("ticks", "orders", "deals", "nexus_checkpoint", "nexus_discontinuity", "nexus_quarantine"), "hub": ("bars_1s", "hub_checkpoint")}
