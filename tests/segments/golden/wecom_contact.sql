SELECT
  "t20"."person_id"
FROM (
  SELECT
    "t7"."person_id",
    "t19"."_pid0",
    "t19"."f0"
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
      "t17"."person_id" AS "_pid0",
      "t17"."f0"
    FROM (
      SELECT
        "t16"."person_id",
        BOOL_OR(CAST("t16"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t15"."person_id",
          "t15"."k",
          FIRST("t15"."on" ORDER BY {'t': "t15"."event_time", 's': "t15"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t14"."seq",
            "t14"."event_id",
            "t14"."type",
            "t14"."event",
            "t14"."event_time",
            "t14"."client_time",
            "t14"."sent_at",
            "t14"."received_at",
            "t14"."user_id",
            "t14"."anonymous_id",
            "t14"."previous_id",
            "t14"."identities",
            "t14"."source_id",
            "t14"."protocol",
            "t14"."carrier",
            "t14"."app_id",
            "t14"."library",
            "t14"."library_version",
            "t14"."method",
            "t14"."properties",
            "t14"."context",
            "t14"."event_key",
            "t14"."person_id",
            "t14"."action",
            "t14"."k",
            "t14"."action" IN ('add_external_contact', 'add_half_external_contact') AS "on"
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
              CASE
                WHEN "t13"."event" = 'change_external_contact'
                THEN COALESCE("t13"."properties" ->> '$.change_type', "t13"."properties" ->> '$.ChangeType')
                ELSE "t13"."event"
              END AS "action",
              COALESCE(
                COALESCE("t13"."properties" ->> '$.staff_userid', "t13"."properties" ->> '$.UserID'),
                ''
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
                AND "t12"."event" IN (
                  'change_external_contact',
                  'add_external_contact',
                  'add_half_external_contact',
                  'del_external_contact',
                  'del_follow_user'
                )
            ) AS "t13"
          ) AS "t14"
          WHERE
            "t14"."action" IN (
              'add_external_contact',
              'add_half_external_contact',
              'del_external_contact',
              'del_follow_user'
            )
            AND "t14"."k" = 'zhaomin'
        ) AS "t15"
        GROUP BY
          1,
          2
      ) AS "t16"
      GROUP BY
        1
    ) AS "t17"
  ) AS "t19"
    ON "t7"."person_id" = "t19"."_pid0"
) AS "t20"
WHERE
  COALESCE("t20"."f0", FALSE)
