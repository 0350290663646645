SELECT
  "t18"."person_id"
FROM (
  SELECT
    "t7"."person_id",
    "t17"."_pid0",
    "t17"."f0"
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
      "t15"."person_id" AS "_pid0",
      "t15"."f0"
    FROM (
      SELECT
        "t14"."person_id",
        BOOL_OR(CAST("t14"."on" AS BOOLEAN)) AS "f0"
      FROM (
        SELECT
          "t13"."person_id",
          "t13"."k",
          FIRST("t13"."on" ORDER BY {'t': "t13"."event_time", 's': "t13"."seq"} DESC) AS "on"
        FROM (
          SELECT
            "t12"."seq",
            "t12"."event_id",
            "t12"."type",
            "t12"."event",
            "t12"."event_time",
            "t12"."client_time",
            "t12"."sent_at",
            "t12"."received_at",
            "t12"."user_id",
            "t12"."anonymous_id",
            "t12"."previous_id",
            "t12"."identities",
            "t12"."source_id",
            "t12"."protocol",
            "t12"."carrier",
            "t12"."app_id",
            "t12"."library",
            "t12"."library_version",
            "t12"."method",
            "t12"."properties",
            "t12"."context",
            "t12"."event_key",
            "t12"."person_id",
            COALESCE("t12"."app_id", '') AS "k",
            "t12"."event" = 'subscribe' AS "on"
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
            AND "t12"."event" IN ('subscribe', 'unsubscribe')
            AND "t12"."app_id" = 'wx0000000000000002'
        ) AS "t13"
        GROUP BY
          1,
          2
      ) AS "t14"
      GROUP BY
        1
    ) AS "t15"
  ) AS "t17"
    ON "t7"."person_id" = "t17"."_pid0"
) AS "t18"
WHERE
  COALESCE("t18"."f0", FALSE)
