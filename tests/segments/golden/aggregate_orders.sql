SELECT
  "t18"."person_id"
FROM (
  SELECT
    "t17"."person_id",
    COALESCE(COALESCE("t17"."f0", 0) >= 30000, FALSE) AS "member"
  FROM (
    SELECT
      "t7"."person_id",
      "t16"."_pid0",
      "t16"."f0"
    FROM (
      SELECT DISTINCT
        "t0"."person_id"
      FROM "identities" AS "t0"
      WHERE
        NOT (
          "t0"."junk"
        )
    ) AS "t7"
    LEFT OUTER JOIN (
      SELECT
        "t14"."person_id" AS "_pid0",
        "t14"."f0"
      FROM (
        SELECT
          "t13"."person_id",
          SUM(CAST("t13"."amount_fen" - "t13"."refund_fen" AS DOUBLE)) FILTER(WHERE
            COALESCE(
              TRUE
              AND (
                "t13"."paid_at" >= MAKE_TIMESTAMP(2024, 4, 1, 16, 0, 0.0)
              )
              AND (
                "t13"."paid_at" < MAKE_TIMESTAMP(2024, 6, 30, 16, 0, 0.0)
              ),
              FALSE
            )) AS "f0"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t11".*
              EXCLUDE ("actor_seq")
            FROM (
              SELECT
                "t4"."order_id",
                "t4"."member_id",
                "t4"."user_id",
                "t4"."identities",
                "t4"."paid_at",
                "t4"."amount_fen",
                "t4"."refund_fen",
                "t4"."status",
                "t4"."items",
                "t4"."coupon_code",
                "t4"."channel",
                "t4"."carrier",
                "t4"."properties",
                "t4"."source_id",
                "t4"."import_id",
                "t4"."loaded_at",
                "t4"."seq",
                "t10"."actor_seq",
                "t10"."person_id"
              FROM "orders" AS "t4"
              LEFT OUTER JOIN (
                SELECT
                  "t8"."seq" AS "actor_seq",
                  "t3"."person_id"
                FROM (
                  SELECT
                    *
                  FROM "identity_links" AS "t2"
                  WHERE
                    "t2"."kind" = 'node'
                ) AS "t8"
                INNER JOIN "identities" AS "t3"
                  ON "t8"."a_type" = "t3"."identity_type" AND "t8"."a_value" = "t3"."identity_value"
              ) AS "t10"
                ON "t4"."seq" = "t10"."actor_seq"
            ) AS "t11"
          ) AS "t12"
          WHERE
            "t12"."person_id" IS NOT NULL
        ) AS "t13"
        GROUP BY
          1
      ) AS "t14"
    ) AS "t16"
      ON "t7"."person_id" = "t16"."_pid0"
  ) AS "t17"
) AS "t18"
WHERE
  "t18"."member"
