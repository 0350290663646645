SELECT
  "t8"."person_id"
FROM (
  SELECT
    "t7"."person_id",
    COALESCE("t7"."f0" < 0.3, FALSE) AS "member"
  FROM (
    SELECT
      "t4"."person_id",
      "t6"."_pid0",
      "t6"."f0"
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
        "t3"."person_id" AS "_pid0",
        "t3"."f0"
      FROM (
        SELECT
          "t1"."person_id",
          MAX("t1"."p_alive") AS "f0"
        FROM "clv_scores" AS "t1"
        GROUP BY
          1
      ) AS "t3"
    ) AS "t6"
      ON "t4"."person_id" = "t6"."_pid0"
  ) AS "t7"
) AS "t8"
WHERE
  "t8"."member"
