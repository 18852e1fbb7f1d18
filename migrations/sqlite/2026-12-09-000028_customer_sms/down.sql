DROP INDEX notifications_phone_idx;
DROP TABLE sms_surveys;
DROP TABLE sms_opt_outs;
