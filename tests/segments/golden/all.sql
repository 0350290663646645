SELECT
  "t26"."person_id"
FROM (
  SELECT
    "t25"."person_id",
    TRUE AND (
      COALESCE("t25"."f0", 0) >= 1
    ) AND COALESCE("t25"."f1", FALSE) AS "member"
  FROM (
    SELECT
      "t24"."person_id",
      "t24"."f0",
      "t15"."_pid1",
      "t15"."f1"
    FROM (
      SELECT
        "t22"."person_id",
        "t22"."f0"
      FROM (
        SELECT
          "t9"."person_id",
          "t21"."_pid0",
          "t21"."f0"
        FROM (
          SELECT DISTINCT
            "t0"."person_id"
          FROM "identities" AS "t0"
          WHERE
            NOT (
              "t0"."junk"
            )
        ) AS "t9"
        LEFT OUTER JOIN (
          SELECT
            "t19"."person_id" AS "_pid0",
            "t19"."f0"
          FROM (
            SELECT
              "t18"."person_id",
              COUNT(*) FILTER(WHERE
                COALESCE((
                  "t18"."event" = 'view_item'
                ) AND TRUE, FALSE)) AS "f0"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t16".*
                  EXCLUDE ("actor_seq")
                FROM (
                  SELECT
                    "t5"."seq",
                    "t5"."event_id",
                    "t5"."type",
                    "t5"."event",
                    "t5"."event_time",
                    "t5"."client_time",
                    "t5"."sent_at",
                    "t5"."received_at",
                    "t5"."user_id",
                    "t5"."anonymous_id",
                    "t5"."previous_id",
                    "t5"."identities",
                    "t5"."source_id",
                    "t5"."protocol",
                    "t5"."carrier",
                    "t5"."app_id",
                    "t5"."library",
                    "t5"."library_version",
                    "t5"."method",
                    "t5"."properties",
                    "t5"."context",
                    "t5"."event_key",
                    "t14"."actor_seq",
                    "t14"."person_id"
                  FROM "events" AS "t5"
                  LEFT OUTER JOIN (
                    SELECT
                      "t10"."seq" AS "actor_seq",
                      "t4"."person_id"
                    FROM (
                      SELECT
                        *
                      FROM "identity_links" AS "t3"
                      WHERE
                        "t3"."kind" = 'node'
                    ) AS "t10"
                    INNER JOIN "identities" AS "t4"
                      ON "t10"."a_type" = "t4"."identity_type" AND "t10"."a_value" = "t4"."identity_value"
                  ) AS "t14"
                    ON "t5"."seq" = "t14"."actor_seq"
                ) AS "t16"
              ) AS "t17"
              WHERE
                "t17"."person_id" IS NOT NULL AND "t17"."event" IN ('view_item')
            ) AS "t18"
            GROUP BY
              1
          ) AS "t19"
        ) AS "t21"
          ON "t9"."person_id" = "t21"."_pid0"
      ) AS "t22"
    ) AS "t24"
    LEFT OUTER JOIN (
      SELECT
        "t11"."person_id" AS "_pid1",
        "t11"."f1"
      FROM (
        SELECT
          "t7"."person_id",
          BOOL_OR(CAST("t7"."set_key" = 'tag:vip' AS BOOLEAN)) AS "f1"
        FROM (
          SELECT
            "t1"."set_key",
            "t1"."person_id",
            "t1"."weight"
          FROM "memberships" AS "t1"
          WHERE
            "t1"."exited_at" IS NULL
        ) AS "t7"
        GROUP BY
          1
      ) AS "t11"
    ) AS "t15"
      ON "t24"."person_id" = "t15"."_pid1"
  ) AS "t25"
) AS "t26"
WHERE
  "t26"."member"
