SELECT
  "t17"."person_id"
FROM (
  SELECT
    "t6"."person_id",
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
  ) AS "t6"
  LEFT OUTER JOIN (
    SELECT
      "t14"."person_id" AS "_pid0",
      "t14"."f0"
    FROM (
      SELECT
        "t13"."person_id",
        BOOL_OR(CAST("t13"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t12"."person_id",
          "t12"."k",
          FIRST("t12"."on" ORDER BY {'t': "t12"."event_time", 's': "t12"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t11"."seq",
            "t11"."event_id",
            "t11"."type",
            "t11"."event",
            "t11"."event_time",
            "t11"."client_time",
            "t11"."sent_at",
            "t11"."received_at",
            "t11"."user_id",
            "t11"."anonymous_id",
            "t11"."previous_id",
            "t11"."identities",
            "t11"."source_id",
            "t11"."protocol",
            "t11"."carrier",
            "t11"."app_id",
            "t11"."library",
            "t11"."library_version",
            "t11"."method",
            "t11"."properties",
            "t11"."context",
            "t11"."event_key",
            "t11"."actor",
            "t11"."person_id",
            "t11"."k",
            NOT (
              "t11"."event" IN ('leave_group', 'quit_group')
            ) AS "on"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t9"."seq",
                "t9"."event_id",
                "t9"."type",
                "t9"."event",
                "t9"."event_time",
                "t9"."client_time",
                "t9"."sent_at",
                "t9"."received_at",
                "t9"."user_id",
                "t9"."anonymous_id",
                "t9"."previous_id",
                "t9"."identities",
                "t9"."source_id",
                "t9"."protocol",
                "t9"."carrier",
                "t9"."app_id",
                "t9"."library",
                "t9"."library_version",
                "t9"."method",
                "t9"."properties",
                "t9"."context",
                "t9"."event_key",
                "t9"."actor",
                "t9"."person_id",
                COALESCE(
                  "t9"."properties" ->> '$.chat_id',
                  "t9"."properties" ->> '$.ChatId',
                  "t9"."properties" ->> '$.group_id'
                ) AS "k"
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
                  "t8"."person_id" IS NOT NULL
                  AND (
                    "t8"."event" IN ('join_group', 'leave_group', 'quit_group')
                    OR (
                      "t8"."type" = 'group'
                    )
                  )
              ) AS "t9"
            ) AS "t10"
            WHERE
              COALESCE(
                "t10"."properties" ->> '$.chat_id',
                "t10"."properties" ->> '$.ChatId',
                "t10"."properties" ->> '$.group_id'
              ) IS NOT NULL
          ) AS "t11"
        ) AS "t12"
        GROUP BY
          1,
          2
      ) AS "t13"
      GROUP BY
        1
    ) AS "t14"
  ) AS "t16"
    ON "t6"."person_id" = "t16"."_pid0"
) AS "t17"
WHERE
  COALESCE("t17"."f0", FALSE)
