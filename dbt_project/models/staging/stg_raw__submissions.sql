with source as (
    select * from {{ source('raw', 'submissions') }}
),

renamed as (
    select
        cast(submission_id as string) as submission_id,
        cast(department_code as string) as department_code,
        cast(original_name as string) as original_name,
        cast(file_sha256 as string) as file_sha256,
        cast(size_bytes as bigint) as size_bytes,
        cast(detected_format as string) as detected_format,
        cast(detected_encoding as string) as detected_encoding,
        cast(kinds as string) as kinds,
        cast(received_at as timestamp) as received_at,
        cast(received_at as date) as received_date,
        cast(received_at_source as string) as received_at_source,
        cast(processed_at as timestamp) as processed_at,
        cast(status as string) as status,
        cast(rows_total as integer) as rows_total,
        cast(rows_accepted as integer) as rows_accepted,
        cast(rows_rejected as integer) as rows_rejected,
        cast(coalesce(rows_pending_explanation, 0) as integer) as rows_pending_explanation,
        cast(warnings as integer) as warnings,
        cast(reason_code as string) as reason_code,
        cast(message_zh as string) as message_zh,
        cast(message_en as string) as message_en,
        cast(resubmission_of as string) as resubmission_of
    from source
)

select * from renamed
