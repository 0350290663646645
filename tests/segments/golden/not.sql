SELECT
  "t18"."person_id"
FROM (
  SELECT
    "t17"."person_id",
    NOT (
      TRUE AND (
        COALESCE("t17"."f0", 0) >= 1
      )
    ) AS "member"
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
          COUNT(*) FILTER(WHERE
            COALESCE(
              (
                "t13"."event" = 'order_paid'
              )
              AND (
                TRUE
                AND (
                  "t13"."event_time" >= MAKE_TIMESTAMP(2024, 5, 31, 16, 0, 0.0)
                )
                AND (
                  "t13"."event_time" < MAKE_TIMESTAMP(2024, 6, 30, 16, 0, 0.0)
                )
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
            "t12"."person_id" IS NOT NULL AND "t12"."event" IN ('order_paid')
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
