"""The built-in Chinese text of every kind, in Django template syntax. `seed_templates` copies them
into NotificationTemplate rows an admin can read and edit; a kind with no active row falls back here.

Context keys the notifying apps pass (a missing key renders as empty text):
- consults: `start` (e.g. "12月1日 09:30"), `doctor_name`, `facility_name`, `consultant_name`,
  `department`, `patient` (initials only, never a full name or ID), `reason` (declined/cancelled),
  `old_start` (rescheduled), `summary` (outcome).
- licences: `doctor_name`, `licence_number`, `expiry` (e.g. "2027年2月26日"), `days`.
- rosters: `month` (e.g. "2026年12月"), `facility_name`, `changes` (amended).
- leave and swaps: `start`, `end`, `leave_type`, `decision` ("批准" / "驳回"), `note`, `other_doctor`.
- payslips: `month`, `net_pay`.
- task finished (operations.notices): `task` (the task's name, e.g. "工资计算"), `status` (e.g. "已完成"),
  `succeeded` (True / False), `error` (the reason in Chinese when it failed); the link to the task's
  page travels as the notification's link, not as context.
- bank account changed: `doctor_name`, `bank_name`, `account` and `old_bank_name`, `old_account`
  (accounts masked, "****1234"), `changed_at` (e.g. "2026年12月1日 09:30"), `township`, `contact`.
- one-time password of a login (services.notify_secret_sms, SMS only): `name`, `username`, `password`
  (the secret: masked in the text the outbox keeps).
Addresses are not context: the registered resolvers find them (see notifications/registry.py).
"""

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    "consult_booked": (
        "远程会诊已预约",
        "已预约远程会诊：{{ start }}{% if consultant_name %}，{{ facility_name }} {{ doctor_name }} 与 "
        "{{ consultant_name }}{% if department %}（{{ department }}）{% endif %}{% endif %}。请准时上线。",
    ),
    "consult_reminder_24h": (
        "明天有远程会诊",
        "提醒：远程会诊将于 {{ start }} 开始（24 小时后）{% if consultant_name %}，{{ facility_name }} "
        "{{ doctor_name }} 与 {{ consultant_name }}{% endif %}。如需改期请尽早操作。",
    ),
    "consult_reminder_30m": (
        "远程会诊 30 分钟后开始",
        "提醒：远程会诊将于 {{ start }} 开始（30 分钟后），请提前检查网络和摄像头。",
    ),
    "consult_confirmed": (
        "远程会诊已确认",
        "{{ consultant_name|default:'会诊专家' }} 已确认 {{ start }} 的远程会诊"
        "{% if doctor_name %}（{{ facility_name }} {{ doctor_name }}）{% endif %}。",
    ),
    "consult_declined": (
        "远程会诊未被接受",
        "{{ consultant_name|default:'会诊专家' }} 未能接受 {{ start }} 的远程会诊"
        "{% if reason %}，原因：{{ reason }}{% endif %}。"
        "请另选时段预约。",
    ),
    "consult_cancelled": (
        "远程会诊已取消",
        "{{ start }} 的远程会诊已取消{% if reason %}，原因：{{ reason }}{% endif %}。",
    ),
    "consult_rescheduled": (
        "远程会诊已改期",
        "远程会诊已{% if old_start %}从 {{ old_start }} {% endif %}改到 {{ start }}"
        "{% if consultant_name %}（{{ facility_name }} {{ doctor_name }} 与 {{ consultant_name }}）{% endif %}。",
    ),
    "consult_outcome": (
        "会诊意见已记录",
        "{{ start }} 的远程会诊已记录会诊意见{% if summary %}：{{ summary }}{% endif %}。请在村医系统中查看。",
    ),
    "licence_expiring_90": (
        "执业证书 90 天后到期",
        "{{ doctor_name }}，您的执业证书{% if licence_number %}（{{ licence_number }}）{% endif %}将于 {{ expiry }} 到期，"
        "还有约 {{ days|default:90 }} 天。"
        "请及时准备材料办理再注册。",
    ),
    "licence_expiring_30": (
        "执业证书 30 天后到期",
        "{{ doctor_name }}，您的执业证书{% if licence_number %}（{{ licence_number }}）{% endif %}将于 {{ expiry }} 到期，"
        "仅剩约 {{ days|default:30 }} 天。"
        "到期后不能排班执业，请尽快办理再注册。",
    ),
    "roster_published": (
        "排班表已发布",
        "{{ facility_name }} {{ month }} 的排班表已发布，请在“我的值班”中查看您的班次。",
    ),
    "roster_amended": (
        "排班表已调整",
        "{{ facility_name }} {{ month }} 的排班表有调整{% if changes %}：{{ changes }}{% endif %}。请查看最新班次。",
    ),
    "leave_decided": (
        "请假审批结果",
        "您 {{ start }} 至 {{ end }} 的{{ leave_type|default:'请假' }}申请已{{ decision|default:'处理' }}"
        "{% if note %}，备注：{{ note }}{% endif %}。",
    ),
    "swap_decided": (
        "换班审批结果",
        "您{% if other_doctor %}与 {{ other_doctor }} {% endif %}的换班申请{% if start %}（{{ start }}）{% endif %}"
        "已{{ decision|default:'处理' }}{% if note %}，备注：{{ note }}{% endif %}。",
    ),
    "swap_asked": (
        "同事请您换班",
        "{{ requester }} 想把 {{ give_date }} 的值班换给您{% if take_date %}，换取您 {{ take_date }} 的值班{% endif %}"
        "{% if reason %}（理由：{{ reason }}）{% endif %}。请在“我的值班”中同意或不同意；您同意后才交乡镇审批。",
    ),
    "payslip_available": (
        "工资条已发放",
        "{{ month }} 工资已发放{% if paid_on %}（{{ paid_on }}）{% endif %}{% if net_pay %}，实发 {{ net_pay }} 元{% endif %}。"
        "请在“我的工资”中查看工资条明细。",
    ),
    "bank_account_changed": (
        "工资收款账户已变更",
        "{{ doctor_name }}，您的工资收款账户已于 {{ changed_at }} "
        "{% if account %}变更为 {{ bank_name }} {{ account }}{% if old_account %}（原账户 {{ old_bank_name }} {{ old_account }}）{% endif %}，"
        "此后工资将发到这个账户。{% else %}被删除{% if old_account %}（原账户 {{ old_bank_name }} {{ old_account }}）{% endif %}，"
        "补登账户前工资无法发放。{% endif %}"
        "如果不是您本人申请的变更，请立即致电{% if contact %} {{ contact }} {% elif township %}{{ township }}卫生院{% else %}所在乡镇卫生院{% endif %}核实。",
    ),
    "job_finished": (
        "{% if succeeded %}任务已完成{% else %}任务失败{% endif %}：{{ task }}",
        "您启动的任务“{{ task }}”{% if succeeded %}已完成{% else %}未能完成{% if error %}，原因：{{ error }}{% endif %}{% endif %}。"
        "{% if succeeded %}请打开任务页面查看结果。{% else %}请打开任务页面查看详情，处理后可重新启动。{% endif %}",
    ),
    "login_password": (
        "村医系统登录账号",
        "{{ name }}，您的村医系统手机端账号：{{ username }}，一次性密码：{{ password }}。"
        "首次登录后请立即设置您自己的密码；此密码仅可使用一次，请勿转告他人。",
    ),
}
