with source as (
    select * from {{ ref('catalog_units') }}
),

renamed as (
    select
        cast(unit as string) as unit,
        cast(unit_en as string) as unit_en
    from source
)

select * from renamed
