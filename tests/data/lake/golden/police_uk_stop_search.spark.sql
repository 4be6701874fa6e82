WITH records AS (
  SELECT
    area_code,
    month,
    run_id,
    COALESCE(officer_defined_ethnicity, 'Not stated') AS officer_group,
    CASE
      WHEN self_defined_ethnicity IS NULL
      OR self_defined_ethnicity = 'Other ethnic group - Not stated'
      THEN 'Not stated'
      ELSE CASE SPLIT_PART(self_defined_ethnicity, ' - ', 1)
        WHEN 'White'
        THEN 'White'
        WHEN 'Black/African/Caribbean/Black British'
        THEN 'Black'
        WHEN 'Asian/Asian British'
        THEN 'Asian'
        WHEN 'Mixed/Multiple ethnic groups'
        THEN 'Mixed'
        WHEN 'Other ethnic group'
        THEN 'Other'
        WHEN 'Black or Black British'
        THEN 'Black'
        WHEN 'Asian or Asian British'
        THEN 'Asian'
        WHEN 'Mixed'
        THEN 'Mixed'
      END
    END AS self_group,
    COALESCE(gender, 'Not stated') AS sex,
    COALESCE(age_range, 'Not stated') AS age_group,
    COALESCE(outcome, 'Not stated') AS outcome
  FROM raw_police_uk_stop_search
), grouped AS (
  SELECT
    area_code,
    month,
    run_id,
    CASE
      WHEN GROUPING(officer_group) = 0
      THEN 'officer'
      WHEN GROUPING(self_group) = 0
      THEN 'self'
      WHEN GROUPING(sex) = 0
      THEN 'sex'
      WHEN GROUPING(age_group) = 0
      THEN 'age_group'
      WHEN GROUPING(outcome) = 0
      THEN 'outcome'
      ELSE 'total'
    END AS grouping_name,
    CASE
      WHEN GROUPING(officer_group) = 0
      THEN officer_group
      WHEN GROUPING(self_group) = 0
      THEN self_group
      WHEN GROUPING(sex) = 0
      THEN sex
      WHEN GROUPING(age_group) = 0
      THEN age_group
      WHEN GROUPING(outcome) = 0
      THEN outcome
      ELSE ''
    END AS dim_value,
    COUNT(*) AS n,
    COUNT(CASE WHEN officer_group <> 'Not stated' THEN 1 END) AS n_recorded,
    COUNT(CASE WHEN outcome = 'Arrest' THEN 1 END) AS n_arrests
  FROM records
  GROUP BY
    GROUPING SETS (
      (area_code, month, run_id),
      (area_code, month, run_id, officer_group),
      (area_code, month, run_id, self_group),
      (area_code, month, run_id, sex),
      (area_code, month, run_id, age_group),
      (area_code, month, run_id, outcome)
    )
), fed AS (
  SELECT
    m.measure,
    g.area_code,
    g.month,
    g.run_id,
    m.dim,
    g.dim_value,
    CASE m.counted
      WHEN 'n'
      THEN g.n
      WHEN 'n_recorded'
      THEN g.n_recorded
      ELSE g.n_arrests
    END AS n
  FROM grouped AS g
  JOIN VALUES
    ('stop_searches', 'total', 'total', 'n'),
    ('stop_searches', 'officer', 'ethnicity', 'n'),
    ('stop_searches', 'sex', 'sex', 'n'),
    ('stop_searches', 'age_group', 'age_group', 'n'),
    ('stop_searches', 'outcome', 'outcome', 'n'),
    ('stop_searches_ethnicity_recorded', 'total', 'total', 'n_recorded'),
    ('stop_searches_self_defined', 'total', 'total', 'n'),
    ('stop_searches_self_defined', 'self', 'ethnicity', 'n'),
    ('stop_search_arrests', 'total', 'total', 'n_arrests'),
    ('stop_search_arrests', 'officer', 'ethnicity', 'n_arrests') AS m(measure, grouping_name, dim, counted)
    ON g.grouping_name = m.grouping_name
)
SELECT
  g.measure,
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
  'police_uk_stop_search' AS source,
  g.run_id
FROM fed AS g
WHERE
  g.n > 0
