-- +goose Up
-- modify "idempotency_keys" table
ALTER TABLE "idempotency_keys" ADD COLUMN "holder" character varying NOT NULL DEFAULT '', ADD COLUMN "instance" character varying NOT NULL DEFAULT '', ADD COLUMN "held_until" timestamptz NULL;

-- +goose Down
-- reverse: modify "idempotency_keys" table
ALTER TABLE "idempotency_keys" DROP COLUMN "held_until", DROP COLUMN "instance", DROP COLUMN "holder";
