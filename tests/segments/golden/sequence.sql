SELECT
  "t25"."person_id"
FROM (
  SELECT
    "t7"."person_id",
    "t24"."_pid0",
    "t24"."f0"
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
      "t22"."person_id" AS "_pid0",
      "t22"."f0"
    FROM (
      SELECT
        "t21"."person_id",
        COUNT(*) > 0 AS "f0"
      FROM (
        SELECT
          "t20"."person_id",
          "t20"."event_time",
          "t20"."seq",
          "t20"."best" AS "start"
        FROM (
          SELECT
            "t19"."person_id",
            "t19"."event_time",
            "t19"."seq",
            "t19"."start",
            "t19"."is_hit",
            MAX("t19"."start") OVER (
              PARTITION BY "t19"."person_id"
              ORDER BY "t19"."event_time" ASC, "t19"."is_hit" DESC, "t19"."seq" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS "best"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t17"."person_id",
                "t17"."event_time",
                "t17"."seq",
                "t17"."best" AS "start",
                FALSE AS "is_hit"
              FROM (
                SELECT
                  "t16"."person_id",
                  "t16"."event_time",
                  "t16"."seq",
                  "t16"."start",
                  "t16"."is_hit",
                  MAX("t16"."start") OVER (
                    PARTITION BY "t16"."person_id"
                    ORDER BY "t16"."event_time" ASC, "t16"."is_hit" DESC, "t16"."seq" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                  ) AS "best"
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t12"."person_id",
                      "t12"."event_time",
                      "t12"."seq",
                      "t12"."event_time" AS "start",
                      FALSE AS "is_hit"
                    FROM (
                      SELECT
                        "t11".*
                        EXCLUDE ("actor_seq")
                      FROM (
                        SELECT
                          "t4"."seq",
                          "t4"."event_id",
                          "t4"."type",
                          "t4"."event",
                          "t4"."event_time",
                          "t4"."client_time",
                          "t4"."sent_at",
                          "t4"."received_at",
                          "t4"."user_id",
                          "t4"."anonymous_id",
                          "t4"."previous_id",
                          "t4"."identities",
                          "t4"."source_id",
                          "t4"."protocol",
                          "t4"."carrier",
                          "t4"."app_id",
                          "t4"."library",
                          "t4"."library_version",
                          "t4"."method",
                          "t4"."properties",
                          "t4"."context",
                          "t4"."event_key",
                          "t10"."actor_seq",
                          "t10"."person_id"
                        FROM "events" AS "t4"
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
                      AND TRUE
                      AND "t12"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                      AND COALESCE((
                        "t12"."event" = 'view_item'
                      ) AND TRUE, FALSE)
                  ) AS "t13"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t12"."person_id",
                      "t12"."event_time",
                      "t12"."seq",
                      CAST(NULL AS TIMESTAMP(6)) AS "start",
                      TRUE AS "is_hit"
                    FROM (
                      SELECT
                        "t11".*
                        EXCLUDE ("actor_seq")
                      FROM (
                        SELECT
                          "t4"."seq",
                          "t4"."event_id",
                          "t4"."type",
                          "t4"."event",
                          "t4"."event_time",
                          "t4"."client_time",
                          "t4"."sent_at",
                          "t4"."received_at",
                          "t4"."user_id",
                          "t4"."anonymous_id",
                          "t4"."previous_id",
                          "t4"."identities",
                          "t4"."source_id",
                          "t4"."protocol",
                          "t4"."carrier",
                          "t4"."app_id",
                          "t4"."library",
                          "t4"."library_version",
                          "t4"."method",
                          "t4"."properties",
                          "t4"."context",
                          "t4"."event_key",
                          "t10"."actor_seq",
                          "t10"."person_id"
                        FROM "events" AS "t4"
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
                      AND TRUE
                      AND "t12"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                      AND COALESCE((
                        "t12"."event" = 'add_to_cart'
                      ) AND TRUE, FALSE)
                  ) AS "t14"
                ) AS "t16"
              ) AS "t17"
              WHERE
                "t17"."is_hit" AND "t17"."best" IS NOT NULL
            ) AS "t18"
            UNION ALL
            SELECT
              *
            FROM (
              SELECT
                "t12"."person_id",
                "t12"."event_time",
                "t12"."seq",
                CAST(NULL AS TIMESTAMP(6)) AS "start",
                TRUE AS "is_hit"
              FROM (
                SELECT
                  "t11".*
                  EXCLUDE ("actor_seq")
                FROM (
                  SELECT
                    "t4"."seq",
                    "t4"."event_id",
                    "t4"."type",
                    "t4"."event",
                    "t4"."event_time",
                    "t4"."client_time",
                    "t4"."sent_at",
                    "t4"."received_at",
                    "t4"."user_id",
                    "t4"."anonymous_id",
                    "t4"."previous_id",
                    "t4"."identities",
                    "t4"."source_id",
                    "t4"."protocol",
                    "t4"."carrier",
                    "t4"."app_id",
                    "t4"."library",
                    "t4"."library_version",
                    "t4"."method",
                    "t4"."properties",
                    "t4"."context",
                    "t4"."event_key",
                    "t10"."actor_seq",
                    "t10"."person_id"
                  FROM "events" AS "t4"
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
                AND TRUE
                AND "t12"."event" IN ('add_to_cart', 'order_paid', 'view_item')
                AND COALESCE(
                  (
                    "t12"."event" = 'order_paid'
                  ) AND TRUE AND (
                    "t12"."carrier" = 'mp'
                  ),
                  FALSE
                )
            ) AS "t15"
          ) AS "t19"
        ) AS "t20"
        WHERE
          "t20"."is_hit"
          AND "t20"."best" IS NOT NULL
          AND (
            EPOCH(CAST("t20"."event_time" AS TIMESTAMP)) - EPOCH(CAST("t20"."best" AS TIMESTAMP))
          ) <= 604800
      ) AS "t21"
      GROUP BY
        1
    ) AS "t22"
  ) AS "t24"
    ON "t7"."person_id" = "t24"."_pid0"
) AS "t25"
WHERE
  COALESCE("t25"."f0", FALSE)
