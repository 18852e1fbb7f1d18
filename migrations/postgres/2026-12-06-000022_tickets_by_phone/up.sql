CREATE INDEX tickets_phone_idx ON tickets (customer_phone, created_at);
