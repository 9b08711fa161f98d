with source as (
    select * from {{ source('raw', 'project_progress') }}
),

renamed as (
    select
        cast(submission_id as string) as submission_id,
        cast(file_sha256 as string) as file_sha256,
        cast(department_code as string) as department_code,
        cast(sheet_name as string) as sheet_name,
        cast(source_row as integer) as source_row,
        cast(received_at as timestamp) as received_at,
        cast(plan_id as string) as plan_id,
        cast(project_code as string) as project_code,
        cast(milestone_code as string) as milestone_code,
        cast(report_date as date) as report_date,
        cast(completed_on as date) as completed_on,
        cast(percent_complete as double) as percent_complete,
        cast(investment_to_date as double) as investment_to_date,
        cast(note as string) as note
    from source
)

select * from renamed
