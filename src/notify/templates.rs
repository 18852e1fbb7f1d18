//! Message texts, in Chinese as the technicians and account managers read them. Each fits a
//! few SMS segments; the essentials (fault, address, customer phone) come first.

use crate::store::tickets::TicketRow;

/// Why a message is sent; stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Purpose {
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
    if t.kind == "install" {
        "安装"
    } else {
        "报修"
    }
}

/// The text for `purpose` about ticket `t`.
pub fn render(purpose: Purpose, t: &TicketRow) -> String {
    let r = short_ref(t);
    let k = kind_word(t);
    let customer = format!("{} {}", t.customer_name, t.customer_phone);
    match purpose {
        Purpose::NewTicket => format!(
            "【新{k}单 {r}】{}：{}。地址：{}。用户：{customer}。请20分钟内联系用户约定上门时间。",
            t.fault_category, t.fault_description, t.address
        ),
        Purpose::Reassigned => format!(
            "【改派{k}单 {r}】{}：{}。地址：{}。用户：{customer}。请立即联系用户约定上门时间。",
            t.fault_category, t.fault_description, t.address
        ),
        Purpose::DispatcherQueue => format!(
            "【待派单 {r}】无当班维修人员可接单，请人工派单。地址：{}。用户：{customer}。",
            t.address
        ),
        Purpose::AckOverdue => format!(
            "【超时未联系 {r}】派单已超20分钟仍未联系用户。地址：{}。用户：{customer}。请立即处理。",
            t.address
        ),
        Purpose::ManagerAlert => format!(
            "【升级督办 {r}】工单改派后仍未联系用户。地址：{}。用户：{customer}。请督办。",
            t.address
        ),
        Purpose::DispatchOverdue => format!(
            "【派单超时 {r}】工单3分钟内未送达当班人员，请核查。地址：{}。",
            t.address
        ),
        Purpose::ArrivalOverdue => format!(
            "【上门超时 {r}】维修人员未按约定时间到达。地址：{}。用户：{customer}。",
            t.address
        ),
        Purpose::ResolveOverdue => format!(
            "【承诺超时 {r}】工单未在承诺时间内完成。地址：{}。用户：{customer}。",
            t.address
        ),
    }
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
