WITH "t28" AS (
  SELECT
    "t15"."person_id",
    "t15"."event_id",
    "t15"."seq",
    "t15"."event_time",
    "t15"."type",
    "t15"."event",
    "t15"."protocol",
    "t15"."carrier",
    "t15"."app_id",
    "t15"."properties",
    "t15"."context"
  FROM (
    SELECT
      "t14".*
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
        "t13"."actor_seq",
        "t13"."person_id"
      FROM "events" AS "t5"
      LEFT OUTER JOIN (
        SELECT
          "t11"."seq" AS "actor_seq",
          "t4"."person_id"
        FROM (
          SELECT
            *
          FROM "identity_links" AS "t3"
          WHERE
            "t3"."kind" = 'node'
        ) AS "t11"
        INNER JOIN "identities" AS "t4"
          ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
      ) AS "t13"
        ON "t5"."seq" = "t13"."actor_seq"
    ) AS "t14"
  ) AS "t15"
  WHERE
    "t15"."person_id" IS NOT NULL
    AND (
      "t15"."event" IN (
        'subscribe',
        'unsubscribe',
        'change_external_contact',
        'add_external_contact',
        'add_half_external_contact',
        'del_external_contact',
        'del_follow_user',
        'join_group',
        'leave_group',
        'quit_group'
      )
      OR (
        "t15"."type" = 'group'
      )
      OR (
        FALSE
        OR CONTAINS("t15"."properties", '"scene"')
        OR CONTAINS("t15"."properties", '"state"')
        OR CONTAINS("t15"."properties", '"State"')
        OR CONTAINS("t15"."properties", '"channel"')
        OR CONTAINS("t15"."properties", '"$utm_source"')
        OR CONTAINS("t15"."properties", '"utm_source"')
        OR CONTAINS("t15"."properties", '"campaign"')
        OR CONTAINS("t15"."properties", '"$utm_campaign"')
        OR CONTAINS("t15"."properties", '"utm_campaign"')
        OR CONTAINS("t15"."properties", '"chat_id"')
        OR CONTAINS("t15"."properties", '"ChatId"')
        OR CONTAINS("t15"."properties", '"group_id"')
        OR CONTAINS("t15"."properties", '"staff_userid"')
        OR CONTAINS("t15"."properties", '"UserID"')
        OR CONTAINS("t15"."properties", '"change_type"')
        OR CONTAINS("t15"."properties", '"ChangeType"')
      )
      OR (
        FALSE OR CONTAINS("t15"."context", '"campaign"')
      )
    )
), "t53" AS (
  SELECT
    "t31"."person_id",
    "t31"."event_id",
    "t31"."seq",
    "t31"."event_time",
    "t31"."type",
    "t31"."event",
    "t31"."protocol",
    "t31"."carrier",
    "t31"."app_id",
    "t51"."channel",
    "t51"."campaign",
    "t51"."group_id",
    "t51"."staff",
    "t51"."change_type"
  FROM "t28" AS "t31"
  LEFT OUTER JOIN (
    SELECT
      "t47"."event_id" AS "f_event_id",
      COALESCE(
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'scene'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'state'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'State'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'channel'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = '$utm_source'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'utm_source'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'context.campaign.source')
      ) AS "channel",
      COALESCE(
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'campaign'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = '$utm_campaign'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'utm_campaign'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'context.campaign.name')
      ) AS "campaign",
      COALESCE(
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'chat_id'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'ChatId'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'group_id')
      ) AS "group_id",
      COALESCE(
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'staff_userid'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'UserID')
      ) AS "staff",
      COALESCE(
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'change_type'),
        MAX("t47"."text") FILTER(WHERE
          "t47"."key" = 'ChangeType')
      ) AS "change_type"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t36"."event_id",
            "t36"."e"."key" AS "key",
            "t36"."e"."text" AS "text"
          FROM (
            SELECT
              "t33".*
              REPLACE ("ibis_table_unnest_column_X" AS "e")
            FROM (
              SELECT
                "t30"."person_id",
                "t30"."event_id",
                "t30"."seq",
                "t30"."event_time",
                "t30"."type",
                "t30"."event",
                "t30"."protocol",
                "t30"."carrier",
                "t30"."app_id",
                ENTRIES_OF_N("t30"."properties") AS "e"
              FROM "t28" AS "t30"
            ) AS "t33"
            CROSS JOIN UNNEST("t33"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
          ) AS "t36"
        ) AS "t38"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t43"."event_id",
            'context.campaign.' || "t43"."e"."key" AS "key",
            "t43"."e"."text" AS "text"
          FROM (
            SELECT
              "t40".*
              REPLACE ("ibis_table_unnest_column_X" AS "e")
            FROM (
              SELECT
                "t39"."person_id",
                "t39"."event_id",
                "t39"."seq",
                "t39"."event_time",
                "t39"."type",
                "t39"."event",
                "t39"."protocol",
                "t39"."carrier",
                "t39"."app_id",
                ENTRIES_OF_N("t39"."doc") AS "e"
              FROM (
                SELECT
                  "t34"."person_id",
                  "t34"."event_id",
                  "t34"."seq",
                  "t34"."event_time",
                  "t34"."type",
                  "t34"."event",
                  "t34"."protocol",
                  "t34"."carrier",
                  "t34"."app_id",
                  "t34"."e"."key" AS "key",
                  "t34"."e"."label" AS "label",
                  "t34"."e"."position" AS "position",
                  "t34"."e"."value" AS "doc",
                  "t34"."e"."text" AS "text",
                  "t34"."e"."number" AS "number"
                FROM (
                  SELECT
                    "t32".*
                    REPLACE ("ibis_table_unnest_column_X" AS "e")
                  FROM (
                    SELECT
                      "t29"."person_id",
                      "t29"."event_id",
                      "t29"."seq",
                      "t29"."event_time",
                      "t29"."type",
                      "t29"."event",
                      "t29"."protocol",
                      "t29"."carrier",
                      "t29"."app_id",
                      ENTRIES_OF_N("t29"."context") AS "e"
                    FROM (
                      SELECT
                        "t15"."person_id",
                        "t15"."event_id",
                        "t15"."seq",
                        "t15"."event_time",
                        "t15"."type",
                        "t15"."event",
                        "t15"."protocol",
                        "t15"."carrier",
                        "t15"."app_id",
                        "t15"."properties",
                        "t15"."context"
                      FROM (
                        SELECT
                          "t14".*
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
                            "t13"."actor_seq",
                            "t13"."person_id"
                          FROM "events" AS "t5"
                          LEFT OUTER JOIN (
                            SELECT
                              "t11"."seq" AS "actor_seq",
                              "t4"."person_id"
                            FROM (
                              SELECT
                                *
                              FROM "identity_links" AS "t3"
                              WHERE
                                "t3"."kind" = 'node'
                            ) AS "t11"
                            INNER JOIN "identities" AS "t4"
                              ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
                          ) AS "t13"
                            ON "t5"."seq" = "t13"."actor_seq"
                        ) AS "t14"
                      ) AS "t15"
                      WHERE
                        "t15"."person_id" IS NOT NULL
                        AND (
                          "t15"."event" IN (
                            'subscribe',
                            'unsubscribe',
                            'change_external_contact',
                            'add_external_contact',
                            'add_half_external_contact',
                            'del_external_contact',
                            'del_follow_user',
                            'join_group',
                            'leave_group',
                            'quit_group'
                          )
                          OR (
                            "t15"."type" = 'group'
                          )
                          OR (
                            FALSE
                            OR CONTAINS("t15"."properties", '"scene"')
                            OR CONTAINS("t15"."properties", '"state"')
                            OR CONTAINS("t15"."properties", '"State"')
                            OR CONTAINS("t15"."properties", '"channel"')
                            OR CONTAINS("t15"."properties", '"$utm_source"')
                            OR CONTAINS("t15"."properties", '"utm_source"')
                            OR CONTAINS("t15"."properties", '"campaign"')
                            OR CONTAINS("t15"."properties", '"$utm_campaign"')
                            OR CONTAINS("t15"."properties", '"utm_campaign"')
                            OR CONTAINS("t15"."properties", '"chat_id"')
                            OR CONTAINS("t15"."properties", '"ChatId"')
                            OR CONTAINS("t15"."properties", '"group_id"')
                            OR CONTAINS("t15"."properties", '"staff_userid"')
                            OR CONTAINS("t15"."properties", '"UserID"')
                            OR CONTAINS("t15"."properties", '"change_type"')
                            OR CONTAINS("t15"."properties", '"ChangeType"')
                          )
                          OR (
                            FALSE OR CONTAINS("t15"."context", '"campaign"')
                          )
                        )
                        AND (
                          FALSE OR CONTAINS("t15"."context", '"campaign"')
                        )
                    ) AS "t29"
                  ) AS "t32"
                  CROSS JOIN UNNEST("t32"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                ) AS "t34"
                WHERE
                  "t34"."e"."key" = 'campaign'
              ) AS "t39"
            ) AS "t40"
            CROSS JOIN UNNEST("t40"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
          ) AS "t43"
        ) AS "t45"
      ) AS "t46"
      WHERE
        "t46"."text" IS NOT NULL AND "t46"."text" <> ''
    ) AS "t47"
    GROUP BY
      1
  ) AS "t51"
    ON "t31"."event_id" = "t51"."f_event_id"
), "t76" AS (
  SELECT
    "t71"."person_id",
    "t71"."event_time",
    "t71"."seq",
    "t71"."action",
    "t71"."key",
    "t71"."label",
    "t71"."value",
    "t71"."number",
    "t71"."rank",
    "t71"."m",
    "t71"."gone",
    "t71"."unset",
    "t71"."first",
    MAX("t71"."m") FILTER(WHERE
      "t71"."action" IN ('set', 'set_once')) OVER (
      PARTITION BY "t71"."person_id", "t71"."key"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "base"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t61"."person_id",
        "t61"."event_time",
        "t61"."seq",
        "t61"."action",
        "t61"."key",
        "t61"."label",
        "t61"."value",
        "t61"."number",
        "t61"."rank",
        "t61"."m",
        "t61"."gone",
        "t61"."unset",
        MIN("t61"."m") OVER (
          PARTITION BY "t61"."person_id", "t61"."key"
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS "first"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t52"."person_id",
            "t52"."event_time",
            "t52"."seq",
            "t52"."action",
            "t52"."key",
            "t52"."label",
            "t52"."value",
            "t52"."number",
            "t52"."rank",
            "t52"."m",
            "t52"."gone",
            MAX("t52"."m") FILTER(WHERE
              "t52"."action" = 'unset') OVER (
              PARTITION BY "t52"."person_id", "t52"."key"
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) AS "unset"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t48"."person_id",
                "t48"."event_time",
                "t48"."seq",
                "t48"."action",
                "t48"."key",
                "t48"."label",
                "t48"."value",
                "t48"."number",
                "t48"."rank",
                "t48"."m",
                MAX("t48"."m") FILTER(WHERE
                  "t48"."action" = 'delete') OVER (
                  PARTITION BY "t48"."person_id"
                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                ) AS "gone"
              FROM (
                SELECT
                  "t44"."person_id",
                  "t44"."event_time",
                  "t44"."seq",
                  "t44"."action",
                  "t44"."key",
                  "t44"."label",
                  "t44"."value",
                  "t44"."number",
                  "t44"."rank",
                  ROW_NUMBER() OVER (
                    PARTITION BY "t44"."person_id"
                    ORDER BY "t44"."event_time" ASC, "t44"."seq" ASC, "t44"."rank" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                  ) - 1 AS "m"
                FROM (
                  SELECT
                    "t42"."person_id",
                    "t42"."event_time",
                    "t42"."seq",
                    "t42"."action",
                    "t42"."key",
                    "t42"."label",
                    "t42"."value",
                    "t42"."number",
                    CASE "t42"."action"
                      WHEN 'set_once'
                      THEN 0
                      WHEN 'set'
                      THEN 1
                      WHEN 'increment'
                      THEN 1
                      WHEN 'append'
                      THEN 1
                      WHEN 'unset'
                      THEN 2
                      ELSE 3
                    END AS "rank"
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        "t37"."person_id",
                        "t37"."event_time",
                        "t37"."seq",
                        CASE
                          WHEN "t37"."protocol" = 'posthog'
                          THEN CASE "t37"."key"
                            WHEN '$set_once'
                            THEN 'set_once'
                            WHEN '$set'
                            THEN 'set'
                            WHEN '$unset'
                            THEN 'unset'
                            ELSE "t37"."key"
                          END
                          ELSE CASE "t37"."type"
                            WHEN 'identify'
                            THEN 'set'
                            WHEN 'profile_set'
                            THEN 'set'
                            WHEN 'profile_set_once'
                            THEN 'set_once'
                            WHEN 'profile_increment'
                            THEN 'increment'
                            WHEN 'profile_append'
                            THEN 'append'
                            WHEN 'profile_unset'
                            THEN 'unset'
                            ELSE "t37"."type"
                          END
                        END AS "action",
                        CASE
                          WHEN (
                            "t37"."protocol" = 'posthog'
                          ) AND (
                            "t37"."key" = '$unset'
                          )
                          THEN "t37"."e"."text"
                          WHEN "t37"."protocol" = 'posthog'
                          THEN "t37"."e"."key"
                          ELSE "t37"."key"
                        END AS "key",
                        CASE WHEN "t37"."protocol" = 'posthog' THEN "t37"."e"."label" ELSE "t37"."label" END AS "label",
                        CASE WHEN "t37"."protocol" = 'posthog' THEN "t37"."e"."value" ELSE "t37"."value" END AS "value",
                        CASE
                          WHEN "t37"."protocol" = 'posthog'
                          THEN "t37"."e"."number"
                          ELSE "t37"."number"
                        END AS "number"
                      FROM (
                        SELECT
                          "t35".*
                          REPLACE ("ibis_table_unnest_column_X" AS "e")
                        FROM (
                          SELECT
                            "t27"."person_id",
                            "t27"."event_time",
                            "t27"."seq",
                            "t27"."type",
                            "t27"."protocol",
                            "t27"."key",
                            "t27"."label",
                            "t27"."value",
                            "t27"."number",
                            ENTRIES_OF_N(
                              CASE
                                WHEN (
                                  "t27"."protocol" = 'posthog'
                                )
                                AND "t27"."key" IN ('$set_once', '$set', '$unset')
                                THEN "t27"."value"
                                ELSE CAST(NULL AS TEXT)
                              END
                            ) AS "e"
                          FROM (
                            SELECT
                              "t26"."person_id",
                              "t26"."event_id",
                              "t26"."seq",
                              "t26"."event_time",
                              "t26"."type",
                              "t26"."event",
                              "t26"."protocol",
                              "t26"."carrier",
                              "t26"."app_id",
                              "t26"."e"."key" AS "key",
                              "t26"."e"."label" AS "label",
                              "t26"."e"."position" AS "position",
                              "t26"."e"."value" AS "value",
                              "t26"."e"."text" AS "text",
                              "t26"."e"."number" AS "number"
                            FROM (
                              SELECT
                                "t22".*
                                REPLACE ("ibis_table_unnest_column_X" AS "e")
                              FROM (
                                SELECT
                                  "t20"."person_id",
                                  "t20"."event_id",
                                  "t20"."seq",
                                  "t20"."event_time",
                                  "t20"."type",
                                  "t20"."event",
                                  "t20"."protocol",
                                  "t20"."carrier",
                                  "t20"."app_id",
                                  ENTRIES_OF_N("t20"."properties") AS "e"
                                FROM (
                                  SELECT
                                    *
                                  FROM (
                                    SELECT
                                      "t14".*
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
                                        "t13"."actor_seq",
                                        "t13"."person_id"
                                      FROM "events" AS "t5"
                                      LEFT OUTER JOIN (
                                        SELECT
                                          "t11"."seq" AS "actor_seq",
                                          "t4"."person_id"
                                        FROM (
                                          SELECT
                                            *
                                          FROM "identity_links" AS "t3"
                                          WHERE
                                            "t3"."kind" = 'node'
                                        ) AS "t11"
                                        INNER JOIN "identities" AS "t4"
                                          ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
                                      ) AS "t13"
                                        ON "t5"."seq" = "t13"."actor_seq"
                                    ) AS "t14"
                                  ) AS "t15"
                                  WHERE
                                    "t15"."person_id" IS NOT NULL
                                    AND (
                                      (
                                        (
                                          "t15"."protocol" = 'posthog'
                                        )
                                        AND (
                                          FALSE
                                          OR CONTAINS("t15"."properties", '"$set_once"')
                                          OR CONTAINS("t15"."properties", '"$set"')
                                          OR CONTAINS("t15"."properties", '"$unset"')
                                        )
                                      )
                                      OR (
                                        (
                                          "t15"."protocol" <> 'posthog'
                                        )
                                        AND "t15"."type" IN (
                                          'identify',
                                          'profile_set',
                                          'profile_set_once',
                                          'profile_increment',
                                          'profile_append',
                                          'profile_unset'
                                        )
                                      )
                                    )
                                ) AS "t20"
                              ) AS "t22"
                              CROSS JOIN UNNEST("t22"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                            ) AS "t26"
                            WHERE
                              (
                                (
                                  "t26"."protocol" = 'posthog'
                                )
                                AND "t26"."e"."key" IN ('$set_once', '$set', '$unset')
                              )
                              OR (
                                (
                                  "t26"."protocol" <> 'posthog'
                                )
                                AND NOT (
                                  "t26"."e"."key" IN (
                                    '$is_login_id',
                                    '$lib',
                                    '$lib_version',
                                    '$lib_method',
                                    '$lib_detail',
                                    '$app_id',
                                    '$project',
                                    '$token'
                                  )
                                )
                              )
                          ) AS "t27"
                        ) AS "t35"
                        LEFT JOIN UNNEST("t35"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                          ON TRUE
                      ) AS "t37"
                    ) AS "t41"
                    UNION ALL
                    SELECT
                      *
                    FROM (
                      SELECT
                        "t15"."person_id",
                        "t15"."event_time",
                        "t15"."seq",
                        'delete' AS "action",
                        CAST(NULL AS TEXT) AS "key",
                        CAST(NULL AS TEXT) AS "label",
                        CAST(NULL AS TEXT) AS "value",
                        CAST(NULL AS DOUBLE) AS "number"
                      FROM (
                        SELECT
                          "t14".*
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
                            "t13"."actor_seq",
                            "t13"."person_id"
                          FROM "events" AS "t5"
                          LEFT OUTER JOIN (
                            SELECT
                              "t11"."seq" AS "actor_seq",
                              "t4"."person_id"
                            FROM (
                              SELECT
                                *
                              FROM "identity_links" AS "t3"
                              WHERE
                                "t3"."kind" = 'node'
                            ) AS "t11"
                            INNER JOIN "identities" AS "t4"
                              ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
                          ) AS "t13"
                            ON "t5"."seq" = "t13"."actor_seq"
                        ) AS "t14"
                      ) AS "t15"
                      WHERE
                        "t15"."person_id" IS NOT NULL AND "t15"."type" = 'profile_delete'
                    ) AS "t18"
                  ) AS "t42"
                  WHERE
                    (
                      (
                        "t42"."key" IS NOT NULL
                      ) OR (
                        "t42"."action" = 'delete'
                      )
                    )
                    AND (
                      (
                        "t42"."action" <> 'increment'
                      ) OR (
                        "t42"."number" IS NOT NULL
                      )
                    )
                ) AS "t44"
              ) AS "t48"
            ) AS "t50"
            WHERE
              "t50"."action" <> 'delete'
              AND (
                (
                  "t50"."gone" IS NULL
                ) OR (
                  "t50"."m" > "t50"."gone"
                )
              )
          ) AS "t52"
        ) AS "t57"
        WHERE
          "t57"."action" <> 'unset'
          AND (
            (
              "t57"."unset" IS NULL
            ) OR (
              "t57"."m" > "t57"."unset"
            )
          )
      ) AS "t61"
    ) AS "t66"
    WHERE
      (
        "t66"."action" <> 'set_once'
      ) OR (
        "t66"."m" = "t66"."first"
      )
  ) AS "t71"
)
SELECT
  "t114"."person_id"
FROM (
  SELECT
    "t10"."person_id",
    "t113"."_pid0",
    "t113"."f0"
  FROM (
    SELECT DISTINCT
      "t0"."person_id"
    FROM "identities" AS "t0"
    WHERE
      NOT (
        "t0"."junk"
      )
  ) AS "t10"
  LEFT OUTER JOIN (
    SELECT
      "t111"."person_id" AS "_pid0",
      "t111"."f0"
    FROM (
      SELECT
        "t110"."person_id",
        LOWER("t110"."properties" ->> '$.vip') = 'true' AS "f0"
      FROM (
        SELECT
          "t109"."person_id",
          COALESCE("t109"."properties", '{}') AS "properties",
          "t109"."first_seen",
          "t109"."last_seen",
          "t109"."event_count",
          "t109"."active_days",
          "t109"."first_source_id",
          "t109"."first_carrier",
          "t109"."first_channel",
          "t109"."first_campaign",
          "t109"."latest_source_id",
          "t109"."latest_carrier",
          "t109"."latest_channel",
          "t109"."latest_campaign",
          COALESCE("t109"."follows_oa", FALSE) AS "follows_oa",
          COALESCE("t109"."wecom_contact", FALSE) AS "wecom_contact",
          COALESCE("t109"."groups", []) AS "groups",
          "t109"."has_app",
          "t109"."has_mp",
          "t109"."carriers"
        FROM (
          SELECT
            "t108".*
            EXCLUDE ("person_id_right")
          FROM (
            SELECT
              "t95"."person_id",
              "t95"."first_seen",
              "t95"."last_seen",
              "t95"."event_count",
              "t95"."active_days",
              "t95"."first_source_id",
              "t95"."first_carrier",
              "t95"."latest_source_id",
              "t95"."latest_carrier",
              "t95"."has_app",
              "t95"."has_mp",
              "t95"."carriers",
              "t95"."first_channel",
              "t95"."first_campaign",
              "t95"."latest_channel",
              "t95"."latest_campaign",
              "t95"."follows_oa",
              "t95"."wecom_contact",
              "t95"."groups",
              "t107"."person_id" AS "person_id_right",
              "t107"."properties"
            FROM (
              SELECT
                "t91".*
                EXCLUDE ("person_id_right")
              FROM (
                SELECT
                  "t88"."person_id",
                  "t88"."first_seen",
                  "t88"."last_seen",
                  "t88"."event_count",
                  "t88"."active_days",
                  "t88"."first_source_id",
                  "t88"."first_carrier",
                  "t88"."latest_source_id",
                  "t88"."latest_carrier",
                  "t88"."has_app",
                  "t88"."has_mp",
                  "t88"."carriers",
                  "t88"."first_channel",
                  "t88"."first_campaign",
                  "t88"."latest_channel",
                  "t88"."latest_campaign",
                  "t88"."follows_oa",
                  "t88"."wecom_contact",
                  "t72"."person_id" AS "person_id_right",
                  "t72"."groups"
                FROM (
                  SELECT
                    "t84".*
                    EXCLUDE ("person_id_right")
                  FROM (
                    SELECT
                      "t80"."person_id",
                      "t80"."first_seen",
                      "t80"."last_seen",
                      "t80"."event_count",
                      "t80"."active_days",
                      "t80"."first_source_id",
                      "t80"."first_carrier",
                      "t80"."latest_source_id",
                      "t80"."latest_carrier",
                      "t80"."has_app",
                      "t80"."has_mp",
                      "t80"."carriers",
                      "t80"."first_channel",
                      "t80"."first_campaign",
                      "t80"."latest_channel",
                      "t80"."latest_campaign",
                      "t80"."follows_oa",
                      "t69"."person_id" AS "person_id_right",
                      "t69"."wecom_contact"
                    FROM (
                      SELECT
                        "t78".*
                        EXCLUDE ("person_id_right")
                      FROM (
                        SELECT
                          "t75"."person_id",
                          "t75"."first_seen",
                          "t75"."last_seen",
                          "t75"."event_count",
                          "t75"."active_days",
                          "t75"."first_source_id",
                          "t75"."first_carrier",
                          "t75"."latest_source_id",
                          "t75"."latest_carrier",
                          "t75"."has_app",
                          "t75"."has_mp",
                          "t75"."carriers",
                          "t75"."first_channel",
                          "t75"."first_campaign",
                          "t75"."latest_channel",
                          "t75"."latest_campaign",
                          "t23"."person_id" AS "person_id_right",
                          "t23"."follows_oa"
                        FROM (
                          SELECT
                            "t73".*
                            EXCLUDE ("person_id_right")
                          FROM (
                            SELECT
                              "t25"."person_id",
                              "t25"."first_seen",
                              "t25"."last_seen",
                              "t25"."event_count",
                              "t25"."active_days",
                              "t25"."first_source_id",
                              "t25"."first_carrier",
                              "t25"."latest_source_id",
                              "t25"."latest_carrier",
                              "t25"."has_app",
                              "t25"."has_mp",
                              "t25"."carriers",
                              "t68"."person_id" AS "person_id_right",
                              "t68"."first_channel",
                              "t68"."first_campaign",
                              "t68"."latest_channel",
                              "t68"."latest_campaign"
                            FROM (
                              SELECT
                                "t17"."person_id",
                                MIN("t17"."event_time") AS "first_seen",
                                MAX("t17"."event_time") AS "last_seen",
                                COUNT(*) AS "event_count",
                                COUNT(
                                  DISTINCT CAST(FLOOR(
                                    (
                                      CAST(EPOCH(CAST(DATE_TRUNC('SECOND', "t17"."event_time") AS TIMESTAMP)) AS BIGINT) + 28800
                                    ) / (
                                      86400
                                    )
                                  ) AS BIGINT)
                                ) AS "active_days",
                                FIRST("t17"."source_id" ORDER BY {'t': "t17"."event_time", 's': "t17"."seq"}) AS "first_source_id",
                                FIRST("t17"."carrier" ORDER BY {'t': "t17"."event_time", 's': "t17"."seq"}) AS "first_carrier",
                                FIRST("t17"."source_id" ORDER BY {'t': "t17"."event_time", 's': "t17"."seq"} DESC) AS "latest_source_id",
                                FIRST("t17"."carrier" ORDER BY {'t': "t17"."event_time", 's': "t17"."seq"} DESC) AS "latest_carrier",
                                BOOL_OR(CAST("t17"."carrier" = 'app' AS BOOLEAN)) AS "has_app",
                                BOOL_OR(CAST("t17"."carrier" = 'mp' AS BOOLEAN)) AS "has_mp",
                                LIST_SORT(ARRAY_AGG(DISTINCT "t17"."carrier") FILTER(WHERE
                                  "t17"."carrier" IS NOT NULL)) AS "carriers"
                              FROM (
                                SELECT
                                  *
                                FROM (
                                  SELECT
                                    "t14".*
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
                                      "t13"."actor_seq",
                                      "t13"."person_id"
                                    FROM "events" AS "t5"
                                    LEFT OUTER JOIN (
                                      SELECT
                                        "t11"."seq" AS "actor_seq",
                                        "t4"."person_id"
                                      FROM (
                                        SELECT
                                          *
                                        FROM "identity_links" AS "t3"
                                        WHERE
                                          "t3"."kind" = 'node'
                                      ) AS "t11"
                                      INNER JOIN "identities" AS "t4"
                                        ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
                                    ) AS "t13"
                                      ON "t5"."seq" = "t13"."actor_seq"
                                  ) AS "t14"
                                ) AS "t15"
                                WHERE
                                  "t15"."person_id" IS NOT NULL
                              ) AS "t17"
                              GROUP BY
                                1
                            ) AS "t25"
                            LEFT OUTER JOIN (
                              SELECT
                                "t60"."person_id",
                                FIRST("t60"."channel" ORDER BY {'t': "t60"."event_time", 's': "t60"."seq"}) FILTER(WHERE
                                  "t60"."channel" IS NOT NULL) AS "first_channel",
                                FIRST("t60"."campaign" ORDER BY {'t': "t60"."event_time", 's': "t60"."seq"}) FILTER(WHERE
                                  "t60"."campaign" IS NOT NULL) AS "first_campaign",
                                FIRST("t60"."channel" ORDER BY {'t': "t60"."event_time", 's': "t60"."seq"} DESC) FILTER(WHERE
                                  "t60"."channel" IS NOT NULL) AS "latest_channel",
                                FIRST("t60"."campaign" ORDER BY {'t': "t60"."event_time", 's': "t60"."seq"} DESC) FILTER(WHERE
                                  "t60"."campaign" IS NOT NULL) AS "latest_campaign"
                              FROM (
                                SELECT
                                  "t56"."person_id",
                                  "t56"."event_time",
                                  "t56"."seq",
                                  "t56"."channel",
                                  COALESCE("t56"."campaign", "t8"."code_campaign") AS "campaign"
                                FROM (
                                  SELECT
                                    "t54"."person_id",
                                    "t54"."event_time",
                                    "t54"."seq",
                                    "t54"."channel",
                                    "t54"."campaign"
                                  FROM "t53" AS "t54"
                                ) AS "t56"
                                LEFT OUTER JOIN (
                                  SELECT
                                    "t2"."code",
                                    "t2"."campaign" AS "code_campaign"
                                  FROM "channels" AS "t2"
                                ) AS "t8"
                                  ON "t56"."channel" = "t8"."code"
                              ) AS "t60"
                              GROUP BY
                                1
                            ) AS "t68"
                              ON "t25"."person_id" = "t68"."person_id"
                          ) AS "t73"
                        ) AS "t75"
                        LEFT OUTER JOIN (
                          SELECT
                            "t19"."person_id",
                            BOOL_OR(CAST("t19"."on" AS BOOLEAN)) AS "follows_oa"
                          FROM (
                            SELECT
                              "t16"."person_id",
                              "t16"."app_id",
                              FIRST(
                                "t16"."event" = 'subscribe' ORDER BY {'t': "t16"."event_time", 's': "t16"."seq"} DESC
                              ) AS "on"
                            FROM (
                              SELECT
                                *
                              FROM (
                                SELECT
                                  "t14".*
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
                                    "t13"."actor_seq",
                                    "t13"."person_id"
                                  FROM "events" AS "t5"
                                  LEFT OUTER JOIN (
                                    SELECT
                                      "t11"."seq" AS "actor_seq",
                                      "t4"."person_id"
                                    FROM (
                                      SELECT
                                        *
                                      FROM "identity_links" AS "t3"
                                      WHERE
                                        "t3"."kind" = 'node'
                                    ) AS "t11"
                                    INNER JOIN "identities" AS "t4"
                                      ON "t11"."a_type" = "t4"."identity_type" AND "t11"."a_value" = "t4"."identity_value"
                                  ) AS "t13"
                                    ON "t5"."seq" = "t13"."actor_seq"
                                ) AS "t14"
                              ) AS "t15"
                              WHERE
                                "t15"."person_id" IS NOT NULL
                                AND "t15"."carrier" = 'oa'
                                AND "t15"."event" IN ('subscribe', 'unsubscribe')
                            ) AS "t16"
                            GROUP BY
                              1,
                              2
                          ) AS "t19"
                          GROUP BY
                            1
                        ) AS "t23"
                          ON "t75"."person_id" = "t23"."person_id"
                      ) AS "t78"
                    ) AS "t80"
                    LEFT OUTER JOIN (
                      SELECT
                        "t63"."person_id",
                        BOOL_OR(CAST("t63"."on" AS BOOLEAN)) AS "wecom_contact"
                      FROM (
                        SELECT
                          "t59"."person_id",
                          "t59"."staff",
                          FIRST(
                            "t59"."action" IN ('add_external_contact', 'add_half_external_contact') ORDER BY {'t': "t59"."event_time", 's': "t59"."seq"} DESC
                          ) AS "on"
                        FROM (
                          SELECT
                            "t54"."person_id",
                            "t54"."event_id",
                            "t54"."seq",
                            "t54"."event_time",
                            "t54"."type",
                            "t54"."event",
                            "t54"."protocol",
                            "t54"."carrier",
                            "t54"."app_id",
                            "t54"."channel",
                            "t54"."campaign",
                            "t54"."group_id",
                            "t54"."staff",
                            "t54"."change_type",
                            CASE
                              WHEN "t54"."event" = 'change_external_contact'
                              THEN "t54"."change_type"
                              ELSE "t54"."event"
                            END AS "action"
                          FROM "t53" AS "t54"
                          WHERE
                            "t54"."carrier" = 'wecom'
                            AND CASE
                              WHEN "t54"."event" = 'change_external_contact'
                              THEN "t54"."change_type"
                              ELSE "t54"."event"
                            END IN (
                              'add_external_contact',
                              'add_half_external_contact',
                              'del_external_contact',
                              'del_follow_user'
                            )
                        ) AS "t59"
                        GROUP BY
                          1,
                          2
                      ) AS "t63"
                      GROUP BY
                        1
                    ) AS "t69"
                      ON "t80"."person_id" = "t69"."person_id"
                  ) AS "t84"
                ) AS "t88"
                LEFT OUTER JOIN (
                  SELECT
                    "t64"."person_id",
                    LIST_SORT(ARRAY_AGG("t64"."group_id") FILTER(WHERE
                      "t64"."group_id" IS NOT NULL)) AS "groups"
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        "t58"."person_id",
                        "t58"."group_id",
                        FIRST(
                          NOT (
                            "t58"."event" IN ('leave_group', 'quit_group')
                          ) ORDER BY {'t': "t58"."event_time", 's': "t58"."seq"} DESC
                        ) AS "inside"
                      FROM (
                        SELECT
                          *
                        FROM "t53" AS "t54"
                        WHERE
                          "t54"."group_id" IS NOT NULL
                          AND (
                            "t54"."event" IN ('join_group', 'leave_group', 'quit_group')
                            OR (
                              "t54"."type" = 'group'
                            )
                          )
                      ) AS "t58"
                      GROUP BY
                        1,
                        2
                    ) AS "t62"
                    WHERE
                      "t62"."inside"
                  ) AS "t64"
                  GROUP BY
                    1
                ) AS "t72"
                  ON "t88"."person_id" = "t72"."person_id"
              ) AS "t91"
            ) AS "t95"
            LEFT OUTER JOIN (
              SELECT
                "t105"."person_id",
                '{' || ARRAY_TO_STRING(
                  LIST_APPLY(
                    LIST_SORT("t105"."members"),
                    LAMBDA __ibis_param_s__ : (
                      __ibis_param_s__
                    )."member"
                  ),
                  ','
                ) || '}' AS "properties"
              FROM (
                SELECT
                  "t104"."person_id",
                  ARRAY_AGG({'key': "t104"."key", 'member': "t104"."label" || ':' || "t104"."value"}) FILTER(WHERE
                    {'key': "t104"."key", 'member': "t104"."label" || ':' || "t104"."value"} IS NOT NULL) AS "members"
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t102"."person_id",
                      "t102"."key",
                      "t102"."label",
                      "t102"."base",
                      "t102"."base_number",
                      "t102"."inc",
                      "t102"."has_inc",
                      "t102"."has_append",
                      "t102"."list_json",
                      CASE
                        WHEN (
                          "t102"."base" IS NULL
                        ) AND "t102"."has_inc"
                        THEN CASE
                          WHEN (
                            "t102"."inc" = CAST(FLOOR("t102"."inc") AS BIGINT)
                          )
                          AND (
                            ABS("t102"."inc") < 9007199254740992
                          )
                          THEN CAST(CAST("t102"."inc" AS BIGINT) AS TEXT)
                          ELSE CAST("t102"."inc" AS TEXT)
                        END
                        WHEN (
                          "t102"."base" IS NULL
                        ) AND "t102"."has_append"
                        THEN "t102"."list_json"
                        WHEN (
                          "t102"."base_number" IS NOT NULL
                        ) AND "t102"."has_inc"
                        THEN CASE
                          WHEN (
                            (
                              "t102"."base_number" + "t102"."inc"
                            ) = CAST(FLOOR("t102"."base_number" + "t102"."inc") AS BIGINT)
                          )
                          AND (
                            ABS("t102"."base_number" + "t102"."inc") < 9007199254740992
                          )
                          THEN CAST(CAST("t102"."base_number" + "t102"."inc" AS BIGINT) AS TEXT)
                          ELSE CAST("t102"."base_number" + "t102"."inc" AS TEXT)
                        END
                        WHEN STARTS_WITH("t102"."base", '[') AND "t102"."has_append"
                        THEN "t102"."list_json"
                        ELSE "t102"."base"
                      END AS "value"
                    FROM (
                      SELECT
                        "t101".*
                        EXCLUDE ("key_right", "person_id_right")
                      FROM (
                        SELECT
                          "t89"."person_id",
                          "t89"."key",
                          "t89"."label",
                          "t89"."base",
                          "t89"."base_number",
                          "t89"."inc",
                          "t89"."has_inc",
                          "t89"."has_append",
                          "t100"."person_id" AS "person_id_right",
                          "t100"."key" AS "key_right",
                          "t100"."list_json"
                        FROM (
                          SELECT
                            "t81"."person_id",
                            "t81"."key",
                            MAX("t81"."label") AS "label",
                            MAX("t81"."value") FILTER(WHERE
                              "t81"."action" IN ('set', 'set_once')) AS "base",
                            MAX("t81"."number") FILTER(WHERE
                              "t81"."action" IN ('set', 'set_once')) AS "base_number",
                            SUM("t81"."number") FILTER(WHERE
                              "t81"."action" = 'increment') AS "inc",
                            BOOL_OR(CAST("t81"."action" = 'increment' AS BOOLEAN)) AS "has_inc",
                            BOOL_OR(CAST("t81"."action" = 'append' AS BOOLEAN)) AS "has_append"
                          FROM (
                            SELECT
                              *
                            FROM "t76" AS "t77"
                            WHERE
                              (
                                "t77"."base" IS NULL
                              ) OR (
                                "t77"."m" >= "t77"."base"
                              )
                          ) AS "t81"
                          GROUP BY
                            1,
                            2
                        ) AS "t89"
                        LEFT OUTER JOIN (
                          SELECT
                            "t98"."person_id",
                            "t98"."key",
                            '[' || ARRAY_TO_STRING(
                              LIST_APPLY(
                                LIST_SORT("t98"."entries"),
                                LAMBDA __ibis_param_s__ : (
                                  __ibis_param_s__
                                )."item"
                              ),
                              ','
                            ) || ']' AS "list_json"
                          FROM (
                            SELECT
                              "t97"."person_id",
                              "t97"."key",
                              ARRAY_AGG({'m': "t97"."m", 'pos': "t97"."pos", 'item': "t97"."item"}) FILTER(WHERE
                                {'m': "t97"."m", 'pos': "t97"."pos", 'item': "t97"."item"} IS NOT NULL) AS "entries"
                            FROM (
                              SELECT
                                *
                              FROM (
                                SELECT
                                  "t94"."person_id",
                                  "t94"."key",
                                  "t94"."m",
                                  "t94"."pos",
                                  "t94"."item",
                                  ROW_NUMBER() OVER (
                                    PARTITION BY "t94"."person_id", "t94"."key", "t94"."item"
                                    ORDER BY "t94"."m" ASC, "t94"."pos" ASC
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                                  ) - 1 AS "n"
                                FROM (
                                  SELECT
                                    *
                                  FROM (
                                    SELECT
                                      "t90"."person_id",
                                      "t90"."key",
                                      "t90"."m",
                                      "t90"."e"."position" AS "pos",
                                      "t90"."e"."value" AS "item"
                                    FROM (
                                      SELECT
                                        "t86".*
                                        REPLACE ("ibis_table_unnest_column_X" AS "e")
                                      FROM (
                                        SELECT
                                          "t83"."person_id",
                                          "t83"."key",
                                          "t83"."m",
                                          ENTRIES_OF_N("t83"."value") AS "e"
                                        FROM (
                                          SELECT
                                            *
                                          FROM "t76" AS "t77"
                                          WHERE
                                            (
                                              (
                                                "t77"."base" IS NULL
                                              ) OR (
                                                "t77"."m" >= "t77"."base"
                                              )
                                            )
                                            AND (
                                              (
                                                "t77"."action" = 'append'
                                              )
                                              OR (
                                                "t77"."action" IN ('set', 'set_once') AND STARTS_WITH("t77"."value", '[')
                                              )
                                            )
                                            AND STARTS_WITH("t77"."value", '[')
                                        ) AS "t83"
                                      ) AS "t86"
                                      CROSS JOIN UNNEST("t86"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                                    ) AS "t90"
                                  ) AS "t92"
                                  UNION ALL
                                  SELECT
                                    *
                                  FROM (
                                    SELECT
                                      "t77"."person_id",
                                      "t77"."key",
                                      "t77"."m",
                                      0 AS "pos",
                                      "t77"."value" AS "item"
                                    FROM "t76" AS "t77"
                                    WHERE
                                      (
                                        (
                                          "t77"."base" IS NULL
                                        ) OR (
                                          "t77"."m" >= "t77"."base"
                                        )
                                      )
                                      AND (
                                        (
                                          "t77"."action" = 'append'
                                        )
                                        OR (
                                          "t77"."action" IN ('set', 'set_once') AND STARTS_WITH("t77"."value", '[')
                                        )
                                      )
                                      AND NOT (
                                        STARTS_WITH("t77"."value", '[')
                                      )
                                  ) AS "t82"
                                ) AS "t94"
                              ) AS "t96"
                              WHERE
                                "t96"."n" = 0
                            ) AS "t97"
                            GROUP BY
                              1,
                              2
                          ) AS "t98"
                        ) AS "t100"
                          ON "t89"."person_id" = "t100"."person_id" AND "t89"."key" = "t100"."key"
                      ) AS "t101"
                    ) AS "t102"
                  ) AS "t103"
                  WHERE
                    "t103"."value" IS NOT NULL
                ) AS "t104"
                GROUP BY
                  1
              ) AS "t105"
            ) AS "t107"
              ON "t95"."person_id" = "t107"."person_id"
          ) AS "t108"
        ) AS "t109"
      ) AS "t110"
    ) AS "t111"
  ) AS "t113"
    ON "t10"."person_id" = "t113"."_pid0"
) AS "t114"
WHERE
  COALESCE("t114"."f0", FALSE)
