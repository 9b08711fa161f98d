with source as (
    select * from {{ ref('catalog_milestone_types') }}
),

renamed as (
    select
        cast(milestone_code as string) as milestone_code,
        cast(seq as integer) as seq,
        name_zh as milestone_type_name_zh,
        name_en as milestone_type_name_en,
        description_en
    from source
)

select * from renamed
