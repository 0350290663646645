SELECT
  "t22"."person_id"
FROM (
  SELECT
    "t21"."person_id",
    TRUE AND (
      COALESCE("t21"."f0", 0) >= 1
    ) AND COALESCE("t21"."f1", FALSE) AS "member"
  FROM (
    SELECT
      "t20"."person_id",
      "t20"."f0",
      "t13"."_pid1",
      "t13"."f1"
    FROM (
      SELECT
        "t18"."person_id",
        "t18"."f0"
      FROM (
        SELECT
          "t8"."person_id",
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
        ) AS "t8"
        LEFT OUTER JOIN (
          SELECT
            "t15"."person_id" AS "_pid0",
            "t15"."f0"
          FROM (
            SELECT
              "t14"."person_id",
              COUNT(*) FILTER(WHERE
                COALESCE((
                  "t14"."event" = 'view_item'
                ) AND TRUE, FALSE)) AS "f0"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t9".*
                  EXCLUDE ("actor_key")
                FROM (
                  SELECT
                    "t3"."seq",
                    "t3"."event_id",
                    "t3"."type",
                    "t3"."event",
                    "t3"."event_time",
                    "t3"."client_time",
                    "t3"."sent_at",
                    "t3"."received_at",
                    "t3"."user_id",
                    "t3"."anonymous_id",
                    "t3"."previous_id",
                    "t3"."identities",
                    "t3"."source_id",
                    "t3"."protocol",
                    "t3"."carrier",
                    "t3"."app_id",
                    "t3"."library",
                    "t3"."library_version",
                    "t3"."method",
                    "t3"."properties",
                    "t3"."context",
                    "t3"."event_key",
                    "t3"."actor",
                    "t6"."actor_key",
                    "t6"."person_id"
                  FROM "events" AS "t3"
                  LEFT OUTER JOIN (
                    SELECT
                      "t0"."node_order" AS "actor_key",
                      "t0"."person_id"
                    FROM "identities" AS "t0"
                  ) AS "t6"
                    ON "t3"."actor" = "t6"."actor_key"
                ) AS "t9"
              ) AS "t11"
              WHERE
                "t11"."person_id" IS NOT NULL AND "t11"."event" IN ('view_item')
            ) AS "t14"
            GROUP BY
              1
          ) AS "t15"
        ) AS "t17"
          ON "t8"."person_id" = "t17"."_pid0"
      ) AS "t18"
    ) AS "t20"
    LEFT OUTER JOIN (
      SELECT
        "t10"."person_id" AS "_pid1",
        "t10"."f1"
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
      ) AS "t10"
    ) AS "t13"
      ON "t20"."person_id" = "t13"."_pid1"
  ) AS "t21"
) AS "t22"
WHERE
  "t22"."member"
