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
    PRIMARY KEY (epoch, seq)
);
CREATE TABLE IF NOT EXISTS nexus_checkpoint (
    stream     text PRIMARY KEY,
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
    detail      text
);
CREATE TABLE IF NOT EXISTS nexus_quarantine (
    id             bigserial PRIMARY KEY,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    epoch          bigint,
    seq            bigint,
    reason         text NOT NULL,
    event          text NOT NULL
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
    PRIMARY KEY (symbol, bucket)
);
CREATE TABLE IF NOT EXISTS hub_checkpoint (
    stream     text PRIMARY KEY,
    epoch      bigint NOT NULL,
    seq        bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

TABLES = {"inf": ("ticks", "nexus_checkpoint", "nexus_discontinuity", "nexus_quarantine"), "hub": ("bars_1s", "hub_checkpoint")}
