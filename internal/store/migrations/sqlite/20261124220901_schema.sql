-- +goose Up
-- add column "args" to table: "operations"
ALTER TABLE `operations` ADD COLUMN `args` json NULL;

-- +goose Down
-- reverse: add column "args" to table: "operations"
ALTER TABLE `operations` DROP COLUMN `args`;
