"""Reason codes for rejected files and rows, with the bilingual message shown to departments.

Every quarantine row carries one of these codes. Messages say what is wrong and what to do;
placeholders are filled from the offending value, column, expected values, etc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FILE = "file"
ROW = "row"
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Reason:
    code: str
    scope: str  # file: the whole file is rejected; row: only the row (or a warning on it)
    severity: str  # error | warning
    zh: str
    en: str
    # soft checks (核实性审核): the row is loaded but counts only once the department explains it
    needs_explanation: bool = False


_REASONS = [
    # ---- file level: nothing from the file is loaded ----
    Reason(
        "unsafe_file_name",
        FILE,
        ERROR,
        "文件名“{value}”含有路径符号、控制字符或绝对路径，出于安全原因不予接收。请改用普通文件名（如“2023年指标数据.csv”）后重新上传。",
        "The file name '{value}' contains path separators, '..', control characters or an absolute path and is refused for safety. Rename it to a plain name (e.g. 'indicators_2023.csv') and upload it again.",
    ),
    Reason(
        "symlink_not_allowed",
        FILE,
        ERROR,
        "“{value}”是一个符号链接（快捷方式），不予接收。请上传文件本身。",
        "'{value}' is a symbolic link; links are never followed. Upload the file itself.",
    ),
    Reason(
        "not_a_regular_file",
        FILE,
        ERROR,
        "“{value}”不是普通文件（命名管道、套接字或设备文件），不予读取。请放入文件本身。",
        "'{value}' is not a regular file (a named pipe, socket or device) and is never read. Put the file itself in the folder.",
    ),
    Reason(
        "file_not_readable",
        FILE,
        ERROR,
        "数据仓库无法打开该文件（{value}），整个文件未入库。通常是文件权限不对：请让文件对所有人可读（如 chmod 644）或重新复制一份放入；如仍失败，请联系数据组。",
        "The warehouse could not open this file ({value}), so nothing from it was loaded. This is usually its permissions: make it readable (e.g. chmod 644) or copy it in again; if that fails too, contact the data team.",
    ),
    Reason(
        "not_in_department_folder",
        FILE,
        ERROR,
        "文件“{value}”不在任何部门文件夹中。请放入 raw/inbox/<部门编码>/ 目录。",
        "The file '{value}' is not inside a department folder. Put it in raw/inbox/<department_code>/.",
    ),
    Reason(
        "unknown_department",
        FILE,
        ERROR,
        "文件夹“{value}”不是已登记的部门编码。请使用目录中的部门编码（见 dim_departments）。",
        "The folder '{value}' is not a registered department code. Use your department code as listed in dim_departments.",
    ),
    Reason(
        "hidden_or_temporary_file",
        FILE,
        WARNING,  # ignored, not rejected: the department did not submit it (the file's status is `ignored`)
        "“{value}”是编辑器或传输软件留下的临时文件（如 ~$、.~lock、.tmp、.part、.crdownload 或隐藏文件），已忽略，不作为报送。"
        "如果正式文件尚未放入，请关闭 Excel/WPS 或等待下载完成后再放入正式文件。",
        "'{value}' is a temporary file left by an editor or a transfer (~$, .~lock, .tmp, .part, .crdownload or a "
        "hidden file) and was ignored: it is not a submission. If the real file is not there yet, close Excel/WPS "
        "or let the download finish, then put the real file in.",
    ),
    Reason(
        "file_too_large",
        FILE,
        ERROR,
        "文件大小 {value} 字节，超过上限 {expected} 字节。请拆分文件或删除无关内容后重新上传。",
        "The file is {value} bytes, above the limit of {expected} bytes. Split it or remove unrelated content, then upload again.",
    ),
    Reason(
        "unsupported_format",
        FILE,
        ERROR,
        "不支持的文件类型“{value}”。只接收 .csv（UTF-8 或 GB18030/GBK 编码）和 .xlsx 文件。",
        "Unsupported file type '{value}'. Only .csv (UTF-8 or GB18030/GBK) and .xlsx files are accepted.",
    ),
    Reason(
        "empty_file",
        FILE,
        ERROR,
        "文件是空的。请填写数据后重新上传。",
        "The file is empty. Fill in the data and upload it again.",
    ),
    Reason(
        "binary_content",
        FILE,
        ERROR,
        "CSV 文件中含有二进制内容（NUL 字符），无法作为文本读取。请在 Excel 中“另存为 CSV”后重新上传。",
        "The CSV file contains binary content (NUL bytes) and cannot be read as text. Use 'Save as CSV' in Excel and upload again.",
    ),
    Reason(
        "undecodable",
        FILE,
        ERROR,
        "无法识别文件编码：既不是 UTF-8 也不是 GB18030/GBK。请另存为“CSV UTF-8”格式后重新上传。",
        "The file encoding is neither UTF-8 nor GB18030/GBK. Save it as 'CSV UTF-8' and upload again.",
    ),
    Reason(
        "unsupported_encoding",
        FILE,
        ERROR,
        "文件编码为 {value}（Excel 的“Unicode 文本”），不在接收范围内。只接收 UTF-8（可带 BOM）或 GB18030/GBK 编码的 CSV。请在 Excel 中“另存为 → CSV UTF-8(逗号分隔)”后重新上传。",
        "The file is encoded as {value} (Excel's 'Unicode Text'), which is not accepted: CSV files must be UTF-8 (with or without BOM) or GB18030/GBK. In Excel use 'Save as → CSV UTF-8 (Comma delimited)' and upload again.",
    ),
    Reason(
        "mojibake",
        FILE,
        ERROR,
        "文件内容出现乱码（如“{value}”），可能在转换编码时已损坏。请从原始 Excel 重新“另存为 CSV UTF-8”后上传。",
        "The text is garbled (e.g. '{value}'): the file was probably damaged by a wrong encoding conversion. Save it again from the original workbook as 'CSV UTF-8'.",
    ),
    Reason(
        "malformed_csv",
        FILE,
        ERROR,
        "CSV 格式错误（{value}）。请检查引号是否成对，或从 Excel 重新导出。",
        "The CSV is malformed ({value}). Check that quotes are balanced, or export it again from Excel.",
    ),
    Reason(
        "unbalanced_quote",
        FILE,
        ERROR,
        'CSV 文件第 {value} 行开始的引号没有配对，其后的内容都被读成了一个单元格。请检查该行的英文引号（"）是否成对，或从 Excel 重新导出。',
        'The quote opened on line {value} of the CSV is never closed, so everything after it reads as one cell. Check that the double quotes (") on that line are balanced, or export the file again from Excel.',
    ),
    Reason(
        "wrong_delimiter",
        FILE,
        ERROR,
        "CSV 文件用{value}分隔各列，本系统只接收英文逗号分隔的 CSV。请在 Excel 中“另存为 → CSV UTF-8(逗号分隔)”后重新上传。",
        "The CSV separates its columns with {value}; only comma-separated CSV is accepted. In Excel use 'Save as → CSV UTF-8 (Comma delimited)' and upload again.",
    ),
    Reason(
        "too_many_columns",
        FILE,
        ERROR,
        "文件有 {value} 列，超过上限 {expected} 列，不是有效的报送模板。请使用标准模板。",
        "The file has {value} columns, above the limit of {expected}: it is not a submission template. Use the standard template.",
    ),
    Reason(
        "disguised_file",
        FILE,
        ERROR,
        "文件扩展名“{expected}”与内容不符：实际内容是{value}。请在 Excel 中“另存为 Excel 工作簿(*.xlsx)”或“CSV UTF-8”后重新上传。",
        "The file is named '{expected}' but is really {value}. In Excel use 'Save as Excel Workbook (*.xlsx)' or 'CSV UTF-8' and upload again.",
    ),
    Reason(
        "encrypted_workbook",
        FILE,
        ERROR,
        "工作簿设置了打开密码（已加密），无法读取。请在 Excel 中取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）后重新保存上传。",
        "The workbook is password-protected (encrypted) and cannot be read. Remove the password (File → Info → Protect Workbook → Encrypt with Password, clear it), save and upload again.",
    ),
    Reason(
        "unsafe_archive",
        FILE,
        ERROR,
        "xlsx 文件结构异常（{value}），疑似压缩炸弹，出于安全原因拒收。请重新保存工作簿后上传。",
        "The .xlsx archive looks unsafe ({value}) and is refused. Save the workbook again and upload it.",
    ),
    Reason(
        "merged_range_too_large",
        FILE,
        ERROR,
        "工作簿中的合并单元格范围过大（{value}），出于安全原因拒收。请取消整行、整列或整张表的合并（选中后点“合并后居中”取消），再保存上传。",
        "The workbook merges too large a range of cells ({value}) and is refused for safety. Unmerge whole rows, columns or sheets (select them and undo 'Merge & Center'), save and upload again.",
    ),
    Reason(
        "too_many_cells",
        FILE,
        ERROR,
        "工作簿共有 {value}（多数在{where}中；只设置了格式的空单元格、空行也算），超过上限 {expected}，读取它会占用过多内存，出于安全原因拒收。请删除无关的工作表，并删除（选中后右键“删除”，而非仅清除内容）数据下方和右侧多余的行列，再保存上传。",
        "The workbook holds {value} (most of them in {where}; formatted empty cells and rows count too), above the limit of {expected}: reading it would take too much memory, so it is refused for safety. Delete unrelated sheets and delete (select, right-click, Delete; not just clear) the extra rows and columns below and to the right of the data, then save and upload again.",
    ),
    Reason(
        "unreadable_workbook",
        FILE,
        ERROR,
        "工作簿无法读取（{value}）。请在 Excel 中打开确认无误后重新保存上传。",
        "The workbook cannot be read ({value}). Open it in Excel, check it, save it again and upload.",
    ),
    Reason(
        "unreadable_file",
        FILE,
        ERROR,
        "文件无法读取（{value}），整个文件未入库。请用标准模板重新保存（CSV UTF-8 或 .xlsx）后上传；如仍失败，请联系数据组。",
        "The file could not be read ({value}), so nothing from it was loaded. Save it again from the standard template (CSV UTF-8 or .xlsx) and upload it; if that fails too, contact the data team.",
    ),
    Reason(
        "no_matching_sheet",
        FILE,
        ERROR,
        "工作簿中没有名为“指标数据”或“项目进度”的可见工作表（现有：{value}）。请使用标准模板的工作表名称。",
        "The workbook has no visible sheet named 指标数据 (indicator data) or 项目进度 (project progress) (found: {value}). Use the template's sheet names.",
    ),
    Reason(
        "sheet_not_found",
        FILE,
        ERROR,
        "工作簿中没有“{expected}”工作表（现有工作表：{value}），其他工作表也没有数据行。如果改过工作表名称，请改回“{expected}”，填写数据后重新上传。",
        "The workbook has no sheet named {expected} (its sheets: {value}), and the other sheets have no data rows. If the sheet was renamed, name it {expected} again, fill it in and upload again.",
    ),
    Reason(
        "sheet_not_read",
        FILE,
        WARNING,
        "工作表“{value}”看起来是{expected}，但名称不是“{expected}”，未读取。如需报送其中的数据，请把工作表改名为“{expected}”后重新上传。",
        "The sheet '{value}' looks like {expected} data but is not named {expected}, so it was not read. To report its rows, rename the sheet {expected} and upload again.",
    ),
    Reason(
        "hidden_rows",
        FILE,
        WARNING,
        "第 {value} 行在 Excel 中被隐藏（或被筛选掉），已照常读取。如这些行不应报送，请删除后重新上传。",
        "These rows are hidden in Excel (or filtered out) and were read like the others: {value}. If they are not meant to be reported, delete them and upload again.",
    ),
    Reason(
        "sheet_hidden",
        FILE,
        ERROR,
        "工作表“{value}”被隐藏，隐藏的工作表不予读取。请取消隐藏后重新上传。",
        "The sheet '{value}' is hidden; hidden sheets are never read. Unhide it and upload again.",
    ),
    Reason(
        "unrecognised_columns",
        FILE,
        ERROR,
        "无法识别表头（{value}）。指标数据需要“指标编号、统计期、数值”列，项目进度需要“项目编号、里程碑、报告日期”列。",
        "The column headings are not recognised ({value}). Indicator data needs 指标编号/indicator_code, 统计期/period, 数值/value; project progress needs 项目编号/project_code, 里程碑/milestone, 报告日期/report_date.",
    ),
    Reason(
        "missing_columns",
        FILE,
        ERROR,
        "缺少必填列：{value}。请使用标准模板，保留所有必填列的表头。",
        "Required columns are missing: {value}. Use the standard template and keep every required heading.",
    ),
    Reason(
        "duplicate_columns",
        FILE,
        ERROR,
        "表头“{value}”出现在多列中（可能是合并单元格）。请取消合并，使每列只有一个表头。",
        "The heading '{value}' appears in more than one column (merged cells?). Unmerge the cells so each column has exactly one heading.",
    ),
    Reason(
        "header_only",
        FILE,
        ERROR,
        "文件没有数据行（没有填写任何数值），整个文件未入库。请在模板中填写数值后重新上传。",
        "The file has no data rows (no value is filled in), so nothing was loaded. Fill in the template and upload again.",
    ),
    Reason(
        "other_department_codes",
        FILE,
        ERROR,
        "文件包含其他部门负责的编号 {value}（负责部门：{expected}）。各部门只能报送本部门负责的指标和项目，整个文件未入库。请删除这些行或由负责部门报送。",
        "The file contains codes owned by another department: {value} (owner: {expected}). A department may only report its own indicators and projects, so nothing from this file was loaded. Remove those rows or have the owner submit them.",
    ),
    Reason(
        "all_rows_rejected",
        FILE,
        ERROR,
        "文件中所有数据行均未通过校验，文件未入库。请按各行的提示修改后重新上传。",
        "Every data row failed validation, so nothing was loaded. Fix the rows as described in their messages and upload again.",
    ),
    # ---- row level errors: the row is rejected, the rest of the file is kept ----
    Reason(
        "formula_without_value",
        ROW,
        ERROR,
        "第 {row} 行“{column}”是公式但没有计算结果（文件未在 Excel 中保存计算值）。请在 Excel 中打开、重新计算并保存，或粘贴为数值。",
        "Row {row}, column '{column}' holds a formula with no calculated value (the workbook was not saved by Excel). Open it in Excel, recalculate and save, or paste the values.",
    ),
    Reason(
        "extra_cells",
        ROW,
        ERROR,
        '第 {row} 行的单元格比表头多（多出：{value}），该行未入库，以免读错数值。通常是数值中的千分位逗号没有加引号，把一个数拆成了两列。请删去千分位逗号（如 80117）或给数值加英文引号（如 "80,117"）后重新上传。',
        'Row {row} has more cells than the header (extra: {value}), so it was not loaded rather than risk reading a wrong value. Usually a thousands separator in an unquoted number split it into two cells. Write the number without the comma (80117) or in quotes ("80,117") and upload again.',
    ),
    Reason(
        "missing_code",
        ROW,
        ERROR,
        "第 {row} 行缺少“{column}”。请填写目录中的编号。",
        "Row {row}: '{column}' is empty. Fill in the catalog code.",
    ),
    Reason(
        "unknown_code",
        ROW,
        ERROR,
        "第 {row} 行的编号“{value}”不在规划目录中。请核对编号：本部门应报的编号和名称列在报送模板的“指标数据”“项目进度”表中（模板在报送平台首页下载）。",
        "Row {row}: the code '{value}' is not in the plan catalog. Check the code: the codes your department reports, with their names, are listed in the template's 指标数据 / 项目进度 sheets (download it from the reporting portal's home page).",
    ),
    Reason(
        "code_not_in_period_plan",
        ROW,
        ERROR,
        "第 {row} 行的编号“{value}”不在该统计期所属的规划中（{expected}）。每个统计期只属于一个规划：请使用该规划目录中的编号，或核对统计期。",
        "Row {row}: the code '{value}' is not in the plan its period belongs to ({expected}). Each period belongs to one plan: use that plan's code, or check the period.",
    ),
    Reason(
        "missing_period",
        ROW,
        ERROR,
        "第 {row} 行缺少“统计期”。年度数据填“2023”，季度数据填“2023Q2”。",
        "Row {row}: the period is empty. Use '2023' for annual data or '2023Q2' for quarterly data.",
    ),
    Reason(
        "bad_period",
        ROW,
        ERROR,
        "第 {row} 行的统计期“{value}”无法识别。年度数据填“2023”，季度数据（年初至季末累计）填“2023Q2”。",
        "Row {row}: the period '{value}' is not recognised. Use '2023' for annual data or '2023Q2' for quarterly (year-to-date) data.",
    ),
    Reason(
        "period_outside_plan",
        ROW,
        ERROR,
        "第 {row} 行的统计期“{value}”不在规划期（{expected}）内。请核对年份。",
        "Row {row}: the period '{value}' is outside the plan period ({expected}). Check the year.",
    ),
    Reason(
        "quarter_not_allowed",
        ROW,
        ERROR,
        "第 {row} 行的统计期“{value}”是季度，但指标 {expected} 按年度报送，不接收季度数据。请填写年度统计期（如“2023”）。",
        "Row {row}: the period '{value}' is a quarter, but indicator {expected} is reported annually. Use an annual period such as '2023'.",
    ),
    Reason(
        "future_period",
        ROW,
        ERROR,
        "第 {row} 行的统计期“{value}”在收到文件时（{expected}）尚未结束，不能报送实际值。请核对统计期。",
        "Row {row}: the period '{value}' had not ended when the file was received ({expected}), so it cannot have an actual value. Check the period.",
    ),
    Reason(
        "bad_value_type",
        ROW,
        ERROR,
        "第 {row} 行的数值类型“{value}”无法识别。请填写“实际值”或“下达目标”（或留空表示实际值）。",
        "Row {row}: the value type '{value}' is not recognised. Use 实际值/actual or 下达目标/assigned_target (blank means actual).",
    ),
    Reason(
        "assigned_target_not_applicable",
        ROW,
        ERROR,
        "第 {row} 行的数值类型“{value}”不适用：指标 {expected} 的目标已在规划中确定，只有“完成上级下达任务”类指标可报送“下达目标”。请改为“实际值”。",
        "Row {row}: value type '{value}' does not apply: indicator {expected} has its target fixed in the plan; only the 'assigned by the superior government' indicators take a 下达目标/assigned_target. Report it as an actual value.",
    ),
    Reason(
        "bad_number",
        ROW,
        ERROR,
        "第 {row} 行“{column}”的值“{value}”不是有效数字。请只填写数字（可带千分位逗号、% 或目录单位）。",
        "Row {row}: '{column}' = '{value}' is not a valid number. Enter a number (thousands separators, % or the catalog unit are allowed).",
    ),
    Reason(
        "unit_mismatch",
        ROW,
        ERROR,
        "第 {row} 行的单位“{value}”与目录单位“{expected}”不一致。请换算为“{expected}”后填写。",
        "Row {row}: the unit '{value}' differs from the catalog unit '{expected}'. Convert the value to '{expected}'.",
    ),
    Reason(
        "value_unit_mismatch",
        ROW,
        ERROR,
        "第 {row} 行的数值“{value}”带的单位与目录单位“{expected}”不一致。请换算为“{expected}”后填写（可只填数字）。",
        "Row {row}: the value '{value}' carries a unit other than the catalog unit '{expected}'. Convert it to '{expected}' (a plain number is fine).",
    ),
    Reason(
        "out_of_range",
        ROW,
        ERROR,
        "第 {row} 行“{column}”的值 {value} 超出合理范围（{expected}）。请核对数值和单位。",
        "Row {row}: '{column}' = {value} is outside the plausible range ({expected}). Check the value and its unit.",
    ),
    Reason(
        "conflicting_duplicate",
        ROW,
        ERROR,
        "第 {row} 行与同一文件中的第 {other} 行编号、统计期（日期）相同但数值不同，这些行均未入库。请只保留正确的一行。",
        "Row {row} has the same code and period (or date) as {other} of this file but a different value; these rows were all rejected. Keep only the correct one.",
    ),
    Reason(
        "missing_milestone",
        ROW,
        ERROR,
        "第 {row} 行缺少“里程碑”。请填写里程碑编码或名称（如“开工”）。",
        "Row {row}: the milestone is empty. Fill in the milestone code or its Chinese name (e.g. START / 开工).",
    ),
    Reason(
        "unknown_milestone",
        ROW,
        ERROR,
        "第 {row} 行的里程碑“{value}”不是该项目的计划里程碑（应为：{expected}）。",
        "Row {row}: '{value}' is not a planned milestone of this project (expected one of: {expected}).",
    ),
    Reason(
        "missing_date",
        ROW,
        ERROR,
        "第 {row} 行缺少“{column}”。请填写日期，如 2025-03-05。",
        "Row {row}: '{column}' is empty. Enter a date such as 2025-03-05.",
    ),
    Reason(
        "bad_date",
        ROW,
        ERROR,
        "第 {row} 行“{column}”的值“{value}”不是有效日期。请填写如 2025-03-05 或 2025年3月5日。",
        "Row {row}: '{column}' = '{value}' is not a valid date. Use a date such as 2025-03-05 or 2025年3月5日.",
    ),
    Reason(
        "date_in_future",
        ROW,
        ERROR,
        "第 {row} 行“{column}”的日期 {value} 晚于收到文件的日期（{expected}）。请核对日期。",
        "Row {row}: '{column}' = {value} is later than the day the file was received ({expected}). Check the date.",
    ),
    Reason(
        "date_implausible",
        ROW,
        ERROR,
        "第 {row} 行“{column}”的日期 {value} 不在合理范围（{expected}）内。请核对年份。",
        "Row {row}: '{column}' = {value} is outside the plausible range ({expected}). Check the year.",
    ),
    Reason(
        "completed_after_report",
        ROW,
        ERROR,
        "第 {row} 行的完成日期 {value} 晚于报告日期 {expected}。请核对日期。",
        "Row {row}: the completion date {value} is later than the report date {expected}. Check the dates.",
    ),
    # ---- soft checks (核实性审核): the row is loaded, but counts only once explained ----
    Reason(
        "implausible_change",
        ROW,
        WARNING,
        "第 {row} 行的数值 {value} 与上期已接收值（{ref_period}：{ref_value}）相比变动 {change}，超出该指标的合理变动幅度（{bound}）。数值有误请更正后重新报送；数值无误请在“说明”列写明原因（如统计口径调整、重大项目投产）后重新报送该行。补充说明前，该值不计入完成情况评估。",
        "Row {row}: {value} changes by {change} from the last accepted value ({ref_period}: {ref_value}), beyond this indicator's plausible change ({bound}). If it is wrong, correct it and submit again; if it is right, write the reason in the 说明/explanation column (e.g. a change of statistical scope, a major project coming on stream) and submit the row again. Until explained, the value does not count in the evaluation.",
        needs_explanation=True,
    ),
    Reason(
        "percent_as_fraction",
        ROW,
        WARNING,
        "第 {row} 行的数值 {value} 像是把百分数写成了小数：该指标以 % 为单位，参考值为 {ref_value}（{ref_period}），应为 {suggested}？请填写百分数（如 51.7，而不是 0.517）后重新报送；数值无误请在“说明”列写明原因。补充说明前，该值不计入完成情况评估。",
        "Row {row}: {value} looks like a fraction typed for a percentage: the indicator is in %, the reference is {ref_value} ({ref_period}); did you mean {suggested}? Enter the percentage (51.7, not 0.517) and submit again; if the value is right, write why in the 说明/explanation column. Until explained, the value does not count in the evaluation.",
        needs_explanation=True,
    ),
    Reason(
        "unit_slip",
        ROW,
        WARNING,
        "第 {row} 行的数值 {value} 是参考值 {ref_value}（{ref_period}）的约 {factor} 倍，可能填错了单位（如万元与亿元、元与万元）。目录单位为“{unit}”，应为 {suggested}？请换算后重新报送；数值无误请在“说明”列写明原因。补充说明前，该值不计入完成情况评估。",
        "Row {row}: {value} is about {factor} times the reference {ref_value} ({ref_period}): probably the wrong unit (万元 vs 亿元, 元 vs 万元). The catalog unit is '{unit}'; did you mean {suggested}? Convert and submit again; if the value is right, write why in the 说明/explanation column. Until explained, the value does not count in the evaluation.",
        needs_explanation=True,
    ),
    Reason(
        "same_as_previous_year",
        ROW,
        WARNING,
        "第 {row} 行的数值 {value} 与上年（{ref_period}）已接收值逐位相同，而该指标每年都会变化。请核实是否误填了上年数据；数值无误请在“说明”列写明原因后重新报送该行。补充说明前，该值不计入完成情况评估。",
        "Row {row}: {value} is identical, to every digit, to last year's accepted value ({ref_period}), and this indicator moves every year. Check that last year's figure was not copied; if the value is right, write why in the 说明/explanation column and submit the row again. Until explained, the value does not count in the evaluation.",
        needs_explanation=True,
    ),
    # ---- warnings: the row is kept ----
    Reason(
        "q4_differs_from_annual",
        ROW,
        WARNING,
        "第 {row} 行的第四季度值 {value} 与本文件中同一年的年度值 {expected} 不一致。第四季度值即全年值，已以年度值为准；请核对两者。",
        "Row {row}: the Q4 value {value} differs from this file's annual value {expected} for the same year. Q4 is the whole year, so the annual value counts; check both.",
    ),
    Reason(
        "name_mismatch",
        ROW,
        WARNING,
        "第 {row} 行的指标名称“{value}”与编号对应的名称“{expected}”不一致，已按编号入库。请核对编号是否填错。",
        "Row {row}: the name '{value}' does not match the code's catalog name '{expected}'; the row was loaded by its code. Check that the code is right.",
    ),
    Reason(
        "value_left_blank",
        ROW,
        WARNING,
        "第 {row} 行未填写数值，已跳过（视为未报送）。如需报送，请填写数字后重新上传。",
        "Row {row} has no value and was skipped (treated as not reported). Fill in a number and upload again to report it.",
    ),
    Reason(
        "duplicate_row",
        ROW,
        WARNING,
        "第 {row} 行重复了同一文件中第 {other} 行的数据，只入库一次；本行所附的说明或备注并入入库的一行。",
        "Row {row} repeats the data of row {other} of this file; it was loaded once, keeping any explanation or note this row adds.",
    ),
    Reason(
        "unknown_column",
        FILE,
        WARNING,
        "列“{value}”不是模板中的列，已忽略。",
        "The column '{value}' is not part of the template and was ignored.",
    ),
]

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}

# Headings shown to departments (Chinese / English) for each canonical column.
DISPLAY = {
    "indicator_code": "指标编号/indicator_code",
    "indicator_name": "指标名称/indicator_name",
    "period": "统计期/period",
    "value_type": "数值类型/value_type",
    "value": "数值/value",
    "unit": "单位/unit",
    "note": "备注/note",
    "explanation": "说明/explanation",
    "project_code": "项目编号/project_code",
    "project_name": "项目名称/project_name",
    "milestone": "里程碑/milestone",
    "report_date": "报告日期/report_date",
    "completed_on": "完成日期/completed_on",
    "percent_complete": "形象进度/percent_complete",
    "investment_to_date": "累计完成投资（万元）/investment_to_date",
    "extra_cells": "表头以外的单元格/cells beyond the header",
}


class Bilingual(str):
    """A value described in words (e.g. what a disguised file really is): each message gets its own
    language; the quarantine's offending-value column keeps both."""

    def __new__(cls, zh: str, en: str):
        obj = super().__new__(cls, f"{zh} / {en}")
        obj.zh, obj.en = zh, en
        return obj

    def __reduce__(self):  # picklable across the parsing worker processes
        return (Bilingual, (self.zh, self.en))


@dataclass
class Issue:
    """One problem found in a submission (file-level when row is None)."""

    code: str
    row: int | None = None
    column: str | None = None
    value: object = None
    expected: object = None
    sheet: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def reason(self) -> Reason:
        return REASONS[self.code]

    @property
    def severity(self) -> str:
        return self.reason.severity

    @property
    def is_file_level(self) -> bool:
        return self.reason.scope == FILE and self.reason.severity == ERROR

    @property
    def needs_explanation(self) -> bool:
        return self.reason.needs_explanation

    def _fmt(self, template: str, lang: str) -> str:
        def text(obj: object) -> str:
            if obj is None:
                return ""
            if isinstance(obj, Bilingual):
                return visible(getattr(obj, lang))
            return visible(_short(obj))

        column = ", ".join(DISPLAY.get(c, c) for c in (self.column or "").split(",") if c)
        details = {
            k: text(v) for k, v in self.extra.items() if k not in ("row", "column", "value", "expected")
        }
        message = _Partial(details).format(
            template, row=self.row, column=column, value=text(self.value), expected=text(self.expected)
        )
        explanation = self.extra.get("explanation") if self.needs_explanation else None
        if explanation and self.extra.get("explained_before"):
            message += (
                f"（该值此前已说明：“{_short(explanation)}”，无需再次说明，该值计入评估。）"
                if lang == "zh"
                else f" (This value was explained before: '{_short(explanation)}'; no new explanation is needed, the value counts.)"
            )
        elif explanation:
            message += (
                f"（已附说明：“{_short(explanation)}”，该值计入评估。）"
                if lang == "zh"
                else f" (Explained: '{_short(explanation)}'; the value counts.)"
            )
        if self.value is not None and _INVISIBLE.search(str(self.value)):
            message += (
                "（<U+…> 表示看不见的字符，多为从网页或聊天软件复制时带入，请删除后重新报送。）"
                if lang == "zh"
                else " (<U+…> marks an invisible character, usually pasted from a web page or a chat; delete it and submit again.)"
            )
        return message

    @property
    def message_zh(self) -> str:
        return self._fmt(self.reason.zh, "zh")

    @property
    def message_en(self) -> str:
        return self._fmt(self.reason.en, "en")


def _short(value: object, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Characters a person cannot see (zero-width spaces, BOMs, direction marks, control characters):
# quoted back as <U+200B> so "S023" that is not S023 can be found and deleted.
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]"
)


def visible(text: str) -> str:
    """The text with invisible characters shown as <U+XXXX>."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


class _Partial:
    """str.format with the message's details; a placeholder without a value stays empty."""

    def __init__(self, details: dict[str, str]):
        self.details = details

    def format(self, template: str, **fields: object) -> str:
        import string

        values = {**self.details, **fields}
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        return template.format(**{name: values.get(name, "") for name in names})
