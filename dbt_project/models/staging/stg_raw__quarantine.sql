with source as (
    select * from {{ source('raw', 'quarantine') }}
),

renamed as (
    select
        cast(submission_id as string) as submission_id,
        cast(department_code as string) as department_code,
        cast(original_name as string) as original_name,
        cast(file_sha256 as string) as file_sha256,
        cast(sheet_name as string) as sheet_name,
        cast(source_row as integer) as source_row,
        cast(column_name as string) as column_name,
        cast(offending_value as string) as offending_value,
        cast(record_kind as string) as record_kind,
        cast(record_code as string) as record_code,
        cast(record_period as string) as record_period,
        cast(reason_code as string) as reason_code,
        cast(severity as string) as severity,
        cast(scope as string) as scope,
        cast(message_zh as string) as message_zh,
        cast(message_en as string) as message_en,
        cast(detected_at as timestamp) as detected_at,
        coalesce(cast(needs_explanation as boolean), false) as needs_explanation,
        cast(explanation as string) as explanation
    from source
)

select * from renamed
