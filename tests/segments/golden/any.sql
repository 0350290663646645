SELECT
  "t9"."person_id"
FROM (
  SELECT
    "t8"."person_id",
    COALESCE("t8"."f0", FALSE) OR COALESCE("t8"."f1", FALSE) AS "member"
  FROM (
    SELECT
      "t4"."person_id",
      "t7"."_pid0",
      "t7"."f0",
      "t7"."f1"
    FROM (
      SELECT DISTINCT
        "t0"."person_id"
      FROM "identities" AS "t0"
      WHERE
        NOT (
          "t0"."junk"
        )
    ) AS "t4"
    LEFT OUTER JOIN (
      SELECT
        "t5"."person_id" AS "_pid0",
        "t5"."f0",
        "t5"."f1"
      FROM (
        SELECT
          "t3"."person_id",
          BOOL_OR(CAST("t3"."set_key" = 'lifecycle:new' AS BOOLEAN)) AS "f0",
          BOOL_OR(CAST("t3"."set_key" = 'lifecycle:returning' AS BOOLEAN)) AS "f1"
        FROM (
          SELECT
            "t1"."set_key",
            "t1"."person_id",
            "t1"."weight"
          FROM "memberships" AS "t1"
          WHERE
            "t1"."exited_at" IS NULL
        ) AS "t3"
        GROUP BY
          1
      ) AS "t5"
    ) AS "t7"
      ON "t4"."person_id" = "t7"."_pid0"
  ) AS "t8"
) AS "t9"
WHERE
  "t9"."member"
