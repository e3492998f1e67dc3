-- +goose Up
-- modify "operations" table
ALTER TABLE "operations" ADD COLUMN "args" jsonb NULL;

-- +goose Down
-- reverse: modify "operations" table
ALTER TABLE "operations" DROP COLUMN "args";
