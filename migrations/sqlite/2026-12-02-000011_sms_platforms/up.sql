-- Health of each SMS platform as the instances last saw it: `up` or `down` since when. An
-- instance that trips a platform flips its row from `up` to `down` with a compare-and-set, so of
-- several instances only one tells the dispatchers, and only once per outage.
CREATE TABLE sms_platforms (
    name TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    since TIMESTAMP NOT NULL,
    last_error TEXT
);
