-- The submission ledger for analysts and departments: every processed file, its status and counts.
with submissions as (
    select * from {{ ref('int_submissions_enriched') }}
),

final as (
    select
        submission_id,
        plan_ids,
        department_code,
        department_name_zh,
        department_name_en,
        original_name,
        file_sha256,
        size_bytes,
        detected_format,
        detected_encoding,
        kinds,
        received_at,
        received_date,
        received_at_source,
        processed_at,
        status,
        rows_total,
        rows_accepted,
        rows_rejected,
        rows_pending_explanation,
        warnings,
        errors_recorded,
        warnings_recorded,
        reason_code,
        message_zh,
        message_en,
        resubmission_of
    from submissions
)

select * from final
