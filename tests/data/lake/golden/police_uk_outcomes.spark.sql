WITH grouped AS (
  SELECT
    area_code,
    month,
    run_id,
    CASE WHEN GROUPING(outcome_type) = 0 THEN 'outcome' ELSE 'total' END AS dim,
    CASE WHEN GROUPING(outcome_type) = 0 THEN outcome_type ELSE '' END AS dim_value,
    COUNT(*) AS n
  FROM raw_police_uk_outcomes
  GROUP BY
    GROUPING SETS (
      (area_code, month, run_id),
      (area_code, month, run_id, outcome_type)
    )
)
SELECT
  'police_uk_outcomes' AS measure,
  g.area_code,
  g.month AS period_start,
  LAST_DAY(g.month) AS period_end,
  CASE WHEN g.dim = 'ethnicity' THEN g.dim_value ELSE '' END AS ethnicity,
  CASE WHEN g.dim = 'sex' THEN g.dim_value ELSE '' END AS sex,
  CASE WHEN g.dim = 'age_group' THEN g.dim_value ELSE '' END AS age_group,
  CASE WHEN g.dim = 'offence_group' THEN g.dim_value ELSE '' END AS offence_group,
  '' AS court_type,
  CASE WHEN g.dim = 'outcome' THEN g.dim_value ELSE '' END AS outcome,
  CAST(g.n AS DOUBLE) AS value,
  'police_uk_outcomes' AS source,
  g.run_id
FROM grouped AS g
