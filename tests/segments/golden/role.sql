SELECT
  "t8"."person_id"
FROM (
  SELECT
    "t4"."person_id",
    "t7"."_pid0",
    "t7"."f0"
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
      "t5"."f0"
    FROM (
      SELECT
        "t3"."person_id",
        BOOL_OR(CAST("t3"."set_key" = 'role:koc' AS BOOLEAN)) AS "f0"
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
WHERE
  COALESCE("t8"."f0", FALSE)
