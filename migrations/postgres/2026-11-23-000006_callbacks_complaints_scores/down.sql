DROP TABLE district_appraisals;
DROP TABLE complaint_history;
DROP TABLE complaints;
DROP TABLE callback_days;
DROP TABLE callbacks;
DROP INDEX tickets_resolved_idx;
DROP INDEX tickets_follow_up_idx;
ALTER TABLE tickets DROP COLUMN follow_up_of;
DROP TABLE settings;
