-- Main indicators (专栏1) and secondary targets in one schema, with the evaluation method each needs.
with main as (
    select * from {{ ref('stg_catalog__main_indicators') }}
),

secondary as (
    select * from {{ ref('stg_catalog__secondary_targets') }}
),

plans as (
    select * from {{ ref('stg_catalog__plans') }}
),

main_shaped as (
    select
        plan_id,
        indicator_code,
        'main' as indicator_kind,
        seq,
        category_zh,
        category_en,
        name_printed,
        name_zh,
        name_en,
        unit_printed,
        unit,
        baseline_year,
        baseline_text,
        baseline_value,
        is_baseline_estimate,
        target_year,
        target_text,
        target_operator,
        target_value,
        annual_growth_text,
        annual_growth_rate,
        attribute_zh,
        attribute,
        target_basis,
        is_cumulative,
        is_superior_assigned,
        direction,
        reporting_frequency,
        value_min,
        value_max,
        owner_department_code,
        cast(null as string) as chapter_zh,
        cast(null as string) as section_zh,
        cast(null as string) as quote,
        notes
    from main
),

secondary_shaped as (
    select
        secondary.plan_id,
        secondary.target_code as indicator_code,
        'secondary' as indicator_kind,
        100 + secondary.seq as seq,
        secondary.chapter_zh as category_zh,
        secondary.chapter_en as category_en,
        secondary.name_zh as name_printed,
        secondary.name_zh,
        secondary.name_en,
        secondary.unit as unit_printed,
        secondary.unit,
        coalesce(secondary.baseline_year, plans.baseline_year) as baseline_year,
        cast(secondary.baseline_value as string) as baseline_text,
        secondary.baseline_value,
        false as is_baseline_estimate,
        secondary.target_year,
        secondary.target_value_text as target_text,
        secondary.target_operator,
        secondary.target_value,
        cast(null as string) as annual_growth_text,
        cast(null as double) as annual_growth_rate,
        cast(null as string) as attribute_zh,
        'unspecified' as attribute,
        case when secondary.target_basis = 'annual' then 'annual' else 'value' end as target_basis,
        secondary.is_cumulative,
        false as is_superior_assigned,
        secondary.direction,
        'annual' as reporting_frequency,
        secondary.value_min,
        secondary.value_max,
        secondary.owner_department_code,
        secondary.chapter_zh,
        secondary.section_zh,
        secondary.quote,
        secondary.notes
    from secondary
    inner join plans
        on secondary.plan_id = plans.plan_id
),

unioned as (
    select * from main_shaped
    union all
    select * from secondary_shaped
),

final as (
    select
        *,
        case when direction = 'lower_is_better' then -1 else 1 end as direction_sign,
        case
            when target_basis = 'growth_rate' then 'rate'
            when is_superior_assigned then 'superior_assigned'
            when target_basis = 'annual' then 'annual'
            when is_cumulative then 'cumulative'
            when baseline_value is not null and {{ meets_target('baseline_value', 'target_operator', 'target_value') }}
                then 'maintain'
            else 'level'
        end as target_method,
        baseline_value is null and target_basis = 'value' and not is_cumulative as baseline_from_first_actual
    from unioned
)

select * from final
