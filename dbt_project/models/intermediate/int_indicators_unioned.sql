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

plausibility_defaults as (
    select * from {{ ref('stg_catalog__plausibility_defaults') }}
),

any_unit as (
    select * from plausibility_defaults
    where unit = '*'
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
        notes,
        max_change,
        max_change_basis,
        always_moves
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
        secondary.notes,
        secondary.max_change,
        secondary.max_change_basis,
        secondary.always_moves
    from secondary
    inner join plans
        on secondary.plan_id = plans.plan_id
),

unioned as (
    select * from main_shaped
    union all
    select * from secondary_shaped
),

with_plausibility as (
    -- soft-check bounds (核实性审核): the indicator's own catalog columns, else the default for its unit
    -- ('*' for any other unit); five-year cumulative targets (yearly increments) get no change bound and
    -- growth rates no unit-slip check by default. pipelines/lib/plans/catalog.py resolves the same way.
    select
        unioned.plan_id,
        unioned.indicator_code,
        unioned.indicator_kind,
        unioned.seq,
        unioned.category_zh,
        unioned.category_en,
        unioned.name_printed,
        unioned.name_zh,
        unioned.name_en,
        unioned.unit_printed,
        unioned.unit,
        unioned.baseline_year,
        unioned.baseline_text,
        unioned.baseline_value,
        unioned.is_baseline_estimate,
        unioned.target_year,
        unioned.target_text,
        unioned.target_operator,
        unioned.target_value,
        unioned.annual_growth_text,
        unioned.annual_growth_rate,
        unioned.attribute_zh,
        unioned.attribute,
        unioned.target_basis,
        unioned.is_cumulative,
        unioned.is_superior_assigned,
        unioned.direction,
        unioned.reporting_frequency,
        unioned.value_min,
        unioned.value_max,
        unioned.owner_department_code,
        unioned.chapter_zh,
        unioned.section_zh,
        unioned.quote,
        unioned.notes,
        coalesce(unioned.max_change, by_unit.max_change, any_unit.max_change) as max_change,
        coalesce(
            unioned.max_change_basis,
            case when unioned.is_cumulative then 'none' end,
            by_unit.max_change_basis,
            any_unit.max_change_basis
        ) as max_change_basis,
        coalesce(by_unit.change_tolerance, any_unit.change_tolerance) as change_tolerance,
        coalesce(unioned.always_moves, by_unit.always_moves, any_unit.always_moves) as always_moves,
        case
            when unioned.target_basis <> 'growth_rate'
                then coalesce(by_unit.unit_slip_factor, case when by_unit.unit is null then any_unit.unit_slip_factor end)
        end as unit_slip_factor
    from unioned
    left join plausibility_defaults as by_unit
        on unioned.unit = by_unit.unit
    cross join any_unit
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
    from with_plausibility
)

select * from final
