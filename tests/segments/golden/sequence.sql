SELECT
  "t21"."person_id"
FROM (
  SELECT
    "t6"."person_id",
    "t20"."_pid0",
    "t20"."f0"
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
      "t18"."person_id" AS "_pid0",
      "t18"."f0"
    FROM (
      SELECT
        "t17"."person_id",
        COUNT(*) > 0 AS "f0"
      FROM (
        SELECT
          "t16"."person_id",
          "t16"."event_time",
          "t16"."seq",
          "t16"."best" AS "start"
        FROM (
          SELECT
            "t15"."person_id",
            "t15"."event_time",
            "t15"."seq",
            "t15"."start",
            "t15"."is_hit",
            MAX("t15"."start") OVER (
              PARTITION BY "t15"."person_id"
              ORDER BY "t15"."event_time" ASC, "t15"."is_hit" DESC, "t15"."seq" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS "best"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t13"."person_id",
                "t13"."event_time",
                "t13"."seq",
                "t13"."best" AS "start",
                FALSE AS "is_hit"
              FROM (
                SELECT
                  "t12"."person_id",
                  "t12"."event_time",
                  "t12"."seq",
                  "t12"."start",
                  "t12"."is_hit",
                  MAX("t12"."start") OVER (
                    PARTITION BY "t12"."person_id"
                    ORDER BY "t12"."event_time" ASC, "t12"."is_hit" DESC, "t12"."seq" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                  ) AS "best"
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t8"."person_id",
                      "t8"."event_time",
                      "t8"."seq",
                      "t8"."event_time" AS "start",
                      FALSE AS "is_hit"
                    FROM (
                      SELECT
                        "t7".*
                        EXCLUDE ("actor_key")
                      FROM (
                        SELECT
                          "t2"."seq",
                          "t2"."event_id",
                          "t2"."type",
                          "t2"."event",
                          "t2"."event_time",
                          "t2"."client_time",
                          "t2"."sent_at",
                          "t2"."received_at",
                          "t2"."user_id",
                          "t2"."anonymous_id",
                          "t2"."previous_id",
                          "t2"."identities",
                          "t2"."source_id",
                          "t2"."protocol",
                          "t2"."carrier",
                          "t2"."app_id",
                          "t2"."library",
                          "t2"."library_version",
                          "t2"."method",
                          "t2"."properties",
                          "t2"."context",
                          "t2"."event_key",
                          "t2"."actor",
                          "t5"."actor_key",
                          "t5"."person_id"
                        FROM "events" AS "t2"
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
                      AND TRUE
                      AND "t8"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                      AND COALESCE((
                        "t8"."event" = 'view_item'
                      ) AND TRUE, FALSE)
                  ) AS "t9"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t8"."person_id",
                      "t8"."event_time",
                      "t8"."seq",
                      CAST(NULL AS TIMESTAMP(6)) AS "start",
                      TRUE AS "is_hit"
                    FROM (
                      SELECT
                        "t7".*
                        EXCLUDE ("actor_key")
                      FROM (
                        SELECT
                          "t2"."seq",
                          "t2"."event_id",
                          "t2"."type",
                          "t2"."event",
                          "t2"."event_time",
                          "t2"."client_time",
                          "t2"."sent_at",
                          "t2"."received_at",
                          "t2"."user_id",
                          "t2"."anonymous_id",
                          "t2"."previous_id",
                          "t2"."identities",
                          "t2"."source_id",
                          "t2"."protocol",
                          "t2"."carrier",
                          "t2"."app_id",
                          "t2"."library",
                          "t2"."library_version",
                          "t2"."method",
                          "t2"."properties",
                          "t2"."context",
                          "t2"."event_key",
                          "t2"."actor",
                          "t5"."actor_key",
                          "t5"."person_id"
                        FROM "events" AS "t2"
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
                      AND TRUE
                      AND "t8"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                      AND COALESCE((
                        "t8"."event" = 'add_to_cart'
                      ) AND TRUE, FALSE)
                  ) AS "t10"
                ) AS "t12"
              ) AS "t13"
              WHERE
                "t13"."is_hit" AND "t13"."best" IS NOT NULL
            ) AS "t14"
            UNION ALL
            SELECT
              *
            FROM (
              SELECT
                "t8"."person_id",
                "t8"."event_time",
                "t8"."seq",
                CAST(NULL AS TIMESTAMP(6)) AS "start",
                TRUE AS "is_hit"
              FROM (
                SELECT
                  "t7".*
                  EXCLUDE ("actor_key")
                FROM (
                  SELECT
                    "t2"."seq",
                    "t2"."event_id",
                    "t2"."type",
                    "t2"."event",
                    "t2"."event_time",
                    "t2"."client_time",
                    "t2"."sent_at",
                    "t2"."received_at",
                    "t2"."user_id",
                    "t2"."anonymous_id",
                    "t2"."previous_id",
                    "t2"."identities",
                    "t2"."source_id",
                    "t2"."protocol",
                    "t2"."carrier",
                    "t2"."app_id",
                    "t2"."library",
                    "t2"."library_version",
                    "t2"."method",
                    "t2"."properties",
                    "t2"."context",
                    "t2"."event_key",
                    "t2"."actor",
                    "t5"."actor_key",
                    "t5"."person_id"
                  FROM "events" AS "t2"
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
                AND TRUE
                AND "t8"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                AND COALESCE((
                  "t8"."event" = 'order_paid'
                ) AND TRUE AND (
                  "t8"."carrier" = 'mp'
                ), FALSE)
            ) AS "t11"
          ) AS "t15"
        ) AS "t16"
        WHERE
          "t16"."is_hit"
          AND "t16"."best" IS NOT NULL
          AND (
            EPOCH(CAST("t16"."event_time" AS TIMESTAMP)) - EPOCH(CAST("t16"."best" AS TIMESTAMP))
          ) <= 604800
      ) AS "t17"
      GROUP BY
        1
    ) AS "t18"
  ) AS "t20"
    ON "t6"."person_id" = "t20"."_pid0"
) AS "t21"
WHERE
  COALESCE("t21"."f0", FALSE)
