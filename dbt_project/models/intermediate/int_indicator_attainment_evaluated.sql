-- Attainment per indicator and plan year up to the evaluation date (method: docs block `attainment_method`).
with indicators as (
    select * from {{ ref('int_indicators_unioned') }}
),

plan_years as (
    select * from {{ ref('int_plans_years') }}
),

annual as (
    select * from {{ ref('int_indicator_annual_values') }}
),

categories as (
    select * from {{ ref('stg_catalog__evaluation_categories') }}
),

spine as (
    select
        indicators.*,
        plan_years.plan_year,
        plan_years.annual_due_date as due_date,
        plan_years.annual_due_date < {{ as_of_date() }} as is_due
    from indicators
    inner join plan_years
        on indicators.plan_id = plan_years.plan_id
    where plan_years.year_start_date <= {{ as_of_date() }}
),

with_values as (
    select
        spine.*,
        annual.actual_value,
        annual.pending_value,
        annual.actual_review_state,
        annual.actual_explanation,
        annual.actual_period,
        annual.actual_submission_id,
        annual.actual_received_at,
        annual.assigned_target,
        annual.assigned_target_submission_id,
        annual.latest_quarter_period,
        annual.latest_quarter_value
    from spine
    left join annual
        on spine.plan_id = annual.plan_id
        and spine.indicator_code = annual.indicator_code
        and spine.plan_year = annual.period_year
),

first_actual as (
    -- the earliest reported actual, the baseline of indicators printed without one (I08, I31)
    select
        plan_id,
        indicator_code,
        plan_year as first_actual_year,
        actual_value as first_actual_value
    from (
        select
            plan_id,
            indicator_code,
            plan_year,
            actual_value,
            row_number() over (partition by plan_id, indicator_code order by plan_year) as rn
        from with_values
        where actual_value is not null
    ) as f
    where rn = 1
),

running as (
    select
        with_values.*,
        first_actual.first_actual_year,
        first_actual.first_actual_value,
        -- rounded to 9 decimals, as lag_status: 0.5 + 0.2 + 0.1 (0.7999999999999999) must meet 0.8
        round(sum(actual_value) over (
            partition by with_values.plan_id, with_values.indicator_code
            order by plan_year rows between unbounded preceding and current row
        ), 9) as running_total,
        sum(case when actual_value > -100 then ln(1 + actual_value / 100.0) end) over (
            partition by with_values.plan_id, with_values.indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as sum_log_growth,
        count(case when actual_value > -100 then 1 end) over (
            partition by with_values.plan_id, with_values.indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as growth_points,
        -- plan years begun up to this one, and how many of them have an actual (final rules need all)
        count(*) over (
            partition by with_values.plan_id, with_values.indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as years_in_window,
        count(actual_value) over (
            partition by with_values.plan_id, with_values.indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as years_reported
    from with_values
    left join first_actual
        on with_values.plan_id = first_actual.plan_id
        and with_values.indicator_code = first_actual.indicator_code
),

measured as (
    -- the value, baseline and baseline year each method compares
    select
        *,
        case
            when target_method = 'cumulative' then running_total
            when target_method = 'rate' and actual_value is not null and growth_points > 0
                then round((exp(sum_log_growth / growth_points) - 1) * 100, 9)
            else actual_value
        end as evaluated_value,
        case
            when target_method = 'cumulative' then 0.0
            when baseline_from_first_actual then first_actual_value
            else baseline_value
        end as evaluated_baseline,
        case when baseline_from_first_actual then first_actual_year else baseline_year end as evaluated_baseline_year,
        case
            -- rounded likewise: five years of 5.5 % average 5.499999999999994 % unrounded
            when target_method = 'rate' and growth_points > 0
                then round((exp(sum_log_growth / growth_points) - 1) * 100, 9)
        end as average_growth_rate,
        cast(annual_growth_rate as double) / 100.0 as g
    from running
),

shares as (
    select
        *,
        case
            when target_year <= evaluated_baseline_year then 1.0
            when plan_year >= target_year then 1.0
            when plan_year <= evaluated_baseline_year then 0.0
            else cast(plan_year - evaluated_baseline_year as double) / (target_year - evaluated_baseline_year)
        end as time_share,
        case
            when target_year <= evaluated_baseline_year or plan_year >= target_year then 1.0
            when plan_year <= evaluated_baseline_year then 0.0
            when g is not null and g <> 0
                then (power(1 + g, cast(plan_year - evaluated_baseline_year as double)) - 1)
                    / (power(1 + g, cast(target_year - evaluated_baseline_year as double)) - 1)
            else cast(plan_year - evaluated_baseline_year as double) / (target_year - evaluated_baseline_year)
        end as expected_share,
        {{ safe_divide('evaluated_value - evaluated_baseline', 'target_value - evaluated_baseline') }} as completion,
        case
            when target_method = 'superior_assigned'
                then
                    case
                        when actual_value is null or assigned_target is null then null
                        else direction_sign * (actual_value - assigned_target) >= 0
                    end
            else {{ meets_target('evaluated_value', 'target_operator', 'target_value') }}
        end as meets_target,
        {{ meets_target('evaluated_baseline', 'target_operator', 'target_value') }} as baseline_meets_target,
        -- s = d·(g − avg)/|g|: positive when the average falls short in the indicator's direction, also
        -- for a negative g; g = 0 has no scale: 0 when the average meets it, 1 (off track) when not
        case
            when average_growth_rate is null or annual_growth_rate is null then null
            when annual_growth_rate = 0
                then case when direction_sign * average_growth_rate >= 0 then 0.0 else 1.0 end
            else direction_sign * (annual_growth_rate - average_growth_rate) / abs(annual_growth_rate)
        end as growth_shortfall
    from measured
),

compared as (
    -- this year's own comparison (rate: the average so far against g) and, when it misses, by how much in
    -- the indicator's direction: in its unit (percentage points for rates) and relative to the target
    select
        *,
        plan_year >= target_year as is_final_year,
        case when target_method = 'rate' then growth_shortfall <= 0 else meets_target end as met,
        case
            when target_method = 'rate' then direction_sign * (annual_growth_rate - average_growth_rate)
            when target_method = 'superior_assigned' then direction_sign * (assigned_target - actual_value)
            when target_operator = '=' then abs(evaluated_value - target_value)
            when target_operator in ('>=', '>') then target_value - evaluated_value
            when target_operator in ('<=', '<') then evaluated_value - target_value
        end as raw_shortfall,
        case
            when target_method = 'rate' then annual_growth_rate
            when target_method = 'superior_assigned' then assigned_target
            else target_value
        end as compared_target
    from shares
),

year_counts as (
    -- every-year targets (assigned by the superior government, or 每年…): years met and missed so far
    select
        *,
        case
            when met = false then greatest(raw_shortfall, 0.0)
        end as year_shortfall,
        case
            when met = false then {{ safe_divide('greatest(raw_shortfall, 0.0)', 'abs(compared_target)') }}
        end as year_shortfall_ratio,
        sum(case when met then 1 else 0 end) over (
            partition by plan_id, indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as years_met,
        sum(case when met = false then 1 else 0 end) over (
            partition by plan_id, indicator_code
            order by plan_year rows between unbounded preceding and current row
        ) as years_missed
    from compared
),

worst_miss as (
    -- for an every-year target in its final years: the year that missed by the most so far
    select
        plan_id,
        indicator_code,
        plan_year,
        worst_shortfall,
        worst_shortfall_ratio
    from (
        select
            final_year.plan_id,
            final_year.indicator_code,
            final_year.plan_year,
            missed.year_shortfall as worst_shortfall,
            missed.year_shortfall_ratio as worst_shortfall_ratio,
            row_number() over (
                partition by final_year.plan_id, final_year.indicator_code, final_year.plan_year
                order by missed.year_shortfall_ratio desc nulls last, missed.year_shortfall desc, missed.plan_year desc
            ) as rn
        from year_counts as final_year
        inner join year_counts as missed
            on final_year.plan_id = missed.plan_id
            and final_year.indicator_code = missed.indicator_code
            and final_year.plan_year >= missed.plan_year
            and missed.met = false
        where final_year.is_final_year and final_year.target_method in ('superior_assigned', 'annual')
    ) as ranked
    where rn = 1
),

with_worst as (
    select
        year_counts.*,
        worst_miss.worst_shortfall,
        worst_miss.worst_shortfall_ratio
    from year_counts
    left join worst_miss
        on year_counts.plan_id = worst_miss.plan_id
        and year_counts.indicator_code = worst_miss.indicator_code
        and year_counts.plan_year = worst_miss.plan_year
),

statused as (
    select
        *,
        case when target_method in ('level', 'cumulative') then expected_share - completion end as lag,
        case
            -- a value that failed a soft check counts once the department explains it (核实性审核)
            when actual_value is null and pending_value is not null then 'awaiting_explanation'
            when actual_value is null and is_due then 'no_data'
            when actual_value is null then 'not_due'
            -- final statuses (docs block attainment_method): the target year or later, its value reported
            when is_final_year and target_method in ('superior_assigned', 'annual')
                then
                    case
                        when years_missed > 0 then 'not_achieved'
                        when target_method = 'superior_assigned' and assigned_target is null then 'awaiting_target'
                        when years_met < years_in_window then 'insufficient_data'
                        else 'achieved'
                    end
            when is_final_year and target_method = 'rate'
                then
                    case
                        when met is null or years_reported < years_in_window then 'insufficient_data'
                        when met then 'achieved'
                        else 'not_achieved'
                    end
            when is_final_year and target_method = 'cumulative'
                then
                    -- a missing year can only add to the total: it cannot undo a total already reached
                    -- (higher is better) nor a cap already exceeded (lower is better)
                    case
                        when met is null then 'insufficient_data'
                        when met and (years_reported = years_in_window or direction_sign > 0) then 'achieved'
                        when not met and (years_reported = years_in_window or direction_sign < 0) then 'not_achieved'
                        else 'insufficient_data'
                    end
            when is_final_year
                then
                    case
                        when met then 'achieved'
                        when not met then 'not_achieved'
                        else 'insufficient_data'
                    end
            -- years before the target year
            when target_method = 'superior_assigned'
                then
                    case
                        when assigned_target is null then 'awaiting_target'
                        when meets_target then 'on_track'
                        else 'off_track'
                    end
            when target_method = 'annual' then case when meets_target then 'on_track' else 'off_track' end
            when target_method = 'maintain' then case when meets_target then 'on_track' else 'off_track' end
            when target_method = 'rate'
                then
                    case
                        when growth_shortfall is null then 'insufficient_data'
                        else {{ lag_status('growth_shortfall') }}
                    end
            -- level and cumulative targets
            when meets_target then 'achieved'
            when baseline_from_first_actual and plan_year = first_actual_year then 'insufficient_data'
            when evaluated_baseline is null then 'insufficient_data'
            when baseline_meets_target then 'off_track'
            when (evaluated_value - evaluated_baseline) * (target_value - evaluated_baseline) < 0 then 'off_track'
            when completion is null then 'off_track'
            else {{ lag_status('expected_share - completion') }}
        end as status
    from with_worst
),

trend_inputs as (
    select
        *,
        plan_year - evaluated_baseline_year as years_observed,
        target_year - evaluated_baseline_year as years_required,
        case when evaluated_baseline = 0 then 0.001 else evaluated_baseline end as trend_base,
        case when evaluated_value = 0 then 0.001 else evaluated_value end as trend_value,
        case when target_value = 0 then 0.001 else target_value end as trend_target
    from statused
),

trend_rates as (
    select
        *,
        case
            when target_method in ('level', 'maintain') and actual_value is not null and years_observed > 0
                and trend_base > 0 and trend_value > 0
                then power(trend_value / trend_base, cast(1 as double) / years_observed) - 1
        end as cagr_observed,
        case
            when target_method in ('level', 'maintain') and years_required > 0 and trend_base > 0 and trend_target > 0
                then power(trend_target / trend_base, cast(1 as double) / years_required) - 1
        end as cagr_required,
        case
            when target_method = 'cumulative' and actual_value is not null and years_observed > 0
                then running_total / years_observed
        end as pace_observed,
        case
            when target_method = 'cumulative' and years_required > 0 then target_value / years_required
        end as pace_required
    from trend_inputs
),

trended as (
    select
        *,
        case
            when cagr_observed is not null and cagr_required is not null and cagr_required <> 0
                then direction_sign * cagr_observed / abs(cagr_required)
            when pace_observed is not null and pace_required is not null and pace_required <> 0
                then direction_sign * pace_observed / abs(pace_required)
        end as trend_ratio,
        case
            when cagr_observed is not null then trend_base * power(1 + cagr_observed, cast(years_required as double))
            when pace_observed is not null then pace_observed * years_required
        end as projected_target_year_value
    from trend_rates
),

evaluated as (
    select
        plan_id,
        indicator_code,
        plan_year,
        indicator_kind,
        category_zh,
        category_en,
        name_zh,
        name_en,
        unit,
        attribute,
        direction,
        direction_sign,
        target_method,
        owner_department_code,
        due_date,
        is_due,
        actual_value,
        pending_value as value_awaiting_explanation,
        actual_review_state,
        actual_explanation,
        actual_period,
        running_total,
        average_growth_rate,
        baseline_value,
        baseline_year,
        evaluated_value,
        evaluated_baseline,
        evaluated_baseline_year,
        baseline_from_first_actual and first_actual_year is not null as baseline_is_first_actual,
        target_value,
        target_operator,
        target_year,
        annual_growth_rate,
        assigned_target,
        case
            when target_method = 'superior_assigned' then assigned_target
            when target_method = 'rate' then annual_growth_rate
            else target_value
        end as target_compared,
        -- completion means (A − B)/(T − B) only where the target is a level or a total to reach: for a target
        -- to maintain, a growth rate or a yearly target it is not a share of anything (a maintain target missed
        -- by a little read as '159 %' done)
        case when target_method in ('level', 'cumulative') then completion end as completion,
        expected_share,
        time_share,
        lag,
        growth_shortfall,
        met as meets_target,
        status,
        is_final_year,
        case when target_method in ('superior_assigned', 'annual') then cast(years_met as integer) end as years_met,
        case when target_method in ('superior_assigned', 'annual') then cast(years_missed as integer) end as years_missed,
        case
            when status <> 'not_achieved' then null
            when target_method in ('superior_assigned', 'annual') then worst_shortfall
            else greatest(raw_shortfall, 0.0)
        end as shortfall,
        case
            when status <> 'not_achieved' then null
            when target_method in ('superior_assigned', 'annual') then worst_shortfall_ratio
            else {{ safe_divide('greatest(raw_shortfall, 0.0)', 'abs(compared_target)') }}
        end as shortfall_ratio,
        {{ evaluation_category('status', 'is_final_year', 'target_method', 'completion - expected_share', 'growth_shortfall') }}
            as evaluation_category,
        trend_ratio,
        case
            when actual_value is null then null
            when is_final_year then null
            when target_method not in ('level', 'maintain', 'cumulative') then null
            when meets_target then 'target_achieved'
            when trend_ratio is null then null
            when trend_ratio >= {{ var('trend_on_track_ratio') }} then 'on_track'
            when trend_ratio >= {{ var('trend_needs_acceleration_ratio') }} then 'needs_acceleration'
            when trend_ratio >= 0 then 'limited_progress'
            else 'deterioration'
        end as trend_status,
        -- once the target year is reached there is nothing left to project
        case when not is_final_year then projected_target_year_value end as projected_target_year_value,
        case
            when not is_final_year then {{ meets_target('projected_target_year_value', 'target_operator', 'target_value') }}
        end as projected_meets_target,
        latest_quarter_period,
        latest_quarter_value,
        actual_submission_id,
        actual_received_at,
        assigned_target_submission_id,
        {{ as_of_date() }} as as_of_date
    from trended
),

final as (
    select
        evaluated.*,
        categories.evaluation_category_zh,
        categories.evaluation_category_en
    from evaluated
    left join categories
        on evaluated.evaluation_category = categories.evaluation_category
)

select * from final
