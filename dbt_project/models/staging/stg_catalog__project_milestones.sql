with source as (
    select * from {{ ref('catalog_project_milestones') }}
),

renamed as (
    select
        cast(plan_id as string) as plan_id,
        cast(project_code as string) as project_code,
        cast(milestone_code as string) as milestone_code,
        cast(seq as integer) as seq,
        name_zh as milestone_name_zh,
        name_en as milestone_name_en,
        cast(planned_date as date) as planned_date,
        date_source,
        cast(quantity_share as double) as quantity_share,
        notes
    from source
)

select * from renamed
