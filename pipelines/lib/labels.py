"""Bilingual labels for what users see: statuses, methods and the columns of exported marts."""

from __future__ import annotations

STATUS = {
    # indicator attainment
    "achieved": ("已达标", "achieved"),
    "on_track": ("进度正常", "on track"),
    "at_risk": ("存在风险", "at risk"),
    "off_track": ("偏离目标", "off track"),
    "awaiting_target": ("待下达目标", "awaiting target"),
    "insufficient_data": ("数据不足", "insufficient data"),
    "no_data": ("逾期未报", "no data"),
    "not_due": ("未到报送期", "not yet due"),
    # trend
    "target_achieved": ("已达标", "target achieved"),
    "needs_acceleration": ("需加快", "needs acceleration"),
    "limited_progress": ("进展有限", "limited progress"),
    "deterioration": ("倒退", "deterioration"),
    # projects
    "red": ("红灯", "red"),
    "amber": ("黄灯", "amber"),
    "green": ("绿灯", "green"),
    "completed": ("已完成", "completed"),
    "done_on_time": ("按期完成", "done on time"),
    "done_late": ("延期完成", "done late"),
    "overdue": ("已逾期", "overdue"),
    "due_soon": ("即将到期", "due soon"),
    # compliance
    "on_time": ("按时", "on time"),
    "late": ("迟报", "late"),
    "missing": ("缺报", "missing"),
    # submissions
    "accepted": ("已接收", "accepted"),
    "accepted_with_warnings": ("接收（有警告）", "accepted with warnings"),
    "rejected": ("已拒收", "rejected"),
    # alerts
    "critical": ("严重", "critical"),
    "warning": ("警告", "warning"),
}

METHOD = {
    "level": ("水平目标", "level target"),
    "maintain": ("保持目标", "maintain target"),
    "rate": ("增速目标", "growth-rate target"),
    "cumulative": ("累计目标", "cumulative target"),
    "superior_assigned": ("上级下达目标", "target assigned by the superior government"),
    "annual": ("年度目标", "annual target"),
}

ATTRIBUTE = {
    "binding": ("约束性", "binding"),
    "expected": ("预期性", "expected"),
    "unspecified": ("其他目标", "other target"),
}

# Chinese headers for exported columns (the English header is the column name itself).
COLUMNS_ZH = {
    "plan_id": "规划编号", "indicator_code": "指标编号", "indicator_key": "指标键", "indicator_kind": "指标类别",
    "indicator_value_key": "数值键", "attainment_key": "评估键", "value_id": "数值记录编号",
    "plan_year": "年度", "period": "统计期", "period_year": "年份", "period_quarter": "季度",
    "value_type": "数值类型", "value": "数值", "previous_value": "上一版本数值", "unit": "单位",
    "unit_reported": "报送单位", "unit_printed": "规划表单位", "note": "备注", "notes": "说明",
    "category_zh": "类别", "category_en": "类别（英文）", "name_zh": "名称", "name_en": "名称（英文）",
    "name_printed": "规划表原文名称", "attribute": "指标属性", "attribute_zh": "指标属性（中文）",
    "direction": "方向", "direction_sign": "方向符号", "target_method": "评估方法", "target_basis": "目标依据",
    "owner_department_code": "责任部门编码", "owner_department_name_zh": "责任部门",
    "owner_department_name_en": "责任部门（英文）", "department_code": "部门编码",
    "department_name_zh": "部门", "department_name_en": "部门（英文）",
    "due_date": "报送截止日", "is_due": "是否已到期", "actual_value": "实际值", "actual_period": "实际值统计期",
    "evaluated_value": "评估值", "running_total": "累计值", "average_growth_rate": "年均增速",
    "baseline_value": "基期值", "baseline_year": "基期年份", "baseline_text": "基期值（原文）",
    "evaluated_baseline": "评估基期值", "evaluated_baseline_year": "评估基期年份",
    "baseline_is_first_actual": "以首个实际值为基期", "baseline_from_first_actual": "无基期（以首个实际值为基期）",
    "is_baseline_estimate": "基期为预计数", "target_value": "目标值", "target_operator": "目标符号",
    "target_year": "目标年份", "target_text": "目标值（原文）", "annual_growth_rate": "年均增长目标（%）",
    "annual_growth_text": "年均增长（原文）", "assigned_target": "上级下达目标", "target_compared": "比较目标",
    "completion": "完成进度", "expected_share": "时序进度", "time_share": "时间进度", "lag": "进度差",
    "growth_shortfall": "增速差距", "meets_target": "是否达标", "status": "状态", "trend_ratio": "趋势比",
    "trend_status": "趋势", "projected_target_year_value": "目标年预计值", "projected_meets_target": "预计能否达标",
    "latest_quarter_period": "最新季度", "latest_quarter_value": "最新季度值",
    "actual_submission_id": "实际值来源报送", "actual_received_at": "实际值接收时间",
    "assigned_target_submission_id": "下达目标来源报送", "as_of_date": "评估日期",
    "latest_year": "最新评估年度", "latest_due_date": "最新截止日", "status_since_year": "状态起始年度",
    "status_since_date": "状态起始日期", "submission_id": "报送编号", "file_sha256": "文件SHA256",
    "original_name": "原文件名", "sheet_name": "工作表", "source_row": "源行号", "received_at": "接收时间",
    "received_date": "接收日期", "versions_known": "已知版本数", "versions_superseded": "被替代版本数",
    "version_number": "版本号", "superseded_by": "被替代为", "superseded_at": "替代时间", "valid_from": "生效时间",
    "valid_to": "失效时间", "is_latest": "是否最新",
    "project_code": "项目编号", "project_key": "项目键", "project_name_zh": "项目名称", "project_name_en": "项目名称（英文）",
    "category": "项目类别", "quantity_target": "目标数量", "quantity_unit": "数量单位", "planned_start": "计划开始",
    "planned_end": "计划完成", "date_source": "日期来源", "milestones_planned": "计划里程碑数",
    "milestones_done": "已完成里程碑", "milestones_overdue": "逾期里程碑", "milestones_due_soon": "即将到期里程碑",
    "max_days_overdue": "最长逾期天数", "is_completed": "是否完成", "completed_on": "完成日期",
    "percent_complete": "形象进度（%）", "investment_to_date": "累计完成投资（万元）",
    "last_progress_report_date": "最近报告日期", "last_progress_submission_id": "最近进度报送",
    "schedule_share_percent": "工期进度（%）", "progress_lag_points": "进度滞后（百分点）", "rag_status": "红黄绿灯",
    "milestone_key": "里程碑键", "milestone_code": "里程碑编码", "seq": "序号", "milestone_name_zh": "里程碑",
    "milestone_name_en": "里程碑（英文）", "milestone_type_name_zh": "里程碑类型", "milestone_type_name_en": "里程碑类型（英文）",
    "planned_date": "计划日期", "quantity_share": "数量比例", "is_final_milestone": "是否最终里程碑",
    "days_late": "延误天数", "milestone_status": "里程碑状态", "last_report_date": "最近报告日期",
    "completion_submission_id": "完成来源报送", "project_percent_complete": "项目形象进度（%）",
    "project_schedule_share_percent": "项目工期进度（%）", "project_progress_lag_points": "项目进度滞后",
    "project_rag_status": "项目红黄绿灯",
    "obligation_id": "报送义务编号", "submission_kind": "报送类型", "period_start": "统计期开始",
    "period_end": "统计期结束", "items_owned": "负责事项数", "is_submitted": "是否已报送",
    "first_received_at": "首次接收时间", "last_received_at": "最近接收时间", "days_after_due": "逾期天数",
    "submissions_count": "报送文件数", "rows_accepted": "接收行数", "rows_rejected": "拒收行数",
    "compliance_status": "报送状态",
    "indicators_owned": "负责指标数", "binding_indicators_owned": "负责约束性指标数", "indicators_achieved": "已达标",
    "indicators_on_track": "进度正常", "indicators_at_risk": "存在风险", "indicators_off_track": "偏离目标",
    "indicators_no_data": "逾期未报", "indicators_awaiting_target": "待下达目标",
    "indicators_insufficient_data": "数据不足", "indicators_not_due": "未到期", "projects_owned": "负责项目数",
    "projects_red": "红灯项目", "projects_amber": "黄灯项目", "projects_green": "绿灯项目",
    "projects_completed": "已完成项目", "periods_on_time": "按时报送期数", "periods_late": "迟报期数",
    "periods_missing": "缺报期数", "files_received": "接收文件数", "files_rejected": "拒收文件数",
    "files_with_warnings": "有警告文件数", "main_indicators_owned": "负责主要指标数",
    "secondary_targets_owned": "负责其他目标数", "region_code": "行政区划代码", "region_name_zh": "区县",
    "region_name_en": "区县（英文）", "short_code": "部门简码", "size_bytes": "文件大小（字节）",
    "detected_format": "文件格式", "detected_encoding": "文件编码", "kinds": "报送内容", "received_at_source": "接收时间来源",
    "processed_at": "处理时间", "rows_total": "总行数", "warnings": "警告数", "errors_recorded": "错误数",
    "warnings_recorded": "警告记录数", "reason_code": "原因代码", "message_zh": "说明", "message_en": "说明（英文）",
    "issue_id": "问题编号", "column_name": "列", "offending_value": "问题值", "record_kind": "记录类型",
    "record_code": "记录编号", "record_period": "记录统计期", "severity": "严重程度", "scope": "范围",
    "detected_at": "发现时间", "submission_status": "文件状态",
    "flag_id": "预警编号", "flag_type": "预警类型", "subject_code": "对象编号", "subject_status": "对象状态",
    "reported_value": "报告值", "title_zh": "标题", "title_en": "标题（英文）", "detail_zh": "详情", "detail_en": "详情（英文）",
    "chapter_zh": "章", "chapter_en": "章（英文）", "section_zh": "节", "quote": "规划原文", "reporting_frequency": "报送频率",
    "value_min": "合理下限", "value_max": "合理上限", "is_cumulative": "是否累计", "is_superior_assigned": "是否上级下达",
    "plan_name_zh": "规划名称", "plan_name_en": "规划名称（英文）", "plan_short_zh": "规划简称", "plan_short_en": "规划简称（英文）",
    "start_year": "起始年", "end_year": "终止年", "source_document": "来源文件",
}


def status_zh(code: str | None) -> str:
    return STATUS.get(code or "", (code or "—", code or "—"))[0]


def status_en(code: str | None) -> str:
    return STATUS.get(code or "", (code or "—", code or "—"))[1]
