// The seed's clocks of a ticket as the board shows them: each stage's deadline, when it was
// met, and how long is left by the server's clock (which may differ from the browser's).

let offset = 0;

/** Learns the server's clock from a ticket it just answered (its deadline and seconds left). */
export function learn(ticket) {
  if (ticket.next_deadline_at && ticket.seconds_left !== null && ticket.seconds_left !== undefined) {
    offset = Date.parse(ticket.next_deadline_at) - ticket.seconds_left * 1000 - Date.now();
  }
}

/** The server's time now, in milliseconds. */
export function now() {
  return Date.now() + offset;
}

export const STAGES = ["dispatch", "contact", "arrival", "resolve"];

/** Each stage: {stage, due, done, outcome} (times in ms or null). */
export function stages(t) {
  const d = t.deadlines;
  const ms = (x) => (x ? Date.parse(x) : null);
  return [
    { stage: "dispatch", due: ms(d.dispatch_due_at), done: ms(d.pushed_at) },
    { stage: "contact", due: ms(d.ack_due_at), done: ms(d.acknowledged_at) },
    { stage: "arrival", due: ms(d.arrival_due_at), done: ms(d.arrived_at) },
    { stage: "resolve", due: ms(d.promised_at), done: ms(d.resolved_at) },
  ].map((s) => ({ ...s, outcome: t.outcomes ? t.outcomes[s.stage] : null }));
}

/** The stage the ticket is racing now: the first with a deadline and no outcome. */
export function current(t) {
  return stages(t).find((s) => s.due !== null && s.done === null && !s.outcome) || null;
}

/** Milliseconds until the ticket's next deadline (negative when overdue); Infinity without one. */
export function left(t) {
  const d = due(t);
  return d === Infinity ? Infinity : d - now();
}

/** Most urgent first: the dispatcher queue, then the nearest deadline, then the oldest. A
 * network fault's calls wait for its crew, not for a dispatcher. */
export function urgency(a, b) {
  const qa = a.assignee_id || a.network_fault_id ? 1 : 0;
  const qb = b.assignee_id || b.network_fault_id ? 1 : 0;
  if (qa !== qb) return qa - qb;
  const la = due(a);
  const lb = due(b);
  if (la !== lb) return la - lb;
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
}

/** The next deadline in ms (parsed once by the store when it can). */
function due(t) {
  if (t._due === undefined) t._due = t.next_deadline_at ? Date.parse(t.next_deadline_at) : Infinity;
  return t._due;
}

/** The flags a dispatcher acts on. */
export function flags(t) {
  const out = [];
  if (!t.assignee_id && t.flagged) out.push({ key: "flag.nobody", kind: "bad" });
  else if (t.flagged) {
    const sms = t.flag_reason && /SMS/.test(t.flag_reason);
    out.push({ key: sms ? "flag.sms_failed" : "flag.flagged", kind: "bad", title: t.flag_reason });
  }
  if (t.escalation_level > 0) out.push({ key: "flag.escalated", n: t.escalation_level, kind: "bad" });
  if (t.assignee_id && !t.deadlines.pushed_at && !t.outcomes.dispatch) out.push({ key: "flag.push_pending", kind: "warn" });
  if (t.check_in && t.check_in.far) out.push({ key: "flag.far", kind: "warn" });
  if (t.postponements > 0) out.push({ key: "flag.postponed", n: t.postponements, kind: "info" });
  if (t.network_fault_id) out.push({ key: "flag.fault", kind: "info" });
  return out;
}
