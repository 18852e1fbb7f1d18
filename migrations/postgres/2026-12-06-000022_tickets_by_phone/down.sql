DROP INDEX tickets_phone_idx;
