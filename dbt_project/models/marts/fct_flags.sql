-- What needs attention on the evaluation date (rules: docs block flag_rules). The alerts step keeps
-- the lifecycle of these flags (opened, updated, resolved) in ops.alerts.
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

latest as (
    select * from {{ ref('int_indicator_status_latest') }}
),

projects as (
    select * from {{ ref('int_projects_rated') }}
),

compliance as (
    select * from {{ ref('int_submission_compliance') }}
),

departments as (
    select * from {{ ref('int_departments_enriched') }}
),

indicator_flags as (
    select
        {{ dbt.concat(["'indicator|'", "latest.plan_id", "'|'", "latest.indicator_code"]) }} as flag_id,
        latest.plan_id,
        'binding_indicator' as flag_type,
        latest.indicator_code as subject_code,
        indicators.owner_department_code as department_code,
        case when latest.status in ('off_track', 'no_data', 'not_achieved') then 'critical' else 'warning' end as severity,
        latest.status as subject_status,
        latest.latest_year as period_year,
        coalesce(latest.evaluated_value, latest.value_awaiting_explanation) as reported_value,
        latest.target_compared as target_value,
        indicators.unit,
        {{ dbt.concat(["indicators.indicator_code", "' '", "indicators.name_zh", "'（约束性）'"]) }} as title_zh,
        {{ dbt.concat(["indicators.indicator_code", "' '", "indicators.name_en", "' (binding)'"]) }} as title_en,
        case
            when latest.status = 'no_data' then {{ dbt.concat(["cast(latest.latest_year as string)",
                "'年数据已过报送期限（'", "cast(latest.latest_due_date as string)", "'）仍未报送'"]) }}
            when latest.status = 'not_achieved' then {{ dbt.concat(["cast(latest.latest_year as string)",
                "'年：未完成，报告值 '", "coalesce(cast(round(latest.evaluated_value, 2) as string), '-')",
                "'，目标 '", "coalesce(indicators.target_operator, '')",
                "coalesce(cast(round(latest.target_compared, 2) as string), '-')", "' '", "coalesce(indicators.unit, '')",
                "case when round(latest.shortfall, 2) = 0 then '，与目标持平，未超过目标' else "
                    ~ dbt.concat(["'，差距 '", "coalesce(cast(round(latest.shortfall, 2) as string), '-')"]) ~ " end",
                "case when latest.years_missed > 0 then " ~ dbt.concat(["'（'", "cast(latest.years_missed as string)",
                    "' 个年度未完成下达目标）'"]) ~ " else '' end"]) }}
            when latest.status = 'awaiting_explanation' then {{ dbt.concat(["cast(latest.latest_year as string)",
                "'年报告值 '", "cast(round(latest.value_awaiting_explanation, 2) as string)", "' '",
                "coalesce(indicators.unit, '')", "' 未通过核实性审核，待报送部门书面说明后计入评估'"]) }}
            else {{ dbt.concat(["cast(latest.latest_year as string)", "'年：'",
                "case latest.status when 'off_track' then '偏离目标' else '存在风险' end",
                "'，报告值 '", "coalesce(cast(round(latest.evaluated_value, 2) as string), '-')",
                "'，目标 '", "coalesce(indicators.target_operator, '')",
                "coalesce(cast(round(latest.target_compared, 2) as string), '-')", "' '", "coalesce(indicators.unit, '')"]) }}
        end as detail_zh,
        case
            when latest.status = 'no_data' then {{ dbt.concat(["'No data for '", "cast(latest.latest_year as string)",
                "' although the deadline ('", "cast(latest.latest_due_date as string)", "') has passed'"]) }}
            when latest.status = 'not_achieved' then {{ dbt.concat(["cast(latest.latest_year as string)",
                "': not achieved, reported '", "coalesce(cast(round(latest.evaluated_value, 2) as string), '-')",
                "' against a target of '", "coalesce(indicators.target_operator, '')",
                "coalesce(cast(round(latest.target_compared, 2) as string), '-')", "' '", "coalesce(indicators.unit, '')",
                "case when round(latest.shortfall, 2) = 0 then ', equal to a target that had to be exceeded' else "
                    ~ dbt.concat(["', short by '", "coalesce(cast(round(latest.shortfall, 2) as string), '-')"]) ~ " end",
                "case when latest.years_missed > 0 then " ~ dbt.concat(["' ('", "cast(latest.years_missed as string)",
                    "' year(s) below the assigned target)'"]) ~ " else '' end"]) }}
            when latest.status = 'awaiting_explanation' then {{ dbt.concat(["cast(latest.latest_year as string)",
                "': the reported '", "cast(round(latest.value_awaiting_explanation, 2) as string)", "' '",
                "coalesce(indicators.unit, '')", "' failed a plausibility check and counts once the department explains it'"]) }}
            else {{ dbt.concat(["cast(latest.latest_year as string)", "': '",
                "case latest.status when 'off_track' then 'off track' else 'at risk' end",
                "', reported '", "coalesce(cast(round(latest.evaluated_value, 2) as string), '-')",
                "' against a target of '", "coalesce(indicators.target_operator, '')",
                "coalesce(cast(round(latest.target_compared, 2) as string), '-')", "' '", "coalesce(indicators.unit, '')"]) }}
        end as detail_en
    from latest
    inner join indicators
        on latest.plan_id = indicators.plan_id
        and latest.indicator_code = indicators.indicator_code
    where indicators.attribute = 'binding'
        and latest.status in ('off_track', 'no_data', 'at_risk', 'not_achieved', 'awaiting_explanation')
),

project_flags as (
    select
        {{ dbt.concat(["'project|'", "plan_id", "'|'", "project_code"]) }} as flag_id,
        plan_id,
        'red_project' as flag_type,
        project_code as subject_code,
        owner_department_code as department_code,
        'warning' as severity,
        rag_status as subject_status,
        cast(null as integer) as period_year,
        percent_complete as reported_value,
        schedule_share_percent as target_value,
        '%' as unit,
        {{ dbt.concat(["project_code", "' '", "project_name_zh"]) }} as title_zh,
        {{ dbt.concat(["project_code", "' '", "project_name_en"]) }} as title_en,
        {{ dbt.concat(["'红灯：逾期里程碑 '", "cast(milestones_overdue as string)", "' 个，最长逾期 '",
                       "cast(max_days_overdue as string)", "' 天；形象进度 '",
                       "coalesce(cast(round(percent_complete, 1) as string), '未报')", "'%，按工期应达 '",
                       "cast(round(schedule_share_percent, 1) as string)", "'%'"]) }} as detail_zh,
        {{ dbt.concat(["'Red: '", "cast(milestones_overdue as string)", "' milestone(s) overdue, up to '",
                       "cast(max_days_overdue as string)", "' days; progress '",
                       "coalesce(cast(round(percent_complete, 1) as string), 'not reported')", "'% vs '",
                       "cast(round(schedule_share_percent, 1) as string)", "'% of the schedule elapsed'"]) }} as detail_en
    from projects
    where rag_status = 'red'
),

missing as (
    select
        plan_id,
        department_code,
        submission_kind,
        count(*) as periods_missing,
        {{ dbt.listagg("period_label_zh", "', '", "order by period") }} as missing_periods_zh,
        {{ dbt.listagg("period_label_en", "', '", "order by period") }} as missing_periods_en
    from (
        select
            *,
            case
                when compliance_status = 'incomplete'
                    then {{ dbt.concat(["period", "'（缺 '", "cast(items_missing as string)", "'/'",
                                        "cast(items_owned as string)", "' 项）'"]) }}
                else period
            end as period_label_zh,
            case
                when compliance_status = 'incomplete'
                    then {{ dbt.concat(["period", "' ('", "cast(items_missing as string)", "' of '",
                                        "cast(items_owned as string)", "' items missing)'"]) }}
                else period
            end as period_label_en
        from compliance
        where compliance_status in ('missing', 'incomplete')
    ) as overdue
    group by plan_id, department_code, submission_kind
),

submission_flags as (
    select
        {{ dbt.concat(["'submission|'", "missing.plan_id", "'|'", "missing.department_code", "'|'",
                       "missing.submission_kind"]) }} as flag_id,
        missing.plan_id,
        'missing_submission' as flag_type,
        missing.submission_kind as subject_code,
        missing.department_code,
        'warning' as severity,
        'missing' as subject_status,
        cast(null as integer) as period_year,
        cast(missing.periods_missing as double) as reported_value,
        cast(null as double) as target_value,
        cast(null as string) as unit,
        {{ dbt.concat(["departments.department_name_zh", "' 报送缺失（'",
                       "case missing.submission_kind when 'indicator_data' then '指标数据' else '项目进度' end", "'）'"]) }}
            as title_zh,
        {{ dbt.concat(["departments.department_name_en", "': missing '", "missing.submission_kind"]) }} as title_en,
        {{ dbt.concat(["'已过期限未报送或未报齐的统计期：'", "missing.missing_periods_zh"]) }} as detail_zh,
        {{ dbt.concat(["'Periods past their deadline not (fully) received: '", "missing.missing_periods_en"]) }} as detail_en
    from missing
    left join departments
        on missing.department_code = departments.department_code
        and missing.plan_id = departments.plan_id
),

unioned as (
    select * from indicator_flags
    union all
    select * from project_flags
    union all
    select * from submission_flags
),

final as (
    select
        unioned.*,
        departments.department_name_zh,
        departments.department_name_en,
        {{ as_of_date() }} as as_of_date
    from unioned
    left join departments
        on unioned.department_code = departments.department_code
        and unioned.plan_id = departments.plan_id
)

select * from final
