with source as (
    select * from {{ source('raw', 'indicator_values') }}
),

renamed as (
    select
        cast(submission_id as string) as submission_id,
        cast(file_sha256 as string) as file_sha256,
        cast(department_code as string) as department_code,
        cast(sheet_name as string) as sheet_name,
        cast(source_row as integer) as source_row,
        cast(received_at as timestamp) as received_at,
        cast(plan_id as string) as plan_id,
        cast(indicator_code as string) as indicator_code,
        cast(period as string) as period,
        cast(substring(period, 1, 4) as integer) as period_year,
        case when length(period) = 6 then cast(substring(period, 6, 1) as integer) end as period_quarter,
        cast(value_type as string) as value_type,
        cast(value as double) as value,
        cast(unit as string) as unit_reported,
        cast(note as string) as note,
        cast(coalesce(review_state, 'accepted') as string) as review_state,
        cast(review_reasons as string) as review_reasons,
        cast(explanation as string) as explanation,
        cast(loaded_at as timestamp) as loaded_at
    from source
)

select * from renamed
