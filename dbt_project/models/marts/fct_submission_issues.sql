-- What went wrong with a file or row, and what the department should do (bilingual).
with issues as (
    select * from {{ ref('int_submission_issues') }}
),

final as (
    select * from issues
)

select * from final
