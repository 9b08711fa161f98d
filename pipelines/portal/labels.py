"""What clerks and administrators read for the portal's codes: (Chinese, English) for each state,
verdict and kind, and for the audit log's actions. One table for the pages and the messages."""

from __future__ import annotations

from pipelines.lib.outputs.labels import STATUS

LABELS = {
    **STATUS,  # the warehouse's statuses (review states, verdicts, warning), labelled once
    "needs_explanation": ("待填写说明", "needs explanation"),  # the portal asks the clerk to write it
    "in_inbox": ("已送达，待入库", "in the inbox, awaiting the next refresh"),
    "processed": ("已入库处理", "processed"),
    "forwarded": ("已送达", "forwarded"),
    "cancelled": ("已撤回", "cancelled"),
    "expired": ("已过期", "expired"),
    "failed": ("送达失败，请重新上传", "could not be sent on; upload again"),
    "nothing_to_forward": ("无可送达数据", "nothing to forward"),
    "indicator_data": ("指标数据", "indicator data"),
    "project_progress": ("项目进度", "project progress"),
    "main_indicator": ("主要指标", "main indicator"),
    "secondary_target": ("其他目标", "secondary target"),
    "project": ("重大项目", "major project"),
    "error": ("错误", "error"),
    "department": ("部门填报员", "department clerk"),
    "admin": ("管理员", "administrator"),
}


AUDIT_ACTIONS = {
    "login": ("登录", "logged in"),
    "login_failed": ("登录失败", "failed login"),
    "login_throttled": ("登录被暂停（失败次数过多）", "login refused (too many failures)"),
    "password_changed": ("修改密码", "password changed"),
    "reset_password": ("重置密码", "password reset"),
    "user_added": ("新增账号", "account created"),
    "enabled": ("启用账号", "account enabled"),
    "disabled": ("停用账号", "account disabled"),
    "upload": ("上传", "upload"),
    "forward": ("送达收件目录", "sent to the inbox"),
    "cancel": ("撤回上传", "upload cancelled"),
    "expire": ("等待说明的上传过期", "held upload expired"),
}


def label(code: str | None) -> tuple[str, str]:
    """(Chinese, English) for a code; the code itself when it has no label."""
    return LABELS.get(code or "", (code or "", code or ""))
