-- Reference: the minimum work any implementation must do. One DuckDB script that reads the same
-- inbox files directly and computes indicator attainment for level targets (no validation,
-- quarantine, supersession history, provenance, alerts or report). Placeholders: {inbox}, {seeds}.
-- It reads the UTF-8 indicator CSVs (annual and quarterly files); GB18030 and XLSX files are skipped
-- because DuckDB cannot decode them without extensions, which only makes the reference cheaper.

set enable_progress_bar = false;

create or replace table plans as select * from read_csv('{seeds}/catalog_plans.csv', all_varchar = true);
create or replace table departments as select * from read_csv('{seeds}/catalog_departments.csv', all_varchar = true);
create or replace table indicators as
    select plan_id, indicator_code as code, try_cast(baseline_value as double) as baseline,
           try_cast(target_value as double) as target, target_operator as op,
           try_cast(annual_growth_rate as double) / 100 as g, target_basis, is_cumulative
    from read_csv('{seeds}/catalog_main_indicators.csv', all_varchar = true)
    union all
    select plan_id, target_code, try_cast(baseline_value as double), try_cast(target_value as double), target_operator,
           null, target_basis, is_cumulative
    from read_csv('{seeds}/catalog_secondary_targets.csv', all_varchar = true);

-- The indicator files share the template's column order (指标编号, 指标名称, 统计期, 数值类型, 数值, 单位, 备注),
-- so they are read by position without sniffing each file's header.
create or replace table inbox as
    select * from read_csv('{inbox}/*/*数据.csv', header = true, filename = true, ignore_errors = true,
                           null_padding = true, auto_detect = false,
                           columns = {'code': 'VARCHAR', 'name': 'VARCHAR', 'period': 'VARCHAR', 'value_type': 'VARCHAR',
                                      'value': 'VARCHAR', 'unit': 'VARCHAR', 'note': 'VARCHAR'});

create or replace table values_ as
    select
        split_part(replace(filename, '{inbox}/', ''), '/', 1) as department_code,
        upper(trim(code)) as code,
        period,
        coalesce(nullif(value_type, ''), '实际值') as value_type,
        try_cast(regexp_replace(value, '[^0-9.\-]', '', 'g') as double) as value,
        filename
    from inbox;

create or replace table annual as
    select d.region_code, v.code, cast(left(v.period, 4) as integer) as year,
           max(v.value) filter (where length(v.period) = 4) as annual_value,
           max(v.value) filter (where v.period like '%Q4') as q4_value
    from values_ v join departments d using (department_code)
    where v.value_type in ('实际值', 'actual') and v.value is not null
    group by all;

create or replace table reference_attainment as
    with joined as (
        select i.plan_id, i.code, a.year, coalesce(a.annual_value, a.q4_value) as actual, i.baseline, i.target, i.op, i.g,
               p.baseline_year::integer as y0, 2025 as yt
        from annual a
        join plans p on p.region_code = a.region_code and a.year between p.start_year::integer and p.end_year::integer
        join indicators i on i.plan_id = p.plan_id and i.code = a.code
        where i.target_basis = 'value' and i.is_cumulative = 'false' and i.baseline is not null and i.target is not null
    ),
    measured as (
        select *,
               (actual - baseline) / nullif(target - baseline, 0) as completion,
               case when g is not null and g <> 0
                    then (power(1 + g, year - y0) - 1) / (power(1 + g, yt - y0) - 1)
                    else (year - y0)::double / (yt - y0) end as expected_share,
               case op when '>=' then actual >= target when '>' then actual > target when '<=' then actual <= target
                       when '<' then actual < target else actual = target end as met
        from joined
    )
    select *, expected_share - completion as lag,
           case when met then 'achieved'
                when (actual - baseline) * (target - baseline) < 0 then 'off_track'
                when expected_share - completion <= 0.10 then 'on_track'
                when expected_share - completion <= 0.30 then 'at_risk'
                else 'off_track' end as status
    from measured;
