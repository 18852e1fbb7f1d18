-- Customers who replied TD or 退订: no more messages to them.
CREATE TABLE sms_opt_outs (
    phone TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    opted_out_at TIMESTAMP NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX sms_opt_outs_region_idx ON sms_opt_outs (region_id);

-- The satisfaction survey sent by SMS after a ticket is finished, and the customer's answer.
CREATE TABLE sms_surveys (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT REFERENCES districts (id),
    technician_id TEXT REFERENCES users (id),
    customer_phone TEXT NOT NULL,
    resolved_at TIMESTAMP NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    answer_by TIMESTAMP NOT NULL,
    outcome TEXT,
    rating INTEGER,
    remark TEXT,
    answered_at TIMESTAMP,
    help_sent_at TIMESTAMP,
    follow_up_ticket_id TEXT REFERENCES tickets (id),
    complaint_id TEXT REFERENCES complaints (id)
);
CREATE UNIQUE INDEX sms_surveys_ticket_idx ON sms_surveys (ticket_id);
CREATE INDEX sms_surveys_phone_idx ON sms_surveys (customer_phone, answer_by);
CREATE INDEX sms_surveys_resolved_idx ON sms_surveys (resolved_at);
CREATE INDEX sms_surveys_district_idx ON sms_surveys (district_id, resolved_at);
CREATE INDEX sms_surveys_technician_idx ON sms_surveys (technician_id, resolved_at);
CREATE INDEX sms_surveys_follow_up_idx ON sms_surveys (follow_up_ticket_id);
CREATE INDEX sms_surveys_complaint_idx ON sms_surveys (complaint_id);
CREATE INDEX sms_surveys_region_idx ON sms_surveys (region_id);
CREATE INDEX notifications_phone_idx ON notifications (recipient_phone, status);
