SELECT
  "t14"."person_id"
FROM (
  SELECT
    "t13"."person_id",
    COALESCE(COALESCE("t13"."f0", 0) >= 30000, FALSE) AS "member"
  FROM (
    SELECT
      "t6"."person_id",
      "t12"."_pid0",
      "t12"."f0"
    FROM (
      SELECT DISTINCT
        "t0"."person_id"
      FROM "identities" AS "t0"
      WHERE
        NOT (
          "t0"."junk"
        )
    ) AS "t6"
    LEFT OUTER JOIN (
      SELECT
        "t10"."person_id" AS "_pid0",
        "t10"."f0"
      FROM (
        SELECT
          "t9"."person_id",
          SUM(CAST("t9"."amount_fen" - "t9"."refund_fen" AS DOUBLE)) FILTER(WHERE
            COALESCE(
              TRUE
              AND (
                "t9"."paid_at" >= MAKE_TIMESTAMP(2024, 4, 1, 16, 0, 0.0)
              )
              AND (
                "t9"."paid_at" < MAKE_TIMESTAMP(2024, 6, 30, 16, 0, 0.0)
              ),
              FALSE
            )) AS "f0"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t7".*
              EXCLUDE ("actor_key")
            FROM (
              SELECT
                "t2"."order_id",
                "t2"."member_id",
                "t2"."user_id",
                "t2"."identities",
                "t2"."paid_at",
                "t2"."amount_fen",
                "t2"."refund_fen",
                "t2"."status",
                "t2"."items",
                "t2"."coupon_code",
                "t2"."channel",
                "t2"."carrier",
                "t2"."properties",
                "t2"."source_id",
                "t2"."import_id",
                "t2"."loaded_at",
                "t2"."seq",
                "t2"."actor",
                "t5"."actor_key",
                "t5"."person_id"
              FROM "orders" AS "t2"
              LEFT OUTER JOIN (
                SELECT
                  "t0"."node_order" AS "actor_key",
                  "t0"."person_id"
                FROM "identities" AS "t0"
              ) AS "t5"
                ON "t2"."actor" = "t5"."actor_key"
            ) AS "t7"
          ) AS "t8"
          WHERE
            "t8"."person_id" IS NOT NULL
        ) AS "t9"
        GROUP BY
          1
      ) AS "t10"
    ) AS "t12"
      ON "t6"."person_id" = "t12"."_pid0"
  ) AS "t13"
) AS "t14"
WHERE
  "t14"."member"
