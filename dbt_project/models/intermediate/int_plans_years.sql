-- One row per plan and plan year (start_year..end_year), with the annual submission deadline.
with plans as (
    select * from {{ ref('stg_catalog__plans') }}
),

digits as (
    select digits.n from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digits (n)
),

offsets as (
    select tens.n * 10 + ones.n as n
    from digits as tens
    cross join digits as ones
),

final as (
    select
        plans.plan_id,
        plans.region_code,
        plans.region_name_zh,
        plans.region_name_en,
        plans.plan_name_zh,
        plans.plan_name_en,
        plans.plan_short_zh,
        plans.plan_short_en,
        plans.source_document,
        plans.baseline_year,
        plans.start_year,
        plans.end_year,
        plans.start_year + offsets.n as plan_year,
        make_date(plans.start_year + offsets.n, 1, 1) as year_start_date,
        make_date(plans.start_year + offsets.n + 1, {{ var('annual_due_month') }}, {{ var('annual_due_day') }}) as annual_due_date
    from plans
    inner join offsets
        on plans.start_year + offsets.n <= plans.end_year
)

select * from final
