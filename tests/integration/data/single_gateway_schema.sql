-- The INF and HUB schema as released before several gateways (git 7c3d2f7), kept to test the
-- in-place migration. INF part:

CREATE TABLE IF NOT EXISTS ticks (
    epoch   bigint           NOT NULL,
    seq     bigint           NOT NULL,
    symbol  text             NOT NULL,
    ts      double precision NOT NULL,
    bid     double precision NOT NULL,
    ask     double precision NOT NULL,
    PRIMARY KEY (epoch, seq)
);
-- Trade events (trade.<SYMBOL>): one row per event, in the same seq stream as the ticks, so
-- (epoch, seq) over ticks and orders together is the gateway's whole stream.
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
    PRIMARY KEY (epoch, seq)
);
CREATE TABLE IF NOT EXISTS deals (
    ticket        bigint PRIMARY KEY,
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
    seq           bigint           NOT NULL
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

-- HUB part (split at this line by the test):
-- HUB

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
