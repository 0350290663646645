SELECT
  "t14"."person_id"
FROM (
  SELECT
    "t6"."person_id",
    "t13"."_pid0",
    "t13"."f0"
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
      "t11"."person_id" AS "_pid0",
      "t11"."f0"
    FROM (
      SELECT
        "t10"."person_id",
        BOOL_OR(CAST("t10"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t9"."person_id",
          "t9"."k",
          FIRST("t9"."on" ORDER BY {'t': "t9"."event_time", 's': "t9"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t8"."seq",
            "t8"."event_id",
            "t8"."type",
            "t8"."event",
            "t8"."event_time",
            "t8"."client_time",
            "t8"."sent_at",
            "t8"."received_at",
            "t8"."user_id",
            "t8"."anonymous_id",
            "t8"."previous_id",
            "t8"."identities",
            "t8"."source_id",
            "t8"."protocol",
            "t8"."carrier",
            "t8"."app_id",
            "t8"."library",
            "t8"."library_version",
            "t8"."method",
            "t8"."properties",
            "t8"."context",
            "t8"."event_key",
            "t8"."actor",
            "t8"."person_id",
            COALESCE("t8"."app_id", '') AS "k",
            "t8"."event" = 'subscribe' AS "on"
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
            AND "t8"."event" IN ('subscribe', 'unsubscribe')
            AND "t8"."app_id" = 'wx0000000000000002'
        ) AS "t9"
        GROUP BY
          1,
          2
      ) AS "t10"
      GROUP BY
        1
    ) AS "t11"
  ) AS "t13"
    ON "t6"."person_id" = "t13"."_pid0"
) AS "t14"
WHERE
  COALESCE("t14"."f0", FALSE)
