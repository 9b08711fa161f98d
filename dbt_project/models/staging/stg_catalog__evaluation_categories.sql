with source as (
    select * from {{ ref('catalog_evaluation_categories') }}
),

renamed as (
    select
        cast(category_code as string) as evaluation_category,
        cast(seq as integer) as seq,
        cast(phase as string) as phase,
        cast(name_zh as string) as evaluation_category_zh,
        cast(name_en as string) as evaluation_category_en,
        cast(rule_zh as string) as rule_zh,
        cast(rule_en as string) as rule_en
    from source
)

select * from renamed
