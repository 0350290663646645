"""Versioned schema migrations, applied in order when the warehouse opens.

A migration is never edited once released: add a new one. Types are chosen so that the
Parquet snapshots Spark reads carry the same columns (timestamps are UTC without zone,
JSON is text, money is integer fen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


#: The packed rows of ``identity_link_packs``, one per link (``b_node`` NULL: a node row).
PACKED_ROWS: Final = """
    SELECT seq, unnest(sub) AS sub, unnest(a_node) AS a_node, unnest(b_node) AS b_node,
           origin, ref, seen_at
    FROM identity_link_packs
"""
#: The same over migration 10's packs (one per apply), until migration 12 replaces them.
_PACKED_ROWS_10: Final = """
    SELECT unnest(seq) AS seq, unnest(sub) AS sub, unnest(a_node) AS a_node,
           unnest(b_node) AS b_node, unnest(origin) AS origin, unnest(ref) AS ref,
           unnest(seen_at) AS seen_at, min_seq, max_seq
    FROM identity_link_packs
"""
#: The whole log: plain rows, and packed rows named through ``identities``.
_IDENTITY_LINKS_VIEW: Final = """
    CREATE VIEW identity_links AS
    SELECT seq, sub, kind, a_type, a_value, b_type, b_value, origin, ref, seen_at
    FROM identity_link_rows
    UNION ALL
    SELECT p.seq, p.sub, CASE WHEN p.b_node IS NULL THEN 'node' ELSE 'link' END,
           ia.identity_type, ia.identity_value, ib.identity_type, ib.identity_value,
           p.origin, p.ref, p.seen_at
    FROM identity_link_packed p
    JOIN identities ia ON ia.node_order = p.a_node
    LEFT JOIN identities ib ON ib.node_order = p.b_node
"""

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "spine: sources, events, quarantine, orders, items, channels, imports",
        (
            """
            CREATE TABLE sources (
                source_id   VARCHAR PRIMARY KEY,
                name        VARCHAR NOT NULL,
                write_key   VARCHAR NOT NULL UNIQUE,
                carrier     VARCHAR NOT NULL,
                app_id      VARCHAR,
                project     VARCHAR,
                created_at  TIMESTAMP NOT NULL,
                disabled    BOOLEAN NOT NULL DEFAULT false
            )
            """,
            """
            CREATE TABLE events (
                seq             BIGINT NOT NULL,
                event_id        VARCHAR PRIMARY KEY,
                type            VARCHAR NOT NULL,
                event           VARCHAR NOT NULL,
                event_time      TIMESTAMP NOT NULL,
                client_time     TIMESTAMP,
                sent_at         TIMESTAMP,
                received_at     TIMESTAMP NOT NULL,
                user_id         VARCHAR,
                anonymous_id    VARCHAR,
                previous_id     VARCHAR,
                identities      MAP(VARCHAR, VARCHAR),
                source_id       VARCHAR NOT NULL,
                protocol        VARCHAR NOT NULL,
                carrier         VARCHAR NOT NULL,
                app_id          VARCHAR,
                library         VARCHAR,
                library_version VARCHAR,
                method          VARCHAR NOT NULL,
                properties      VARCHAR NOT NULL,
                context         VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE quarantine (
                quarantine_id  VARCHAR PRIMARY KEY,
                received_at    TIMESTAMP NOT NULL,
                source_id      VARCHAR,
                protocol       VARCHAR NOT NULL,
                reason         VARCHAR NOT NULL,
                record_index   INTEGER,
                payload        VARCHAR NOT NULL,
                payload_bytes  BIGINT NOT NULL,
                truncated      BOOLEAN NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                order_id     VARCHAR PRIMARY KEY,
                member_id    VARCHAR,
                user_id      VARCHAR,
                identities   MAP(VARCHAR, VARCHAR),
                paid_at      TIMESTAMP NOT NULL,
                amount_fen   BIGINT NOT NULL,
                refund_fen   BIGINT NOT NULL DEFAULT 0,
                status       VARCHAR NOT NULL,
                items        VARCHAR NOT NULL,
                coupon_code  VARCHAR,
                channel      VARCHAR,
                carrier      VARCHAR,
                properties   VARCHAR NOT NULL,
                source_id    VARCHAR NOT NULL,
                import_id    VARCHAR,
                loaded_at    TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE items (
                item_type   VARCHAR NOT NULL,
                item_id     VARCHAR NOT NULL,
                properties  VARCHAR NOT NULL,
                deleted     BOOLEAN NOT NULL DEFAULT false,
                updated_at  TIMESTAMP NOT NULL,
                PRIMARY KEY (item_type, item_id)
            )
            """,
            """
            CREATE TABLE channels (
                code        VARCHAR PRIMARY KEY,
                name        VARCHAR NOT NULL,
                kind        VARCHAR NOT NULL,
                campaign    VARCHAR,
                carrier     VARCHAR,
                cost_fen    BIGINT NOT NULL DEFAULT 0,
                created_at  TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE imports (
                import_id      VARCHAR PRIMARY KEY,
                kind           VARCHAR NOT NULL,
                path           VARCHAR NOT NULL,
                file_sha256    VARCHAR NOT NULL,
                format         VARCHAR NOT NULL,
                started_at     TIMESTAMP NOT NULL,
                finished_at    TIMESTAMP,
                rows_total     BIGINT NOT NULL DEFAULT 0,
                rows_accepted  BIGINT NOT NULL DEFAULT 0,
                rows_duplicate BIGINT NOT NULL DEFAULT 0,
                rows_rejected  BIGINT NOT NULL DEFAULT 0,
                status         VARCHAR NOT NULL,
                error          VARCHAR
            )
            """,
        ),
    ),
    Migration(
        2,
        "sources: WeChat official-account callback token and EncodingAESKey",
        (
            "ALTER TABLE sources ADD COLUMN wechat_token VARCHAR",
            "ALTER TABLE sources ADD COLUMN wechat_aes_key VARCHAR",
        ),
    ),
    Migration(
        3,
        "events: dedup on a 128-bit hash of event_id under a droppable unique index",
        (
            # A VARCHAR primary key made every append ~5x slower than the append itself,
            # and a constraint cannot be dropped for bulk loads; a unique index on a
            # fixed-width hash can (see Warehouse.event_loader).
            """
            CREATE TABLE events_v3 (
                seq             BIGINT NOT NULL,
                event_id        VARCHAR NOT NULL,
                type            VARCHAR NOT NULL,
                event           VARCHAR NOT NULL,
                event_time      TIMESTAMP NOT NULL,
                client_time     TIMESTAMP,
                sent_at         TIMESTAMP,
                received_at     TIMESTAMP NOT NULL,
                user_id         VARCHAR,
                anonymous_id    VARCHAR,
                previous_id     VARCHAR,
                identities      MAP(VARCHAR, VARCHAR),
                source_id       VARCHAR NOT NULL,
                protocol        VARCHAR NOT NULL,
                carrier         VARCHAR NOT NULL,
                app_id          VARCHAR,
                library         VARCHAR,
                library_version VARCHAR,
                method          VARCHAR NOT NULL,
                properties      VARCHAR NOT NULL,
                context         VARCHAR NOT NULL,
                event_key       UHUGEINT NOT NULL
            )
            """,
            "INSERT INTO events_v3 SELECT *, md5_number(event_id) FROM events",
            "DROP TABLE events",
            "ALTER TABLE events_v3 RENAME TO events",
            "CREATE UNIQUE INDEX events_event_key ON events (event_key)",
        ),
    ),
    Migration(
        4,
        "identity graph: links, identities, overrides, conflicts, state; orders.seq",
        (
            # Orders carry identity links too; they replay in the same order as events.
            "ALTER TABLE orders ADD COLUMN seq BIGINT",
            """
            UPDATE orders SET seq = o.seq FROM (
                SELECT order_id,
                       (SELECT coalesce(max(seq), 0) FROM events)
                       + row_number() OVER (ORDER BY loaded_at, order_id) AS seq
                FROM orders) AS o
            WHERE orders.order_id = o.order_id
            """,
            # One row per identity fact, in replay order (seq, sub). kind: node (the
            # actor of an event or order, sub 0), link, unbind, force, keep_apart.
            """
            CREATE TABLE identity_links (
                seq      BIGINT NOT NULL,
                sub      INTEGER NOT NULL,
                kind     VARCHAR NOT NULL,
                a_type   VARCHAR NOT NULL,
                a_value  VARCHAR NOT NULL,
                b_type   VARCHAR,
                b_value  VARCHAR,
                origin   VARCHAR NOT NULL,
                ref      VARCHAR,
                seen_at  TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE identities (
                identity_type  VARCHAR NOT NULL,
                identity_value VARCHAR NOT NULL,
                person_id      VARCHAR NOT NULL,
                region_id      VARCHAR NOT NULL,
                node_order     BIGINT NOT NULL,
                first_seen     TIMESTAMP NOT NULL,
                junk           BOOLEAN NOT NULL DEFAULT false
            )
            """,
            """
            CREATE TABLE person_overrides (
                old_person_id VARCHAR NOT NULL,
                person_id     VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE identity_conflicts (
                seq         BIGINT NOT NULL,
                sub         INTEGER NOT NULL,
                a_type      VARCHAR NOT NULL,
                a_value     VARCHAR NOT NULL,
                b_type      VARCHAR NOT NULL,
                b_value     VARCHAR NOT NULL,
                a_person_id VARCHAR NOT NULL,
                b_person_id VARCHAR NOT NULL,
                rule        VARCHAR NOT NULL,
                origin      VARCHAR NOT NULL,
                ref         VARCHAR,
                seen_at     TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE identity_state (
                key   VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )
            """,
            """
            CREATE TABLE privacy_audit (
                audit_id   VARCHAR PRIMARY KEY,
                action     VARCHAR NOT NULL,
                done_at    TIMESTAMP NOT NULL,
                actor      VARCHAR NOT NULL,
                persons    INTEGER NOT NULL,
                identities INTEGER NOT NULL,
                events     BIGINT NOT NULL,
                orders     BIGINT NOT NULL,
                detail     VARCHAR NOT NULL
            )
            """,
        ),
    ),
    Migration(
        5,
        "identity: views of the events and orders the graph has not resolved yet",
        (
            # Fixed views let the resolver compile its Ibis expression once.
            """
            CREATE VIEW identity_pending_events AS
            SELECT * FROM events WHERE seq > (
                SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM identity_state
                WHERE key = 'watermark')
            """,
            """
            CREATE VIEW identity_pending_orders AS
            SELECT * FROM orders WHERE seq > (
                SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM identity_state
                WHERE key = 'watermark')
            """,
        ),
    ),
    Migration(
        6,
        "segments: definitions, memberships and their history, sizes, change events, manual tags",
        (
            # definition is JSON text; origin is 'db' or 'file:<path>' (definitions kept
            # in files are mirrored here so every set has one row).
            """
            CREATE TABLE segment_definitions (
                key         VARCHAR PRIMARY KEY,
                kind        VARCHAR NOT NULL,
                name        VARCHAR NOT NULL,
                description VARCHAR NOT NULL DEFAULT '',
                definition  VARCHAR NOT NULL,
                origin      VARCHAR NOT NULL,
                created_at  TIMESTAMP NOT NULL,
                updated_at  TIMESTAMP NOT NULL,
                created_by  VARCHAR NOT NULL,
                archived    BOOLEAN NOT NULL DEFAULT false
            )
            """,
            # One row per stay of a person in a set; open stays have exited_at NULL. No
            # index: a diff is a few hash joins over the open rows, and an index would
            # slow every bulk insert and update of them.
            """
            CREATE TABLE memberships (
                set_key    VARCHAR NOT NULL,
                person_id  VARCHAR NOT NULL,
                entered_at TIMESTAMP NOT NULL,
                exited_at  TIMESTAMP,
                weight     DOUBLE
            )
            """,
            """
            CREATE TABLE set_sizes (
                set_key     VARCHAR NOT NULL,
                computed_at TIMESTAMP NOT NULL,
                size        BIGINT NOT NULL,
                entered     BIGINT NOT NULL,
                exited      BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE segment_events (
                seq       BIGINT NOT NULL,
                event     VARCHAR NOT NULL,
                set_key   VARCHAR NOT NULL,
                person_id VARCHAR NOT NULL,
                "at"      TIMESTAMP NOT NULL
            )
            """,
            """
            CREATE TABLE manual_tags (
                tag        VARCHAR NOT NULL,
                person_id  VARCHAR NOT NULL,
                added_at   TIMESTAMP NOT NULL,
                added_by   VARCHAR NOT NULL,
                source     VARCHAR NOT NULL,
                removed_at TIMESTAMP
            )
            """,
            """
            CREATE TABLE compute_runs (
                run_id      VARCHAR PRIMARY KEY,
                started_at  TIMESTAMP NOT NULL,
                finished_at TIMESTAMP,
                as_of       DATE,
                status      VARCHAR NOT NULL,
                detail      VARCHAR NOT NULL DEFAULT '{}'
            )
            """,
        ),
    ),
    Migration(
        7,
        "analytics: experiments, marketing costs, CLV fits and per-person scores",
        (
            # definition is JSON text (variants and weights, metrics, exposure event).
            """
            CREATE TABLE experiments (
                key         VARCHAR PRIMARY KEY,
                name        VARCHAR NOT NULL,
                description VARCHAR NOT NULL DEFAULT '',
                definition  VARCHAR NOT NULL,
                status      VARCHAR NOT NULL,
                created_at  TIMESTAMP NOT NULL,
                created_by  VARCHAR NOT NULL,
                started_at  TIMESTAMP,
                stopped_at  TIMESTAMP
            )
            """,
            # What the operator spent on a channel code or a campaign over local days
            # [day_from, day_to]; attribution turns it into CAC and ROI.
            """
            CREATE TABLE marketing_costs (
                cost_id    VARCHAR PRIMARY KEY,
                dimension  VARCHAR NOT NULL,
                key        VARCHAR NOT NULL,
                day_from   DATE NOT NULL,
                day_to     DATE NOT NULL,
                cost_fen   BIGINT NOT NULL,
                note       VARCHAR NOT NULL DEFAULT '',
                entered_at TIMESTAMP NOT NULL,
                entered_by VARCHAR NOT NULL
            )
            """,
            # params is JSON text: the BG/NBD and Gamma-Gamma parameters and fit detail.
            """
            CREATE TABLE clv_fits (
                fit_id     VARCHAR PRIMARY KEY,
                fitted_at  TIMESTAMP NOT NULL,
                until      DATE NOT NULL,
                unit       VARCHAR NOT NULL,
                customers  BIGINT NOT NULL,
                params     VARCHAR NOT NULL
            )
            """,
            # The latest scores per person (replaced by each `siyu clv score`).
            """
            CREATE TABLE clv_scores (
                person_id          VARCHAR NOT NULL,
                fit_id             VARCHAR NOT NULL,
                scored_at          TIMESTAMP NOT NULL,
                frequency          DOUBLE NOT NULL,
                recency            DOUBLE NOT NULL,
                age                DOUBLE NOT NULL,
                monetary_fen       DOUBLE,
                p_alive            DOUBLE NOT NULL,
                expected_purchases DOUBLE NOT NULL,
                horizon_days       INTEGER NOT NULL,
                clv_fen            DOUBLE
            )
            """,
        ),
    ),
    Migration(
        8,
        "console: users with roles and argon2 password hashes, sign-in sessions",
        (
            # role: admin | operator | analyst. failed_logins counts consecutive failures;
            # locked_until is set when they reach the lock-out threshold.
            """
            CREATE TABLE console_users (
                username      VARCHAR PRIMARY KEY,
                display_name  VARCHAR NOT NULL,
                role          VARCHAR NOT NULL,
                password_hash VARCHAR NOT NULL,
                created_at    TIMESTAMP NOT NULL,
                created_by    VARCHAR NOT NULL,
                disabled      BOOLEAN NOT NULL DEFAULT false,
                failed_logins INTEGER NOT NULL DEFAULT 0,
                locked_until  TIMESTAMP,
                last_login_at TIMESTAMP,
                language      VARCHAR NOT NULL DEFAULT 'zh-CN'
            )
            """,
            # The cookie holds a random token; only its SHA-256 is stored.
            """
            CREATE TABLE console_sessions (
                token_hash   VARCHAR PRIMARY KEY,
                username     VARCHAR NOT NULL,
                created_at   TIMESTAMP NOT NULL,
                expires_at   TIMESTAMP NOT NULL,
                last_seen_at TIMESTAMP NOT NULL
            )
            """,
        ),
    ),
    Migration(
        9,
        "events and orders name their actor identity (identities.node_order)",
        (
            # ``actor`` is the ``node_order`` of the record's actor identity (its
            # ``identity_links`` node row), set by identity resolution. The identity's
            # person is still looked up at query time, so merges, splits and unbinds
            # re-attribute history at once; the join is one integer probe into the
            # small ``identities`` table instead of two joins over every node row.
            "ALTER TABLE events ADD COLUMN actor BIGINT",
            "ALTER TABLE orders ADD COLUMN actor BIGINT",
            """
            UPDATE events SET actor = a.node_order
            FROM (SELECT l.seq, i.node_order FROM identity_links l
                  JOIN identities i
                    ON l.a_type = i.identity_type AND l.a_value = i.identity_value
                  WHERE l.kind = 'node') a
            WHERE events.seq = a.seq
            """,
            """
            UPDATE orders SET actor = a.node_order
            FROM (SELECT l.seq, i.node_order FROM identity_links l
                  JOIN identities i
                    ON l.a_type = i.identity_type AND l.a_value = i.identity_value
                  WHERE l.kind = 'node') a
            WHERE orders.seq = a.seq
            """,
        ),
    ),
    Migration(
        10,
        "identity: rows that changed nothing when resolved are kept packed, one row per apply",
        (
            # Most rows of returning users' events link ids already in one person (or
            # name an actor already known): they change nothing when resolved, but a
            # later replay of their region (after an id turns junk or an operator keeps
            # two ids apart) needs them. Committing them as rows cost more than all of
            # resolution; they are kept packed: one row per apply, ids as the
            # identities' node_order. `identity_links` is the whole log, as before.
            "ALTER TABLE identity_links RENAME TO identity_link_rows",
            """
            CREATE TABLE identity_link_packs (
                min_seq BIGINT NOT NULL,
                max_seq BIGINT NOT NULL,
                seq     BIGINT[] NOT NULL,
                sub     INTEGER[] NOT NULL,
                a_node  BIGINT[] NOT NULL,
                b_node  BIGINT[] NOT NULL,
                origin  VARCHAR[] NOT NULL,
                ref     VARCHAR[] NOT NULL,
                seen_at TIMESTAMP[] NOT NULL
            )
            """,
            f"CREATE VIEW identity_link_packed AS {_PACKED_ROWS_10}",
            _IDENTITY_LINKS_VIEW,
        ),
    ),
    Migration(
        11,
        "identity: signatures of events whose links were all idle, to skip deriving them again",
        (
            # A cache: empty is always correct. Emptied by every replay, rebuild and
            # privacy deletion (`identity_store.forget_idle`).
            """
            CREATE TABLE identity_link_known (
                sig    UHUGEINT NOT NULL,
                sub    INTEGER[] NOT NULL,
                a_node BIGINT[] NOT NULL,
                b_node BIGINT[] NOT NULL
            )
            """,
        ),
    ),
    Migration(
        12,
        "identity: packed rows kept one row per record instead of one per apply",
        (
            # A pack per apply put the whole log's packed rows in a few table rows, all
            # in one row group: every checkpoint rewrote them all, so resolution's cost
            # grew with the log (the checkpoint after 300,000 returning events on a
            # 1,000,000-event log: 2.1 s of CPU, 0.55 s without the resolver;
            # BENCHMARKS.md). One row per record fills row groups like any table, and a
            # known event's rows (`identity_store.stage_known`) go in without unpacking.
            """
            CREATE TABLE identity_link_packs_12 (
                seq     BIGINT NOT NULL,
                origin  VARCHAR NOT NULL,
                ref     VARCHAR,
                seen_at TIMESTAMP,
                sub     INTEGER[] NOT NULL,
                a_node  BIGINT[] NOT NULL,
                b_node  BIGINT[] NOT NULL
            )
            """,
            """
            INSERT INTO identity_link_packs_12
            SELECT seq, origin, ref, seen_at, list_transform(p, lambda x: x.sub),
                   list_transform(p, lambda x: x.a_node), list_transform(p, lambda x: x.b_node)
            FROM (SELECT seq, origin, ref, seen_at,
                         list({'sub': sub, 'a_node': a_node, 'b_node': b_node}) AS p
                  FROM identity_link_packed GROUP BY ALL)
            """,
            "DROP VIEW identity_links",
            "DROP VIEW identity_link_packed",
            "DROP TABLE identity_link_packs",
            "ALTER TABLE identity_link_packs_12 RENAME TO identity_link_packs",
            f"CREATE VIEW identity_link_packed AS {PACKED_ROWS}",
            _IDENTITY_LINKS_VIEW,
        ),
    ),
)

#: Columns left out of the Parquet snapshots: engine-specific and derivable.
SNAPSHOT_EXCLUDE: Final = {"events": ("event_key",)}

#: Tables every backend exposes under the same names.
TABLES: Final = (
    "sources",
    "events",
    "quarantine",
    "orders",
    "items",
    "channels",
    "imports",
    "identity_links",
    "identities",
    "person_overrides",
    "identity_conflicts",
    "segment_definitions",
    "memberships",
    "set_sizes",
    "manual_tags",
    "experiments",
    "marketing_costs",
    "clv_fits",
    "clv_scores",
)
