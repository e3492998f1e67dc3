-- +goose Up
-- modify "certificates" table
ALTER TABLE "certificates" ADD COLUMN "domains" jsonb NULL;

-- +goose Down
-- reverse: modify "certificates" table
ALTER TABLE "certificates" DROP COLUMN "domains";
