SELECT
  "t16"."person_id"
FROM (
  SELECT
    "t6"."person_id",
    "t15"."_pid0",
    "t15"."f0"
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
      "t13"."person_id" AS "_pid0",
      "t13"."f0"
    FROM (
      SELECT
        "t12"."person_id",
        BOOL_OR(CAST("t12"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t11"."person_id",
          "t11"."k",
          FIRST("t11"."on" ORDER BY {'t': "t11"."event_time", 's': "t11"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t10"."seq",
            "t10"."event_id",
            "t10"."type",
            "t10"."event",
            "t10"."event_time",
            "t10"."client_time",
            "t10"."sent_at",
            "t10"."received_at",
            "t10"."user_id",
            "t10"."anonymous_id",
            "t10"."previous_id",
            "t10"."identities",
            "t10"."source_id",
            "t10"."protocol",
            "t10"."carrier",
            "t10"."app_id",
            "t10"."library",
            "t10"."library_version",
            "t10"."method",
            "t10"."properties",
            "t10"."context",
            "t10"."event_key",
            "t10"."actor",
            "t10"."person_id",
            "t10"."action",
            "t10"."k",
            "t10"."action" IN ('add_external_contact', 'add_half_external_contact') AS "on"
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
              CASE
                WHEN "t9"."event" = 'change_external_contact'
                THEN COALESCE("t9"."properties" ->> '$.change_type', "t9"."properties" ->> '$.ChangeType')
                ELSE "t9"."event"
              END AS "action",
              COALESCE(
                COALESCE("t9"."properties" ->> '$.staff_userid', "t9"."properties" ->> '$.UserID'),
                ''
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
                AND "t8"."event" IN (
                  'change_external_contact',
                  'add_external_contact',
                  'add_half_external_contact',
                  'del_external_contact',
                  'del_follow_user'
                )
            ) AS "t9"
          ) AS "t10"
          WHERE
            "t10"."action" IN (
              'add_external_contact',
              'add_half_external_contact',
              'del_external_contact',
              'del_follow_user'
            )
            AND "t10"."k" = 'zhaomin'
        ) AS "t11"
        GROUP BY
          1,
          2
      ) AS "t12"
      GROUP BY
        1
    ) AS "t13"
  ) AS "t15"
    ON "t6"."person_id" = "t15"."_pid0"
) AS "t16"
WHERE
  COALESCE("t16"."f0", FALSE)
