DROP TABLE morning_brief_days;
