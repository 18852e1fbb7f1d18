-- Household visits (百人访百户): a staff member's visit to a customer with the questionnaire's
-- answers, and the ticket or complaint the visit opened.
CREATE TABLE household_visits (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    district_id TEXT REFERENCES districts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    customer_name TEXT,
    customer_phone TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    visited_at TIMESTAMP NOT NULL,
    answers TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets (id),
    complaint_id TEXT REFERENCES complaints (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX household_visits_user_idx ON household_visits (user_id, visited_at);
CREATE INDEX household_visits_region_idx ON household_visits (region_id, visited_at);
CREATE INDEX household_visits_district_idx ON household_visits (district_id);
CREATE INDEX household_visits_ticket_idx ON household_visits (ticket_id);
CREATE INDEX household_visits_complaint_idx ON household_visits (complaint_id);
