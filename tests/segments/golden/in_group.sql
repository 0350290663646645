SELECT
  "t21"."person_id"
FROM (
  SELECT
    "t7"."person_id",
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
  ) AS "t7"
  LEFT OUTER JOIN (
    SELECT
      "t18"."person_id" AS "_pid0",
      "t18"."f0"
    FROM (
      SELECT
        "t17"."person_id",
        BOOL_OR(CAST("t17"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t16"."person_id",
          "t16"."k",
          FIRST("t16"."on" ORDER BY {'t': "t16"."event_time", 's': "t16"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t15"."seq",
            "t15"."event_id",
            "t15"."type",
            "t15"."event",
            "t15"."event_time",
            "t15"."client_time",
            "t15"."sent_at",
            "t15"."received_at",
            "t15"."user_id",
            "t15"."anonymous_id",
            "t15"."previous_id",
            "t15"."identities",
            "t15"."source_id",
            "t15"."protocol",
            "t15"."carrier",
            "t15"."app_id",
            "t15"."library",
            "t15"."library_version",
            "t15"."method",
            "t15"."properties",
            "t15"."context",
            "t15"."event_key",
            "t15"."person_id",
            "t15"."k",
            NOT (
              "t15"."event" IN ('leave_group', 'quit_group')
            ) AS "on"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t13"."seq",
                "t13"."event_id",
                "t13"."type",
                "t13"."event",
                "t13"."event_time",
                "t13"."client_time",
                "t13"."sent_at",
                "t13"."received_at",
                "t13"."user_id",
                "t13"."anonymous_id",
                "t13"."previous_id",
                "t13"."identities",
                "t13"."source_id",
                "t13"."protocol",
                "t13"."carrier",
                "t13"."app_id",
                "t13"."library",
                "t13"."library_version",
                "t13"."method",
                "t13"."properties",
                "t13"."context",
                "t13"."event_key",
                "t13"."person_id",
                COALESCE(
                  "t13"."properties" ->> '$.chat_id',
                  "t13"."properties" ->> '$.ChatId',
                  "t13"."properties" ->> '$.group_id'
                ) AS "k"
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
                  "t12"."person_id" IS NOT NULL
                  AND (
                    "t12"."event" IN ('join_group', 'leave_group', 'quit_group')
                    OR (
                      "t12"."type" = 'group'
                    )
                  )
              ) AS "t13"
            ) AS "t14"
            WHERE
              COALESCE(
                "t14"."properties" ->> '$.chat_id',
                "t14"."properties" ->> '$.ChatId',
                "t14"."properties" ->> '$.group_id'
              ) IS NOT NULL
          ) AS "t15"
        ) AS "t16"
        GROUP BY
          1,
          2
      ) AS "t17"
      GROUP BY
        1
    ) AS "t18"
  ) AS "t20"
    ON "t7"."person_id" = "t20"."_pid0"
) AS "t21"
WHERE
  COALESCE("t21"."f0", FALSE)
