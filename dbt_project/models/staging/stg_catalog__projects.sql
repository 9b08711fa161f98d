with source as (
    select * from {{ ref('catalog_projects') }}
),

renamed as (
    select
        cast(plan_id as string) as plan_id,
        cast(project_code as string) as project_code,
        cast(seq as integer) as seq,
        name_zh as project_name_zh,
        name_en as project_name_en,
        category,
        cast(owner_department_code as string) as owner_department_code,
        cast(quantity_target as double) as quantity_target,
        quantity_unit,
        cast(planned_start as date) as planned_start,
        cast(planned_end as date) as planned_end,
        date_source,
        chapter_zh,
        chapter_en,
        section_zh,
        quote,
        notes,
        cast(nullif(continues_plan_id, '') as string) as continues_plan_id,
        cast(nullif(continues_project_code, '') as string) as continues_project_code
    from source
)

select * from renamed
