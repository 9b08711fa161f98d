with source as (
    select * from {{ ref('catalog_plausibility_defaults') }}
),

renamed as (
    select
        cast(unit as string) as unit,
        cast(max_change as double) as max_change,
        cast(max_change_basis as string) as max_change_basis,
        cast(change_tolerance as double) as change_tolerance,
        cast(always_moves as boolean) as always_moves,
        cast(unit_slip_factor as double) as unit_slip_factor,
        cast(description_zh as string) as description_zh,
        cast(description_en as string) as description_en
    from source
)

select * from renamed
