-- Per department and due period: every owed item on time, late, incomplete, missing (or not yet due), rows rejected.
with compliance as (
    select * from {{ ref('int_submission_compliance') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
),

final as (
    select
        compliance.obligation_id,
        compliance.plan_id,
        compliance.department_code,
        departments.department_name_zh,
        departments.department_name_en,
        compliance.submission_kind,
        compliance.period,
        compliance.period_year,
        compliance.period_start,
        compliance.period_end,
        compliance.due_date,
        compliance.items_owned,
        compliance.items_delivered,
        compliance.items_missing,
        compliance.is_submitted,
        compliance.first_received_at,
        compliance.last_received_at,
        compliance.completed_at,
        compliance.days_after_due,
        compliance.submissions_count,
        compliance.rows_accepted,
        compliance.rows_rejected,
        compliance.items_awaiting_explanation,
        compliance.compliance_status,
        compliance.as_of_date
    from compliance
    left join departments
        on compliance.department_code = departments.department_code
        and compliance.plan_id = departments.plan_id
)

select * from final
