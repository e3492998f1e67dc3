-- +goose Up
-- modify "lanes" table
ALTER TABLE "lanes" DROP COLUMN "until", ADD COLUMN "expires" bigint NULL, ADD COLUMN "generation" bigint NOT NULL DEFAULT 0;

-- +goose Down
-- reverse: modify "lanes" table
ALTER TABLE "lanes" DROP COLUMN "generation", DROP COLUMN "expires", ADD COLUMN "until" timestamptz NULL;
