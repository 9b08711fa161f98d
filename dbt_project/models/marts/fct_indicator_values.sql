-- The current value per indicator, period and value type on the evaluation date, with provenance.
with current_values as (
    select * from {{ ref('int_indicator_values_as_of') }}
),

final as (
    select
        {{ dbt.concat(["plan_id", "'|'", "indicator_code", "'|'", "period", "'|'", "value_type"]) }} as indicator_value_key,
        plan_id,
        indicator_code,
        {{ dbt.concat(["plan_id", "'|'", "indicator_code"]) }} as indicator_key,
        period,
        period_year,
        period_quarter,
        value_type,
        value,
        unit_reported,
        note,
        review_state,
        review_reasons,
        explanation,
        value_id,
        submission_id,
        file_sha256,
        department_code,
        original_name,
        sheet_name,
        source_row,
        received_at,
        versions_known,
        versions_superseded,
        as_of_date
    from current_values
)

select * from final
