-- The local days whose morning briefs went to the team leaders: one row per day, so that of
-- several instances only one sends them.
CREATE TABLE morning_brief_days (
    day TEXT PRIMARY KEY NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    teams INTEGER NOT NULL
);
