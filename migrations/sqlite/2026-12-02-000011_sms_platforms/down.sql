DROP TABLE sms_platforms;
