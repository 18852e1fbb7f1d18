-- Signed webhook requests accepted in the last minutes, by signature: a replay of one within
-- its freshness window is answered as a duplicate and changes nothing.
CREATE TABLE webhook_receipts (
    signature TEXT PRIMARY KEY NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_receipts_received_idx ON webhook_receipts (received_at);
