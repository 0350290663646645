SELECT
  "t14"."person_id"
FROM (
  SELECT
    "t13"."person_id",
    COALESCE(TRUE AND (
      "t13"."f0" < MAKE_TIMESTAMP(2024, 5, 30, 16, 0, 0.0)
    ), FALSE) AS "member"
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
          MAX("t9"."event_time") FILTER(WHERE
            "t9"."event" = '$MPLaunch') AS "f0"
        FROM (
          SELECT
            *
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
            "t8"."person_id" IS NOT NULL AND "t8"."event" IN ('$MPLaunch')
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
