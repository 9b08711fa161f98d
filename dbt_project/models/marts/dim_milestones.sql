with milestones as (
    select * from {{ ref('int_project_milestones_evaluated') }}
),

final as (
    select
        {{ dbt.concat(["plan_id", "'|'", "project_code", "'|'", "milestone_code"]) }} as milestone_key,
        plan_id,
        project_code,
        {{ dbt.concat(["plan_id", "'|'", "project_code"]) }} as project_key,
        milestone_code,
        seq,
        milestone_name_zh,
        milestone_name_en,
        milestone_type_name_zh,
        milestone_type_name_en,
        planned_date,
        date_source,
        quantity_share,
        is_final_milestone
    from milestones
)

select * from final
