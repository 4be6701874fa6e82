WITH records AS (
  SELECT
    area_code,
    month,
    run_id,
    crime_type = 'Anti-social behaviour' AS is_asb,
    crime_type,
    COALESCE(last_outcome, 'Not stated') AS outcome
  FROM raw_police_uk_street
), grouped AS (
  SELECT
    area_code,
    month,
    run_id,
    is_asb,
    CASE
      WHEN GROUPING(crime_type) = 0
      THEN 'offence_group'
      WHEN GROUPING(outcome) = 0
      THEN 'outcome'
      ELSE 'total'
    END AS dim,
    CASE
      WHEN GROUPING(crime_type) = 0
      THEN crime_type
      WHEN GROUPING(outcome) = 0
      THEN outcome
      ELSE ''
    END AS dim_value,
    COUNT(*) AS n
  FROM records
  GROUP BY
    GROUPING SETS (
      (area_code, month, run_id, is_asb),
      (area_code, month, run_id, is_asb, crime_type),
      (area_code, month, run_id, is_asb, outcome)
    )
)
SELECT
  m.measure,
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
  'police_uk_street' AS source,
  g.run_id
FROM grouped AS g
JOIN VALUES
  ('recorded_crimes', 'total', FALSE),
  ('recorded_crimes', 'offence_group', FALSE),
  ('recorded_crimes', 'outcome', FALSE),
  ('asb_incidents', 'total', TRUE) AS m(measure, dim, is_asb)
  ON g.dim = m.dim AND g.is_asb = m.is_asb
