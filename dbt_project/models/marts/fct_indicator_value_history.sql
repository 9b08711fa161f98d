-- Every accepted value ever received, with the submission that superseded it: "what did we know on
-- date D" is `where valid_from < D + 1 day and (valid_to is null or valid_to >= D + 1 day)`.
with versions as (
    select * from {{ ref('int_indicator_values_versioned') }}
),

final as (
    select
        value_id,
        plan_id,
        indicator_code,
        {{ dbt.concat(["plan_id", "'|'", "indicator_code"]) }} as indicator_key,
        period,
        period_year,
        period_quarter,
        value_type,
        value,
        previous_value,
        unit_reported,
        note,
        review_state,
        review_reasons,
        explanation,
        submission_id,
        file_sha256,
        department_code,
        original_name,
        sheet_name,
        source_row,
        received_at,
        version_number,
        superseded_by,
        superseded_at,
        valid_from,
        valid_to,
        is_latest
    from versions
)

select * from final
