with source as (
    select * from {{ ref('catalog_secondary_targets') }}
),

renamed as (
    select
        cast(plan_id as string) as plan_id,
        cast(target_code as string) as target_code,
        cast(seq as integer) as seq,
        chapter_zh,
        chapter_en,
        section_zh,
        topic_zh,
        name_zh,
        name_en,
        unit,
        target_operator,
        cast(target_value as double) as target_value,
        cast(target_value_text as string) as target_value_text,
        cast(target_year as integer) as target_year,
        target_basis,
        cast(is_cumulative as boolean) as is_cumulative,
        cast(baseline_value as double) as baseline_value,
        cast(baseline_year as integer) as baseline_year,
        baseline_quote,
        direction,
        cast(value_min as double) as value_min,
        cast(value_max as double) as value_max,
        cast(owner_department_code as string) as owner_department_code,
        quote,
        notes,
        cast(max_change as double) as max_change,
        cast(nullif(max_change_basis, '') as string) as max_change_basis,
        cast(always_moves as boolean) as always_moves
    from source
)

select * from renamed
