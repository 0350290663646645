WITH "t24" AS (
  SELECT
    "t11"."person_id",
    "t11"."event_id",
    "t11"."seq",
    "t11"."event_time",
    "t11"."type",
    "t11"."event",
    "t11"."protocol",
    "t11"."carrier",
    "t11"."app_id",
    "t11"."properties",
    "t11"."context"
  FROM (
    SELECT
      "t10".*
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
        "t7"."actor_key",
        "t7"."person_id"
      FROM "events" AS "t3"
      LEFT OUTER JOIN (
        SELECT
          "t0"."node_order" AS "actor_key",
          "t0"."person_id"
        FROM "identities" AS "t0"
      ) AS "t7"
        ON "t3"."actor" = "t7"."actor_key"
    ) AS "t10"
  ) AS "t11"
  WHERE
    "t11"."person_id" IS NOT NULL
    AND (
      "t11"."event" IN (
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
        "t11"."type" = 'group'
      )
      OR (
        FALSE
        OR CONTAINS("t11"."properties", '"scene"')
        OR CONTAINS("t11"."properties", '"state"')
        OR CONTAINS("t11"."properties", '"State"')
        OR CONTAINS("t11"."properties", '"channel"')
        OR CONTAINS("t11"."properties", '"$utm_source"')
        OR CONTAINS("t11"."properties", '"utm_source"')
        OR CONTAINS("t11"."properties", '"campaign"')
        OR CONTAINS("t11"."properties", '"$utm_campaign"')
        OR CONTAINS("t11"."properties", '"utm_campaign"')
        OR CONTAINS("t11"."properties", '"chat_id"')
        OR CONTAINS("t11"."properties", '"ChatId"')
        OR CONTAINS("t11"."properties", '"group_id"')
        OR CONTAINS("t11"."properties", '"staff_userid"')
        OR CONTAINS("t11"."properties", '"UserID"')
        OR CONTAINS("t11"."properties", '"change_type"')
        OR CONTAINS("t11"."properties", '"ChangeType"')
      )
      OR (
        FALSE OR CONTAINS("t11"."context", '"campaign"')
      )
    )
), "t49" AS (
  SELECT
    "t27"."person_id",
    "t27"."event_id",
    "t27"."seq",
    "t27"."event_time",
    "t27"."type",
    "t27"."event",
    "t27"."protocol",
    "t27"."carrier",
    "t27"."app_id",
    "t47"."channel",
    "t47"."campaign",
    "t47"."group_id",
    "t47"."staff",
    "t47"."change_type"
  FROM "t24" AS "t27"
  LEFT OUTER JOIN (
    SELECT
      "t43"."event_id" AS "f_event_id",
      COALESCE(
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'scene'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'state'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'State'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'channel'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = '$utm_source'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'utm_source'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'context.campaign.source')
      ) AS "channel",
      COALESCE(
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'campaign'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = '$utm_campaign'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'utm_campaign'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'context.campaign.name')
      ) AS "campaign",
      COALESCE(
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'chat_id'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'ChatId'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'group_id')
      ) AS "group_id",
      COALESCE(
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'staff_userid'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'UserID')
      ) AS "staff",
      COALESCE(
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'change_type'),
        MAX("t43"."text") FILTER(WHERE
          "t43"."key" = 'ChangeType')
      ) AS "change_type"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t32"."event_id",
            "t32"."e"."key" AS "key",
            "t32"."e"."text" AS "text"
          FROM (
            SELECT
              "t29".*
              REPLACE ("ibis_table_unnest_column_X" AS "e")
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
                ENTRIES_OF_N("t26"."properties") AS "e"
              FROM "t24" AS "t26"
            ) AS "t29"
            CROSS JOIN UNNEST("t29"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
          ) AS "t32"
        ) AS "t34"
        UNION ALL
        SELECT
          *
        FROM (
          SELECT
            "t39"."event_id",
            'context.campaign.' || "t39"."e"."key" AS "key",
            "t39"."e"."text" AS "text"
          FROM (
            SELECT
              "t36".*
              REPLACE ("ibis_table_unnest_column_X" AS "e")
            FROM (
              SELECT
                "t35"."person_id",
                "t35"."event_id",
                "t35"."seq",
                "t35"."event_time",
                "t35"."type",
                "t35"."event",
                "t35"."protocol",
                "t35"."carrier",
                "t35"."app_id",
                ENTRIES_OF_N("t35"."doc") AS "e"
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
                  "t30"."e"."key" AS "key",
                  "t30"."e"."label" AS "label",
                  "t30"."e"."position" AS "position",
                  "t30"."e"."value" AS "doc",
                  "t30"."e"."text" AS "text",
                  "t30"."e"."number" AS "number"
                FROM (
                  SELECT
                    "t28".*
                    REPLACE ("ibis_table_unnest_column_X" AS "e")
                  FROM (
                    SELECT
                      "t25"."person_id",
                      "t25"."event_id",
                      "t25"."seq",
                      "t25"."event_time",
                      "t25"."type",
                      "t25"."event",
                      "t25"."protocol",
                      "t25"."carrier",
                      "t25"."app_id",
                      ENTRIES_OF_N("t25"."context") AS "e"
                    FROM (
                      SELECT
                        "t11"."person_id",
                        "t11"."event_id",
                        "t11"."seq",
                        "t11"."event_time",
                        "t11"."type",
                        "t11"."event",
                        "t11"."protocol",
                        "t11"."carrier",
                        "t11"."app_id",
                        "t11"."properties",
                        "t11"."context"
                      FROM (
                        SELECT
                          "t10".*
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
                            "t7"."actor_key",
                            "t7"."person_id"
                          FROM "events" AS "t3"
                          LEFT OUTER JOIN (
                            SELECT
                              "t0"."node_order" AS "actor_key",
                              "t0"."person_id"
                            FROM "identities" AS "t0"
                          ) AS "t7"
                            ON "t3"."actor" = "t7"."actor_key"
                        ) AS "t10"
                      ) AS "t11"
                      WHERE
                        "t11"."person_id" IS NOT NULL
                        AND (
                          "t11"."event" IN (
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
                            "t11"."type" = 'group'
                          )
                          OR (
                            FALSE
                            OR CONTAINS("t11"."properties", '"scene"')
                            OR CONTAINS("t11"."properties", '"state"')
                            OR CONTAINS("t11"."properties", '"State"')
                            OR CONTAINS("t11"."properties", '"channel"')
                            OR CONTAINS("t11"."properties", '"$utm_source"')
                            OR CONTAINS("t11"."properties", '"utm_source"')
                            OR CONTAINS("t11"."properties", '"campaign"')
                            OR CONTAINS("t11"."properties", '"$utm_campaign"')
                            OR CONTAINS("t11"."properties", '"utm_campaign"')
                            OR CONTAINS("t11"."properties", '"chat_id"')
                            OR CONTAINS("t11"."properties", '"ChatId"')
                            OR CONTAINS("t11"."properties", '"group_id"')
                            OR CONTAINS("t11"."properties", '"staff_userid"')
                            OR CONTAINS("t11"."properties", '"UserID"')
                            OR CONTAINS("t11"."properties", '"change_type"')
                            OR CONTAINS("t11"."properties", '"ChangeType"')
                          )
                          OR (
                            FALSE OR CONTAINS("t11"."context", '"campaign"')
                          )
                        )
                        AND (
                          FALSE OR CONTAINS("t11"."context", '"campaign"')
                        )
                    ) AS "t25"
                  ) AS "t28"
                  CROSS JOIN UNNEST("t28"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                ) AS "t30"
                WHERE
                  "t30"."e"."key" = 'campaign'
              ) AS "t35"
            ) AS "t36"
            CROSS JOIN UNNEST("t36"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
          ) AS "t39"
        ) AS "t41"
      ) AS "t42"
      WHERE
        "t42"."text" IS NOT NULL AND "t42"."text" <> ''
    ) AS "t43"
    GROUP BY
      1
  ) AS "t47"
    ON "t27"."event_id" = "t47"."f_event_id"
), "t72" AS (
  SELECT
    "t67"."person_id",
    "t67"."event_time",
    "t67"."seq",
    "t67"."action",
    "t67"."key",
    "t67"."label",
    "t67"."value",
    "t67"."number",
    "t67"."rank",
    "t67"."m",
    "t67"."gone",
    "t67"."unset",
    "t67"."first",
    MAX("t67"."m") FILTER(WHERE
      "t67"."action" IN ('set', 'set_once')) OVER (
      PARTITION BY "t67"."person_id", "t67"."key"
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "base"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t57"."person_id",
        "t57"."event_time",
        "t57"."seq",
        "t57"."action",
        "t57"."key",
        "t57"."label",
        "t57"."value",
        "t57"."number",
        "t57"."rank",
        "t57"."m",
        "t57"."gone",
        "t57"."unset",
        MIN("t57"."m") OVER (
          PARTITION BY "t57"."person_id", "t57"."key"
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS "first"
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
            "t48"."gone",
            MAX("t48"."m") FILTER(WHERE
              "t48"."action" = 'unset') OVER (
              PARTITION BY "t48"."person_id", "t48"."key"
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) AS "unset"
          FROM (
            SELECT
              *
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
                "t44"."m",
                MAX("t44"."m") FILTER(WHERE
                  "t44"."action" = 'delete') OVER (
                  PARTITION BY "t44"."person_id"
                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                ) AS "gone"
              FROM (
                SELECT
                  "t40"."person_id",
                  "t40"."event_time",
                  "t40"."seq",
                  "t40"."action",
                  "t40"."key",
                  "t40"."label",
                  "t40"."value",
                  "t40"."number",
                  "t40"."rank",
                  ROW_NUMBER() OVER (
                    PARTITION BY "t40"."person_id"
                    ORDER BY "t40"."event_time" ASC, "t40"."seq" ASC, "t40"."rank" ASC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                  ) - 1 AS "m"
                FROM (
                  SELECT
                    "t38"."person_id",
                    "t38"."event_time",
                    "t38"."seq",
                    "t38"."action",
                    "t38"."key",
                    "t38"."label",
                    "t38"."value",
                    "t38"."number",
                    CASE "t38"."action"
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
                        "t33"."person_id",
                        "t33"."event_time",
                        "t33"."seq",
                        CASE
                          WHEN "t33"."protocol" = 'posthog'
                          THEN CASE "t33"."key"
                            WHEN '$set_once'
                            THEN 'set_once'
                            WHEN '$set'
                            THEN 'set'
                            WHEN '$unset'
                            THEN 'unset'
                            ELSE "t33"."key"
                          END
                          ELSE CASE "t33"."type"
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
                            ELSE "t33"."type"
                          END
                        END AS "action",
                        CASE
                          WHEN (
                            "t33"."protocol" = 'posthog'
                          ) AND (
                            "t33"."key" = '$unset'
                          )
                          THEN "t33"."e"."text"
                          WHEN "t33"."protocol" = 'posthog'
                          THEN "t33"."e"."key"
                          ELSE "t33"."key"
                        END AS "key",
                        CASE WHEN "t33"."protocol" = 'posthog' THEN "t33"."e"."label" ELSE "t33"."label" END AS "label",
                        CASE WHEN "t33"."protocol" = 'posthog' THEN "t33"."e"."value" ELSE "t33"."value" END AS "value",
                        CASE
                          WHEN "t33"."protocol" = 'posthog'
                          THEN "t33"."e"."number"
                          ELSE "t33"."number"
                        END AS "number"
                      FROM (
                        SELECT
                          "t31".*
                          REPLACE ("ibis_table_unnest_column_X" AS "e")
                        FROM (
                          SELECT
                            "t23"."person_id",
                            "t23"."event_time",
                            "t23"."seq",
                            "t23"."type",
                            "t23"."protocol",
                            "t23"."key",
                            "t23"."label",
                            "t23"."value",
                            "t23"."number",
                            ENTRIES_OF_N(
                              CASE
                                WHEN (
                                  "t23"."protocol" = 'posthog'
                                )
                                AND "t23"."key" IN ('$set_once', '$set', '$unset')
                                THEN "t23"."value"
                                ELSE CAST(NULL AS TEXT)
                              END
                            ) AS "e"
                          FROM (
                            SELECT
                              "t22"."person_id",
                              "t22"."event_id",
                              "t22"."seq",
                              "t22"."event_time",
                              "t22"."type",
                              "t22"."event",
                              "t22"."protocol",
                              "t22"."carrier",
                              "t22"."app_id",
                              "t22"."e"."key" AS "key",
                              "t22"."e"."label" AS "label",
                              "t22"."e"."position" AS "position",
                              "t22"."e"."value" AS "value",
                              "t22"."e"."text" AS "text",
                              "t22"."e"."number" AS "number"
                            FROM (
                              SELECT
                                "t18".*
                                REPLACE ("ibis_table_unnest_column_X" AS "e")
                              FROM (
                                SELECT
                                  "t16"."person_id",
                                  "t16"."event_id",
                                  "t16"."seq",
                                  "t16"."event_time",
                                  "t16"."type",
                                  "t16"."event",
                                  "t16"."protocol",
                                  "t16"."carrier",
                                  "t16"."app_id",
                                  ENTRIES_OF_N("t16"."properties") AS "e"
                                FROM (
                                  SELECT
                                    *
                                  FROM (
                                    SELECT
                                      "t10".*
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
                                        "t7"."actor_key",
                                        "t7"."person_id"
                                      FROM "events" AS "t3"
                                      LEFT OUTER JOIN (
                                        SELECT
                                          "t0"."node_order" AS "actor_key",
                                          "t0"."person_id"
                                        FROM "identities" AS "t0"
                                      ) AS "t7"
                                        ON "t3"."actor" = "t7"."actor_key"
                                    ) AS "t10"
                                  ) AS "t11"
                                  WHERE
                                    "t11"."person_id" IS NOT NULL
                                    AND (
                                      (
                                        (
                                          "t11"."protocol" = 'posthog'
                                        )
                                        AND (
                                          FALSE
                                          OR CONTAINS("t11"."properties", '"$set_once"')
                                          OR CONTAINS("t11"."properties", '"$set"')
                                          OR CONTAINS("t11"."properties", '"$unset"')
                                        )
                                      )
                                      OR (
                                        (
                                          "t11"."protocol" <> 'posthog'
                                        )
                                        AND "t11"."type" IN (
                                          'identify',
                                          'profile_set',
                                          'profile_set_once',
                                          'profile_increment',
                                          'profile_append',
                                          'profile_unset'
                                        )
                                      )
                                    )
                                ) AS "t16"
                              ) AS "t18"
                              CROSS JOIN UNNEST("t18"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                            ) AS "t22"
                            WHERE
                              (
                                (
                                  "t22"."protocol" = 'posthog'
                                )
                                AND "t22"."e"."key" IN ('$set_once', '$set', '$unset')
                              )
                              OR (
                                (
                                  "t22"."protocol" <> 'posthog'
                                )
                                AND NOT (
                                  "t22"."e"."key" IN (
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
                          ) AS "t23"
                        ) AS "t31"
                        LEFT JOIN UNNEST("t31"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                          ON TRUE
                      ) AS "t33"
                    ) AS "t37"
                    UNION ALL
                    SELECT
                      *
                    FROM (
                      SELECT
                        "t11"."person_id",
                        "t11"."event_time",
                        "t11"."seq",
                        'delete' AS "action",
                        CAST(NULL AS TEXT) AS "key",
                        CAST(NULL AS TEXT) AS "label",
                        CAST(NULL AS TEXT) AS "value",
                        CAST(NULL AS DOUBLE) AS "number"
                      FROM (
                        SELECT
                          "t10".*
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
                            "t7"."actor_key",
                            "t7"."person_id"
                          FROM "events" AS "t3"
                          LEFT OUTER JOIN (
                            SELECT
                              "t0"."node_order" AS "actor_key",
                              "t0"."person_id"
                            FROM "identities" AS "t0"
                          ) AS "t7"
                            ON "t3"."actor" = "t7"."actor_key"
                        ) AS "t10"
                      ) AS "t11"
                      WHERE
                        "t11"."person_id" IS NOT NULL AND "t11"."type" = 'profile_delete'
                    ) AS "t14"
                  ) AS "t38"
                  WHERE
                    (
                      (
                        "t38"."key" IS NOT NULL
                      ) OR (
                        "t38"."action" = 'delete'
                      )
                    )
                    AND (
                      (
                        "t38"."action" <> 'increment'
                      ) OR (
                        "t38"."number" IS NOT NULL
                      )
                    )
                ) AS "t40"
              ) AS "t44"
            ) AS "t46"
            WHERE
              "t46"."action" <> 'delete'
              AND (
                (
                  "t46"."gone" IS NULL
                ) OR (
                  "t46"."m" > "t46"."gone"
                )
              )
          ) AS "t48"
        ) AS "t53"
        WHERE
          "t53"."action" <> 'unset'
          AND (
            (
              "t53"."unset" IS NULL
            ) OR (
              "t53"."m" > "t53"."unset"
            )
          )
      ) AS "t57"
    ) AS "t62"
    WHERE
      (
        "t62"."action" <> 'set_once'
      ) OR (
        "t62"."m" = "t62"."first"
      )
  ) AS "t67"
)
SELECT
  "t108"."person_id"
FROM (
  SELECT
    "t9"."person_id",
    "t107"."_pid0",
    "t107"."f0"
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
      "t105"."person_id" AS "_pid0",
      "t105"."first_channel" IN ('qr_bookfair', 'poster_reading') AS "f0"
    FROM (
      SELECT
        "t104".*
        EXCLUDE ("person_id_right")
      FROM (
        SELECT
          "t91"."person_id",
          "t91"."first_seen",
          "t91"."last_seen",
          "t91"."event_count",
          "t91"."active_days",
          "t91"."first_source_id",
          "t91"."first_carrier",
          "t91"."latest_source_id",
          "t91"."latest_carrier",
          "t91"."has_app",
          "t91"."has_mp",
          "t91"."carriers",
          "t91"."first_channel",
          "t91"."first_campaign",
          "t91"."latest_channel",
          "t91"."latest_campaign",
          "t91"."follows_oa",
          "t91"."wecom_contact",
          "t91"."groups",
          "t103"."person_id" AS "person_id_right",
          "t103"."properties"
        FROM (
          SELECT
            "t87".*
            EXCLUDE ("person_id_right")
          FROM (
            SELECT
              "t84"."person_id",
              "t84"."first_seen",
              "t84"."last_seen",
              "t84"."event_count",
              "t84"."active_days",
              "t84"."first_source_id",
              "t84"."first_carrier",
              "t84"."latest_source_id",
              "t84"."latest_carrier",
              "t84"."has_app",
              "t84"."has_mp",
              "t84"."carriers",
              "t84"."first_channel",
              "t84"."first_campaign",
              "t84"."latest_channel",
              "t84"."latest_campaign",
              "t84"."follows_oa",
              "t84"."wecom_contact",
              "t68"."person_id" AS "person_id_right",
              "t68"."groups"
            FROM (
              SELECT
                "t80".*
                EXCLUDE ("person_id_right")
              FROM (
                SELECT
                  "t76"."person_id",
                  "t76"."first_seen",
                  "t76"."last_seen",
                  "t76"."event_count",
                  "t76"."active_days",
                  "t76"."first_source_id",
                  "t76"."first_carrier",
                  "t76"."latest_source_id",
                  "t76"."latest_carrier",
                  "t76"."has_app",
                  "t76"."has_mp",
                  "t76"."carriers",
                  "t76"."first_channel",
                  "t76"."first_campaign",
                  "t76"."latest_channel",
                  "t76"."latest_campaign",
                  "t76"."follows_oa",
                  "t65"."person_id" AS "person_id_right",
                  "t65"."wecom_contact"
                FROM (
                  SELECT
                    "t74".*
                    EXCLUDE ("person_id_right")
                  FROM (
                    SELECT
                      "t71"."person_id",
                      "t71"."first_seen",
                      "t71"."last_seen",
                      "t71"."event_count",
                      "t71"."active_days",
                      "t71"."first_source_id",
                      "t71"."first_carrier",
                      "t71"."latest_source_id",
                      "t71"."latest_carrier",
                      "t71"."has_app",
                      "t71"."has_mp",
                      "t71"."carriers",
                      "t71"."first_channel",
                      "t71"."first_campaign",
                      "t71"."latest_channel",
                      "t71"."latest_campaign",
                      "t19"."person_id" AS "person_id_right",
                      "t19"."follows_oa"
                    FROM (
                      SELECT
                        "t69".*
                        EXCLUDE ("person_id_right")
                      FROM (
                        SELECT
                          "t21"."person_id",
                          "t21"."first_seen",
                          "t21"."last_seen",
                          "t21"."event_count",
                          "t21"."active_days",
                          "t21"."first_source_id",
                          "t21"."first_carrier",
                          "t21"."latest_source_id",
                          "t21"."latest_carrier",
                          "t21"."has_app",
                          "t21"."has_mp",
                          "t21"."carriers",
                          "t64"."person_id" AS "person_id_right",
                          "t64"."first_channel",
                          "t64"."first_campaign",
                          "t64"."latest_channel",
                          "t64"."latest_campaign"
                        FROM (
                          SELECT
                            "t13"."person_id",
                            MIN("t13"."event_time") AS "first_seen",
                            MAX("t13"."event_time") AS "last_seen",
                            COUNT(*) AS "event_count",
                            COUNT(
                              DISTINCT CAST(FLOOR(
                                (
                                  CAST(EPOCH(CAST(DATE_TRUNC('SECOND', "t13"."event_time") AS TIMESTAMP)) AS BIGINT) + 28800
                                ) / (
                                  86400
                                )
                              ) AS BIGINT)
                            ) AS "active_days",
                            FIRST("t13"."source_id" ORDER BY {'t': "t13"."event_time", 's': "t13"."seq"}) AS "first_source_id",
                            FIRST("t13"."carrier" ORDER BY {'t': "t13"."event_time", 's': "t13"."seq"}) AS "first_carrier",
                            FIRST("t13"."source_id" ORDER BY {'t': "t13"."event_time", 's': "t13"."seq"} DESC) AS "latest_source_id",
                            FIRST("t13"."carrier" ORDER BY {'t': "t13"."event_time", 's': "t13"."seq"} DESC) AS "latest_carrier",
                            BOOL_OR(CAST("t13"."carrier" = 'app' AS BOOLEAN)) AS "has_app",
                            BOOL_OR(CAST("t13"."carrier" = 'mp' AS BOOLEAN)) AS "has_mp",
                            LIST_SORT(ARRAY_AGG(DISTINCT "t13"."carrier") FILTER(WHERE
                              "t13"."carrier" IS NOT NULL)) AS "carriers"
                          FROM (
                            SELECT
                              *
                            FROM (
                              SELECT
                                "t10".*
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
                                  "t7"."actor_key",
                                  "t7"."person_id"
                                FROM "events" AS "t3"
                                LEFT OUTER JOIN (
                                  SELECT
                                    "t0"."node_order" AS "actor_key",
                                    "t0"."person_id"
                                  FROM "identities" AS "t0"
                                ) AS "t7"
                                  ON "t3"."actor" = "t7"."actor_key"
                              ) AS "t10"
                            ) AS "t11"
                            WHERE
                              "t11"."person_id" IS NOT NULL
                          ) AS "t13"
                          GROUP BY
                            1
                        ) AS "t21"
                        LEFT OUTER JOIN (
                          SELECT
                            "t56"."person_id",
                            FIRST("t56"."channel" ORDER BY {'t': "t56"."event_time", 's': "t56"."seq"}) FILTER(WHERE
                              "t56"."channel" IS NOT NULL) AS "first_channel",
                            FIRST("t56"."campaign" ORDER BY {'t': "t56"."event_time", 's': "t56"."seq"}) FILTER(WHERE
                              "t56"."campaign" IS NOT NULL) AS "first_campaign",
                            FIRST("t56"."channel" ORDER BY {'t': "t56"."event_time", 's': "t56"."seq"} DESC) FILTER(WHERE
                              "t56"."channel" IS NOT NULL) AS "latest_channel",
                            FIRST("t56"."campaign" ORDER BY {'t': "t56"."event_time", 's': "t56"."seq"} DESC) FILTER(WHERE
                              "t56"."campaign" IS NOT NULL) AS "latest_campaign"
                          FROM (
                            SELECT
                              "t52"."person_id",
                              "t52"."event_time",
                              "t52"."seq",
                              "t52"."channel",
                              COALESCE("t52"."campaign", "t8"."code_campaign") AS "campaign"
                            FROM (
                              SELECT
                                "t50"."person_id",
                                "t50"."event_time",
                                "t50"."seq",
                                "t50"."channel",
                                "t50"."campaign"
                              FROM "t49" AS "t50"
                            ) AS "t52"
                            LEFT OUTER JOIN (
                              SELECT
                                "t2"."code",
                                "t2"."campaign" AS "code_campaign"
                              FROM "channels" AS "t2"
                            ) AS "t8"
                              ON "t52"."channel" = "t8"."code"
                          ) AS "t56"
                          GROUP BY
                            1
                        ) AS "t64"
                          ON "t21"."person_id" = "t64"."person_id"
                      ) AS "t69"
                    ) AS "t71"
                    LEFT OUTER JOIN (
                      SELECT
                        "t15"."person_id",
                        BOOL_OR(CAST("t15"."on" AS BOOLEAN)) AS "follows_oa"
                      FROM (
                        SELECT
                          "t12"."person_id",
                          "t12"."app_id",
                          FIRST(
                            "t12"."event" = 'subscribe' ORDER BY {'t': "t12"."event_time", 's': "t12"."seq"} DESC
                          ) AS "on"
                        FROM (
                          SELECT
                            *
                          FROM (
                            SELECT
                              "t10".*
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
                                "t7"."actor_key",
                                "t7"."person_id"
                              FROM "events" AS "t3"
                              LEFT OUTER JOIN (
                                SELECT
                                  "t0"."node_order" AS "actor_key",
                                  "t0"."person_id"
                                FROM "identities" AS "t0"
                              ) AS "t7"
                                ON "t3"."actor" = "t7"."actor_key"
                            ) AS "t10"
                          ) AS "t11"
                          WHERE
                            "t11"."person_id" IS NOT NULL
                            AND "t11"."carrier" = 'oa'
                            AND "t11"."event" IN ('subscribe', 'unsubscribe')
                        ) AS "t12"
                        GROUP BY
                          1,
                          2
                      ) AS "t15"
                      GROUP BY
                        1
                    ) AS "t19"
                      ON "t71"."person_id" = "t19"."person_id"
                  ) AS "t74"
                ) AS "t76"
                LEFT OUTER JOIN (
                  SELECT
                    "t59"."person_id",
                    BOOL_OR(CAST("t59"."on" AS BOOLEAN)) AS "wecom_contact"
                  FROM (
                    SELECT
                      "t55"."person_id",
                      "t55"."staff",
                      FIRST(
                        "t55"."action" IN ('add_external_contact', 'add_half_external_contact') ORDER BY {'t': "t55"."event_time", 's': "t55"."seq"} DESC
                      ) AS "on"
                    FROM (
                      SELECT
                        "t50"."person_id",
                        "t50"."event_id",
                        "t50"."seq",
                        "t50"."event_time",
                        "t50"."type",
                        "t50"."event",
                        "t50"."protocol",
                        "t50"."carrier",
                        "t50"."app_id",
                        "t50"."channel",
                        "t50"."campaign",
                        "t50"."group_id",
                        "t50"."staff",
                        "t50"."change_type",
                        CASE
                          WHEN "t50"."event" = 'change_external_contact'
                          THEN "t50"."change_type"
                          ELSE "t50"."event"
                        END AS "action"
                      FROM "t49" AS "t50"
                      WHERE
                        "t50"."carrier" = 'wecom'
                        AND CASE
                          WHEN "t50"."event" = 'change_external_contact'
                          THEN "t50"."change_type"
                          ELSE "t50"."event"
                        END IN (
                          'add_external_contact',
                          'add_half_external_contact',
                          'del_external_contact',
                          'del_follow_user'
                        )
                    ) AS "t55"
                    GROUP BY
                      1,
                      2
                  ) AS "t59"
                  GROUP BY
                    1
                ) AS "t65"
                  ON "t76"."person_id" = "t65"."person_id"
              ) AS "t80"
            ) AS "t84"
            LEFT OUTER JOIN (
              SELECT
                "t60"."person_id",
                LIST_SORT(ARRAY_AGG("t60"."group_id") FILTER(WHERE
                  "t60"."group_id" IS NOT NULL)) AS "groups"
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t54"."person_id",
                    "t54"."group_id",
                    FIRST(
                      NOT (
                        "t54"."event" IN ('leave_group', 'quit_group')
                      ) ORDER BY {'t': "t54"."event_time", 's': "t54"."seq"} DESC
                    ) AS "inside"
                  FROM (
                    SELECT
                      *
                    FROM "t49" AS "t50"
                    WHERE
                      "t50"."group_id" IS NOT NULL
                      AND (
                        "t50"."event" IN ('join_group', 'leave_group', 'quit_group')
                        OR (
                          "t50"."type" = 'group'
                        )
                      )
                  ) AS "t54"
                  GROUP BY
                    1,
                    2
                ) AS "t58"
                WHERE
                  "t58"."inside"
              ) AS "t60"
              GROUP BY
                1
            ) AS "t68"
              ON "t84"."person_id" = "t68"."person_id"
          ) AS "t87"
        ) AS "t91"
        LEFT OUTER JOIN (
          SELECT
            "t101"."person_id",
            '{' || ARRAY_TO_STRING(
              LIST_APPLY(
                LIST_SORT("t101"."members"),
                LAMBDA __ibis_param_s__ : (
                  __ibis_param_s__
                )."member"
              ),
              ','
            ) || '}' AS "properties"
          FROM (
            SELECT
              "t100"."person_id",
              ARRAY_AGG({'key': "t100"."key", 'member': "t100"."label" || ':' || "t100"."value"}) FILTER(WHERE
                {'key': "t100"."key", 'member': "t100"."label" || ':' || "t100"."value"} IS NOT NULL) AS "members"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t98"."person_id",
                  "t98"."key",
                  "t98"."label",
                  "t98"."base",
                  "t98"."base_number",
                  "t98"."inc",
                  "t98"."has_inc",
                  "t98"."has_append",
                  "t98"."list_json",
                  CASE
                    WHEN (
                      "t98"."base" IS NULL
                    ) AND "t98"."has_inc"
                    THEN CASE
                      WHEN (
                        "t98"."inc" = CAST(FLOOR("t98"."inc") AS BIGINT)
                      )
                      AND (
                        ABS("t98"."inc") < 9007199254740992
                      )
                      THEN CAST(CAST("t98"."inc" AS BIGINT) AS TEXT)
                      ELSE CAST("t98"."inc" AS TEXT)
                    END
                    WHEN (
                      "t98"."base" IS NULL
                    ) AND "t98"."has_append"
                    THEN "t98"."list_json"
                    WHEN (
                      "t98"."base_number" IS NOT NULL
                    ) AND "t98"."has_inc"
                    THEN CASE
                      WHEN (
                        (
                          "t98"."base_number" + "t98"."inc"
                        ) = CAST(FLOOR("t98"."base_number" + "t98"."inc") AS BIGINT)
                      )
                      AND (
                        ABS("t98"."base_number" + "t98"."inc") < 9007199254740992
                      )
                      THEN CAST(CAST("t98"."base_number" + "t98"."inc" AS BIGINT) AS TEXT)
                      ELSE CAST("t98"."base_number" + "t98"."inc" AS TEXT)
                    END
                    WHEN STARTS_WITH("t98"."base", '[') AND "t98"."has_append"
                    THEN "t98"."list_json"
                    ELSE "t98"."base"
                  END AS "value"
                FROM (
                  SELECT
                    "t97".*
                    EXCLUDE ("key_right", "person_id_right")
                  FROM (
                    SELECT
                      "t85"."person_id",
                      "t85"."key",
                      "t85"."label",
                      "t85"."base",
                      "t85"."base_number",
                      "t85"."inc",
                      "t85"."has_inc",
                      "t85"."has_append",
                      "t96"."person_id" AS "person_id_right",
                      "t96"."key" AS "key_right",
                      "t96"."list_json"
                    FROM (
                      SELECT
                        "t77"."person_id",
                        "t77"."key",
                        MAX("t77"."label") AS "label",
                        MAX("t77"."value") FILTER(WHERE
                          "t77"."action" IN ('set', 'set_once')) AS "base",
                        MAX("t77"."number") FILTER(WHERE
                          "t77"."action" IN ('set', 'set_once')) AS "base_number",
                        SUM("t77"."number") FILTER(WHERE
                          "t77"."action" = 'increment') AS "inc",
                        BOOL_OR(CAST("t77"."action" = 'increment' AS BOOLEAN)) AS "has_inc",
                        BOOL_OR(CAST("t77"."action" = 'append' AS BOOLEAN)) AS "has_append"
                      FROM (
                        SELECT
                          *
                        FROM "t72" AS "t73"
                        WHERE
                          (
                            "t73"."base" IS NULL
                          ) OR (
                            "t73"."m" >= "t73"."base"
                          )
                      ) AS "t77"
                      GROUP BY
                        1,
                        2
                    ) AS "t85"
                    LEFT OUTER JOIN (
                      SELECT
                        "t94"."person_id",
                        "t94"."key",
                        '[' || ARRAY_TO_STRING(
                          LIST_APPLY(
                            LIST_SORT("t94"."entries"),
                            LAMBDA __ibis_param_s__ : (
                              __ibis_param_s__
                            )."item"
                          ),
                          ','
                        ) || ']' AS "list_json"
                      FROM (
                        SELECT
                          "t93"."person_id",
                          "t93"."key",
                          ARRAY_AGG({'m': "t93"."m", 'pos': "t93"."pos", 'item': "t93"."item"}) FILTER(WHERE
                            {'m': "t93"."m", 'pos': "t93"."pos", 'item': "t93"."item"} IS NOT NULL) AS "entries"
                        FROM (
                          SELECT
                            *
                          FROM (
                            SELECT
                              "t90"."person_id",
                              "t90"."key",
                              "t90"."m",
                              "t90"."pos",
                              "t90"."item",
                              ROW_NUMBER() OVER (
                                PARTITION BY "t90"."person_id", "t90"."key", "t90"."item"
                                ORDER BY "t90"."m" ASC, "t90"."pos" ASC
                                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                              ) - 1 AS "n"
                            FROM (
                              SELECT
                                *
                              FROM (
                                SELECT
                                  "t86"."person_id",
                                  "t86"."key",
                                  "t86"."m",
                                  "t86"."e"."position" AS "pos",
                                  "t86"."e"."value" AS "item"
                                FROM (
                                  SELECT
                                    "t82".*
                                    REPLACE ("ibis_table_unnest_column_X" AS "e")
                                  FROM (
                                    SELECT
                                      "t79"."person_id",
                                      "t79"."key",
                                      "t79"."m",
                                      ENTRIES_OF_N("t79"."value") AS "e"
                                    FROM (
                                      SELECT
                                        *
                                      FROM "t72" AS "t73"
                                      WHERE
                                        (
                                          (
                                            "t73"."base" IS NULL
                                          ) OR (
                                            "t73"."m" >= "t73"."base"
                                          )
                                        )
                                        AND (
                                          (
                                            "t73"."action" = 'append'
                                          )
                                          OR (
                                            "t73"."action" IN ('set', 'set_once') AND STARTS_WITH("t73"."value", '[')
                                          )
                                        )
                                        AND STARTS_WITH("t73"."value", '[')
                                    ) AS "t79"
                                  ) AS "t82"
                                  CROSS JOIN UNNEST("t82"."e") AS "ibis_table_unnest_X"("ibis_table_unnest_column_X")
                                ) AS "t86"
                              ) AS "t88"
                              UNION ALL
                              SELECT
                                *
                              FROM (
                                SELECT
                                  "t73"."person_id",
                                  "t73"."key",
                                  "t73"."m",
                                  0 AS "pos",
                                  "t73"."value" AS "item"
                                FROM "t72" AS "t73"
                                WHERE
                                  (
                                    (
                                      "t73"."base" IS NULL
                                    ) OR (
                                      "t73"."m" >= "t73"."base"
                                    )
                                  )
                                  AND (
                                    (
                                      "t73"."action" = 'append'
                                    )
                                    OR (
                                      "t73"."action" IN ('set', 'set_once') AND STARTS_WITH("t73"."value", '[')
                                    )
                                  )
                                  AND NOT (
                                    STARTS_WITH("t73"."value", '[')
                                  )
                              ) AS "t78"
                            ) AS "t90"
                          ) AS "t92"
                          WHERE
                            "t92"."n" = 0
                        ) AS "t93"
                        GROUP BY
                          1,
                          2
                      ) AS "t94"
                    ) AS "t96"
                      ON "t85"."person_id" = "t96"."person_id" AND "t85"."key" = "t96"."key"
                  ) AS "t97"
                ) AS "t98"
              ) AS "t99"
              WHERE
                "t99"."value" IS NOT NULL
            ) AS "t100"
            GROUP BY
              1
          ) AS "t101"
        ) AS "t103"
          ON "t91"."person_id" = "t103"."person_id"
      ) AS "t104"
    ) AS "t105"
  ) AS "t107"
    ON "t9"."person_id" = "t107"."_pid0"
) AS "t108"
WHERE
  COALESCE("t108"."f0", FALSE)
