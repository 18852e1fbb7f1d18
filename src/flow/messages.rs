//! Message texts, in Chinese as the technicians and account managers read them. Each fits a
//! few SMS segments; the essentials (fault, address, customer phone) come first.

use crate::domain::ticket::TicketKind;
use crate::store::tickets::TicketRow;

/// Why a message is sent; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A new ticket, to the on-duty account manager and the assigned technician.
    NewTicket,
    /// A ticket handed to this technician by a dispatcher or by escalation.
    Reassigned,
    /// Nobody on duty could take it: to the region's dispatchers.
    DispatcherQueue,
    /// The customer was not contacted in time (escalation level 1).
    AckOverdue,
    /// Still not contacted after reassignment (escalation level 3), to managers.
    ManagerAlert,
    /// Dispatch (push) deadline missed, to dispatchers.
    DispatchOverdue,
    ArrivalOverdue,
    ResolveOverdue,
    /// The customer asked for a later time and it was confirmed: to the on-duty account manager.
    Postponed,
    /// A technician recorded the customer's wish for a later time: to the on-duty account
    /// manager (the region's dispatchers when none is on duty), to confirm. `{promised_at}` is
    /// the time asked for.
    PostponementRequested,
    /// To the customer: confirm the later time by replying 1, or 2 to refuse. `{promised_at}` is
    /// the time asked for.
    PostponementCheck,
    /// The postponement was refused (by staff or by the customer): to the technician, whose
    /// promise stands.
    PostponementDeclined,
    /// The ticket was taken from this technician (not contacted in time): stop working on it.
    TakenAway,
    /// The ticket has a new holder: to the on-duty account manager, naming them.
    HolderChanged,
    /// To the customer: who holds their ticket, and the account manager (the contact card).
    ContactCard,
    /// To the customer: the visit the technician agreed with them.
    AppointmentConfirmed,
    /// To the customer after the work is finished: reply 1, 2 or 3.
    Survey,
    /// To a customer whose reply was not understood (sent once per question).
    CustomerHelp,
    /// To a customer who replied TD: the last message they get.
    OptedOut,
}

impl Purpose {
    pub const ALL: [Purpose; 19] = [
        Purpose::NewTicket,
        Purpose::Reassigned,
        Purpose::DispatcherQueue,
        Purpose::AckOverdue,
        Purpose::ManagerAlert,
        Purpose::DispatchOverdue,
        Purpose::ArrivalOverdue,
        Purpose::ResolveOverdue,
        Purpose::Postponed,
        Purpose::PostponementRequested,
        Purpose::PostponementCheck,
        Purpose::PostponementDeclined,
        Purpose::TakenAway,
        Purpose::HolderChanged,
        Purpose::ContactCard,
        Purpose::AppointmentConfirmed,
        Purpose::Survey,
        Purpose::CustomerHelp,
        Purpose::OptedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::NewTicket => "new_ticket",
            Purpose::Reassigned => "reassigned",
            Purpose::DispatcherQueue => "dispatcher_queue",
            Purpose::AckOverdue => "ack_overdue",
            Purpose::ManagerAlert => "manager_alert",
            Purpose::DispatchOverdue => "dispatch_overdue",
            Purpose::ArrivalOverdue => "arrival_overdue",
            Purpose::ResolveOverdue => "resolve_overdue",
            Purpose::Postponed => "postponed",
            Purpose::PostponementRequested => "postponement_requested",
            Purpose::PostponementCheck => "postponement_check",
            Purpose::PostponementDeclined => "postponement_declined",
            Purpose::TakenAway => "taken_away",
            Purpose::HolderChanged => "holder_changed",
            Purpose::ContactCard => "contact_card",
            Purpose::AppointmentConfirmed => "appointment_confirmed",
            Purpose::Survey => "survey",
            Purpose::CustomerHelp => "customer_help",
            Purpose::OptedOut => "opted_out",
        }
    }

    /// Messages whose acceptance by the gateway counts as "pushed to the on-duty staff".
    pub fn counts_as_push(purpose: &str) -> bool {
        matches!(purpose, "new_ticket" | "reassigned" | "dispatcher_queue")
    }
}

/// A short reference people can read out on the phone: the call-center's own, or the last six
/// characters of the ticket id.
pub fn short_ref(t: &TicketRow) -> String {
    match &t.external_ref {
        Some(r) => r.clone(),
        None => t.id[t.id.len().saturating_sub(6)..].to_string(),
    }
}

fn kind_word(t: &TicketRow) -> &'static str {
    if t.kind == TicketKind::Install {
        "安装"
    } else {
        "报修"
    }
}

/// The default text of each purpose. `{name}` placeholders: see [`PLACEHOLDERS`].
fn default_template(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::NewTicket => "【新{kind}单 {ref}】{fault_category}：{fault_description}。地址：{address}。用户：{customer_name} {customer_phone}。处理人：{technician} {technician_phone}。请20分钟内联系用户约定上门时间。",
        Purpose::Reassigned => "【改派{kind}单 {ref}】{fault_category}：{fault_description}。地址：{address}。用户：{customer_name} {customer_phone}。请立即联系用户约定上门时间。",
        Purpose::DispatcherQueue => "【待派单 {ref}】无当班维修人员可接单，请人工派单。地址：{address}。用户：{customer_name} {customer_phone}。",
        Purpose::AckOverdue => "【超时未联系 {ref}】派单已超20分钟仍未联系用户。地址：{address}。用户：{customer_name} {customer_phone}。请立即处理。",
        Purpose::ManagerAlert => "【升级督办 {ref}】工单改派后仍未联系用户。地址：{address}。用户：{customer_name} {customer_phone}。请督办。",
        Purpose::DispatchOverdue => "【派单超时 {ref}】工单3分钟内未送达当班人员，请核查。地址：{address}。",
        Purpose::ArrivalOverdue => "【上门超时 {ref}】维修人员未按约定时间到达。地址：{address}。用户：{customer_name} {customer_phone}。",
        Purpose::ResolveOverdue => "【承诺超时 {ref}】工单未在承诺时间内完成。地址：{address}。用户：{customer_name} {customer_phone}。",
        Purpose::Postponed => "【用户延期 {ref}】用户要求延期，新承诺时间 {promised_at}。地址：{address}。",
        Purpose::PostponementRequested => "【延期待确认 {ref}】{technician}报用户要求延期至 {promised_at}，请与用户核实后在系统中确认或驳回；确认前原承诺时间有效。用户：{customer_name} {customer_phone}。",
        Purpose::PostponementCheck => "【维修预约确认】您好，您的{kind}单 {ref}：维修人员记录您要求改至 {promised_at} 前完成。同意请回复1，不同意请回复2。",
        Purpose::PostponementDeclined => "【延期未获确认 {ref}】用户延期申请未获确认，原承诺时间 {promised_at} 不变，请按时完成。地址：{address}。用户：{customer_name} {customer_phone}。",
        Purpose::TakenAway => "【工单已收回 {ref}】你未在时限内联系用户，工单已改派给 {technician}，请勿再联系该用户。地址：{address}。",
        Purpose::HolderChanged => "【工单改派 {ref}】已改派给 {technician} {technician_phone}。地址：{address}。用户：{customer_name} {customer_phone}。",
        Purpose::ContactCard => "【服务联系卡】您的{kind}单 {ref} 由维修人员 {technician}（{technician_phone}）负责，将尽快与您联系。客户经理：{account_manager} {account_manager_phone}。回复TD退订。",
        Purpose::AppointmentConfirmed => "【上门预约】您的{kind}单 {ref}：{technician}（{technician_phone}）将于 {appointment_at} 上门。回复TD退订。",
        Purpose::Survey => "【满意度回访】您的{kind}单 {ref} 已处理完毕。满意请回复1，基本满意回复2，不满意回复3，可加1-5分评分（如：1 5）。回复TD退订。",
        Purpose::CustomerHelp => "抱歉未能识别您的回复。满意请回复1，基本满意回复2，不满意回复3；回复TD退订。",
        Purpose::OptedOut => "您已退订服务短信，我们不会再向您发送短信。如需报修请拨打客服热线。",
    }
}

/// The placeholders a template may use. `technician` and `technician_phone` are the ticket's
/// holder (empty while nobody holds it); `account_manager` and `account_manager_phone` the
/// on-duty account manager (in the contact card).
pub const PLACEHOLDERS: [&str; 13] = [
    "ref",
    "kind",
    "fault_category",
    "fault_description",
    "address",
    "customer_name",
    "customer_phone",
    "promised_at",
    "technician",
    "technician_phone",
    "appointment_at",
    "account_manager",
    "account_manager_phone",
];

/// The message texts in force: the defaults, with any replaced from a TOML file
/// (`FIXLINE_SMS_TEMPLATES`) whose keys are purposes (`new_ticket = "..."`).
#[derive(Debug, Clone)]
pub struct Templates {
    texts: std::collections::HashMap<Purpose, String>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            texts: Purpose::ALL
                .iter()
                .map(|p| (*p, default_template(*p).to_string()))
                .collect(),
        }
    }
}

impl Templates {
    /// The defaults with the entries of a TOML table replaced. An unknown purpose or placeholder
    /// is an error naming it.
    pub fn with_overrides(text: &str) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("not TOML: {e}"))?;
        let mut t = Templates::default();
        for (key, value) in table {
            let purpose = Purpose::ALL
                .into_iter()
                .find(|p| p.as_str() == key)
                .ok_or_else(|| {
                    format!(
                        "`{key}` is not a message purpose; use one of {}",
                        Purpose::ALL.map(Purpose::as_str).join(", ")
                    )
                })?;
            let body = value
                .as_str()
                .ok_or_else(|| format!("`{key}` must be a string"))?;
            check_placeholders(body)
                .map_err(|p| format!("`{key}`: unknown placeholder {{{p}}}"))?;
            t.texts.insert(purpose, body.to_string());
        }
        Ok(t)
    }

    fn text(&self, purpose: Purpose) -> &str {
        self.texts
            .get(&purpose)
            .map(String::as_str)
            .unwrap_or_else(|| default_template(purpose))
    }

    /// Whether the text for `purpose` names the ticket's holder.
    pub fn names_holder(&self, purpose: Purpose) -> bool {
        self.text(purpose).contains("{technician")
    }

    /// The text for `purpose` about ticket `t` (times in the local zone `tz`); `holder` is the
    /// holder's name and phone.
    pub fn render(
        &self,
        purpose: Purpose,
        t: &TicketRow,
        tz: chrono_tz::Tz,
        holder: Option<(&str, &str)>,
    ) -> String {
        self.render_with(purpose, t, tz, holder, None)
    }

    /// [`Templates::render`] naming the account manager too (name and phone).
    pub fn render_with(
        &self,
        purpose: Purpose,
        t: &TicketRow,
        tz: chrono_tz::Tz,
        holder: Option<(&str, &str)>,
        manager: Option<(&str, &str)>,
    ) -> String {
        let template = self.text(purpose);
        let local = |at: chrono::NaiveDateTime| {
            at.and_utc()
                .with_timezone(&tz)
                .format("%m-%d %H:%M")
                .to_string()
        };
        let promised = local(t.promised_at);
        let appointment = t.appointment_at.map(local).unwrap_or_default();
        let (technician, technician_phone) = holder.unwrap_or(("", ""));
        let (account_manager, account_manager_phone) = manager.unwrap_or(("", ""));
        let values: [(&str, &str); 13] = [
            ("ref", &short_ref(t)),
            ("kind", kind_word(t)),
            ("fault_category", &t.fault_category),
            ("fault_description", &t.fault_description),
            ("address", &t.address),
            ("customer_name", &t.customer_name),
            ("customer_phone", &t.customer_phone),
            ("promised_at", &promised),
            ("technician", technician),
            ("technician_phone", technician_phone),
            ("appointment_at", &appointment),
            ("account_manager", account_manager),
            ("account_manager_phone", account_manager_phone),
        ];
        let mut out = template.to_string();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// The first placeholder in `body` that is not known, if any.
fn check_placeholders(body: &str) -> Result<(), String> {
    let mut rest = body;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(name.to_string());
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// How many SMS segments a text takes. Chinese text travels as UCS-2: 70 characters fit one
/// segment, and a longer message is split into parts of 67 (the rest carries the part header).
/// Pure GSM-7 (ASCII) text fits 160, or parts of 153.
pub fn segments(text: &str) -> usize {
    let n = text.chars().count();
    let (single, part) = if text.is_ascii() {
        (160, 153)
    } else {
        (70, 67)
    };
    if n <= single {
        1
    } else {
        n.div_ceil(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked() {
        let t = Templates::with_overrides("new_ticket = \"NEW {ref} {address}\"\n").unwrap();
        assert_eq!(t.texts[&Purpose::NewTicket], "NEW {ref} {address}");
        assert!(Templates::with_overrides("new_tickets = \"x\"")
            .unwrap_err()
            .contains("new_tickets"));
        assert!(Templates::with_overrides("new_ticket = \"{addres}\"")
            .unwrap_err()
            .contains("{addres}"));
        assert!(Templates::with_overrides("new_ticket = 5").is_err());
        for p in Purpose::ALL {
            assert!(check_placeholders(default_template(p)).is_ok(), "{p:?}");
        }
    }

    #[test]
    fn segment_counts() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"报".repeat(70)), 1);
        assert_eq!(segments(&"报".repeat(71)), 2);
        assert_eq!(segments(&"报".repeat(134)), 2);
        assert_eq!(segments(&"报".repeat(135)), 3);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
    }
}
