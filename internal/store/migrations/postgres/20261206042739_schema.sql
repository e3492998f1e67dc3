-- +goose Up
-- modify "resources" table
ALTER TABLE "resources" ADD COLUMN "measured_at" timestamptz NULL, ADD COLUMN "claimed_until" timestamptz NULL;

-- +goose Down
-- reverse: modify "resources" table
ALTER TABLE "resources" DROP COLUMN "claimed_until", DROP COLUMN "measured_at";
