with source as (
    select * from {{ ref('catalog_departments') }}
),

renamed as (
    select
        cast(department_code as string) as department_code,
        cast(region_code as string) as region_code,
        cast(short_code as string) as short_code,
        name_zh as department_name_zh,
        name_en as department_name_en
    from source
)

select * from renamed
