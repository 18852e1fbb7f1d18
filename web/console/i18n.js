// The console's words in Chinese (the default) and English. `t(key, {n: 3})` fills {n}.

const WORDS = {
  "app.title": ["fixline 维修调度台", "fixline repair console"],
  "nav.board": ["工单看板", "Board"],
  "nav.map": ["地图", "Map"],
  "nav.intake": ["受理", "Intake"],
  "nav.signout": ["退出", "Sign out"],
  "nav.lang": ["English", "中文"],
  "nav.shortcuts": ["快捷键", "Shortcuts"],
  "signin.title": ["登录", "Sign in"],
  "signin.username": ["用户名", "Username"],
  "signin.password": ["密码", "Password"],
  "signin.submit": ["登录", "Sign in"],
  "signin.failed": ["登录失败：{m}", "Sign-in failed: {m}"],
  "live.live": ["实时", "Live"],
  "live.reconnecting": ["重新连接中…", "Reconnecting…"],
  "live.connecting": ["连接中…", "Connecting…"],
  "board.search": ["搜索 客户/电话/地址/单号", "Search customer, phone, address, ref"],
  "board.all_regions": ["全部区域", "All regions"],
  "board.all_status": ["全部状态", "All statuses"],
  "board.only_flagged": ["仅异常", "Flagged only"],
  "board.only_queue": ["仅待派", "Queue only"],
  "board.count": ["{shown} / {total} 张在办工单", "{shown} of {total} open tickets"],
  "board.empty": ["没有符合条件的在办工单", "No open tickets match"],
  "board.loading": ["加载中…", "Loading…"],
  "col.clock": ["时限", "Clock"],
  "col.ticket": ["工单", "Ticket"],
  "col.customer": ["客户", "Customer"],
  "col.district": ["片区", "District"],
  "col.assignee": ["处理人", "Technician"],
  "col.stages": ["各环节", "Stages"],
  "col.flags": ["提示", "Flags"],
  "stage.dispatch": ["派单", "Dispatch"],
  "stage.contact": ["联系", "Contact"],
  "stage.arrival": ["上门", "Arrival"],
  "stage.resolve": ["修复", "Promise"],
  "status.new": ["待派", "Queue"],
  "status.dispatched": ["已派", "Dispatched"],
  "status.acknowledged": ["已联系", "Contacted"],
  "status.on_site": ["已上门", "On site"],
  "status.postponed": ["已延期", "Postponed"],
  "status.resolved": ["已修复", "Resolved"],
  "status.closed": ["已关闭", "Closed"],
  "status.cancelled": ["已撤销", "Cancelled"],
  "kind.repair": ["维修", "Repair"],
  "kind.install": ["装机", "Install"],
  "flag.escalated": ["已升级 {n}", "Escalated {n}"],
  "flag.push_pending": ["待推送", "Push pending"],
  "flag.flagged": ["异常", "Flagged"],
  "flag.far": ["远距签到", "Far check-in"],
  "flag.nobody": ["无人值班", "Nobody on duty"],
  "flag.postponed": ["延期 {n}", "Postponed {n}"],
  "flag.sms_failed": ["短信失败", "SMS failed"],
  "unassigned": ["未派", "Unassigned"],
  "overdue": ["超时 {t}", "{t} late"],
  "left": ["剩 {t}", "{t} left"],
  "done.on_time": ["按时", "on time"],
  "done.late": ["超时", "late"],
  "assign.title": ["派单：{ref}", "Assign {ref}"],
  "assign.none": ["该区域当前无人值班", "Nobody is on duty in this region now"],
  "assign.holder": ["当前处理人", "holds it"],
  "assign.open": ["在办 {n}", "{n} open"],
  "assign.distance": ["{d} 公里", "{d} km"],
  "assign.no_position": ["无位置", "no position"],
  "assign.done": ["已派给 {name}", "Assigned to {name}"],
  "assign.button": ["派单", "Assign"],
  "close": ["关闭", "Close"],
  "error": ["出错：{m}", "Error: {m}"],
  "ticket.back": ["返回看板", "Back to the board"],
  "ticket.timeline": ["处理过程", "Timeline"],
  "ticket.sms": ["短信记录", "SMS"],
  "ticket.photos": ["照片", "Photos"],
  "ticket.details": ["详情", "Details"],
  "ticket.due": ["应于 {t}", "due {t}"],
  "ticket.no_photos": ["无照片", "No photos"],
  "ticket.no_sms": ["无短信", "No messages"],
  "ticket.cancel": ["撤销", "Cancel ticket"],
  "ticket.close_ticket": ["关闭工单", "Close ticket"],
  "ticket.cancel_reason": ["撤销原因", "Reason for cancelling"],
  "ticket.fault": ["故障", "Fault"],
  "ticket.address": ["地址", "Address"],
  "ticket.phone": ["电话", "Phone"],
  "ticket.created": ["受理时间", "Recorded"],
  "ticket.appointment": ["预约时间", "Appointment"],
  "map.title": ["片区地图", "District map"],
  "map.legend_overdue": ["超时", "Overdue"],
  "map.legend_soon": ["30 分钟内到期", "Due within 30 min"],
  "map.legend_ok": ["正常", "On track"],
  "map.legend_tech": ["维修员位置", "Technician"],
  "map.districts": ["{n} 个片区", "{n} districts"],
  "intake.title": ["受理报修", "Record a call"],
  "intake.name": ["客户姓名", "Customer name"],
  "intake.phone": ["联系电话", "Phone"],
  "intake.account": ["用户编号", "Account no."],
  "intake.address": ["地址", "Address"],
  "intake.kind": ["类型", "Kind"],
  "intake.category": ["故障类别", "Fault category"],
  "intake.description": ["故障描述", "Description"],
  "intake.point": ["位置（在地图上点选或输入）", "Location (pick on the map or type)"],
  "intake.lat": ["纬度", "Latitude"],
  "intake.lon": ["经度", "Longitude"],
  "intake.crs": ["坐标系", "Datum"],
  "intake.district": ["所属片区：{name}", "District: {name}"],
  "intake.no_district": ["该位置不在任何片区内", "This point is in no district"],
  "intake.submit": ["保存工单", "Save ticket"],
  "intake.saved": ["已受理，工单 {ref}", "Recorded: ticket {ref}"],
  "intake.duplicate": ["注意：可能重复报修", "Possible duplicate"],
  "intake.dup_phone": ["同一电话的在办工单", "open ticket from the same phone"],
  "intake.dup_near": ["{d} 米内的在办工单", "open ticket within {d} m"],
  "nav.scores": ["考核评分", "Scores"],
  "scores.title": ["月度考核", "Monthly scores"],
  "scores.tab_districts": ["网格片区", "Districts"],
  "scores.tab_technicians": ["维修员", "Technicians"],
  "scores.tab_regions": ["区域", "Regions"],
  "scores.csv": ["下载 CSV", "Download CSV"],
  "scores.rank": ["排名", "Rank"],
  "scores.region": ["区域", "Region"],
  "scores.target": ["目标", "Target"],
  "scores.complaints": ["有责投诉", "Upheld complaints"],
  "scores.appraisal": ["格长考核", "Leader appraisal"],
  "scores.composite": ["综合得分", "Composite"],
  "scores.five_star": ["五星片区", "Five-star"],
  "scores.not_five_star": ["未达五星", "Not five-star"],
  "scores.ranked_among": ["{month}：{n} 个片区参与排名", "{month}: ranked among {n} districts"],
  "scores.trend": ["近 12 个月综合得分", "Composite score, last 12 months"],
  "scores.map": ["片区得分地图", "Districts by score"],
  "scores.rates": ["各项指标与目标", "Rates against targets"],
  "scores.pick": ["点选一个片区查看", "Pick a district"],
  "metric.dispatch": ["派单及时率", "Dispatch"],
  "metric.contact": ["联系及时率", "Contact"],
  "metric.arrival": ["上门及时率", "Arrival"],
  "metric.install_timeliness": ["装机及时率", "Installation"],
  "metric.repair_timeliness": ["维修及时率", "Repair"],
  "metric.callback_coverage": ["回访率", "Callbacks"],
  "metric.satisfaction": ["满意率", "Satisfaction"],
  "sc.scores": ["考核评分", "Scores"],
  "shortcuts.title": ["键盘快捷键", "Keyboard shortcuts"],
  "sc.search": ["搜索", "Search"],
  "sc.next": ["下一张工单", "Next ticket"],
  "sc.prev": ["上一张工单", "Previous ticket"],
  "sc.open": ["打开工单", "Open ticket"],
  "sc.assign": ["派单", "Assign"],
  "sc.pick": ["选择第 n 位建议人选", "Pick suggestion n"],
  "sc.board": ["看板", "Board"],
  "sc.map": ["地图", "Map"],
  "sc.intake": ["受理", "Intake"],
  "sc.help": ["本帮助", "This help"],
  "sc.escape": ["关闭对话框", "Close dialog"],
};

const LANG_KEY = "fixline.lang";
let lang = localStorage.getItem(LANG_KEY) === "en" ? 1 : 0;

export function t(key, vars = {}) {
  const pair = WORDS[key];
  const s = pair ? pair[lang] : key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function language() {
  return lang ? "en" : "zh-CN";
}

export function toggleLanguage() {
  lang = 1 - lang;
  localStorage.setItem(LANG_KEY, lang ? "en" : "zh");
  document.documentElement.lang = language();
}

/** A span of seconds as h:mm:ss or m:ss. */
export function span(seconds) {
  const s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const ZONE = document.querySelector('meta[name="fixline-tz"]')?.content || "Asia/Shanghai";

/** A time in the operator's zone, as a dispatcher reads it. */
export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang ? "en-GB" : "zh-CN", {
    timeZone: ZONE,
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}
