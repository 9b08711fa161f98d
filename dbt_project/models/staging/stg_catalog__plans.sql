with source as (
    select * from {{ ref('catalog_plans') }}
),

renamed as (
    select
        cast(plan_id as string) as plan_id,
        cast(region_code as string) as region_code,
        region_name_zh,
        region_name_en,
        parent_region_zh,
        plan_name_zh,
        plan_name_en,
        plan_short_zh,
        plan_short_en,
        cast(baseline_year as integer) as baseline_year,
        cast(start_year as integer) as start_year,
        cast(end_year as integer) as end_year,
        source_document
    from source
)

select * from renamed
