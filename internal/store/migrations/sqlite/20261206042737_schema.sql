-- +goose Up
-- add column "measured_at" to table: "resources"
ALTER TABLE `resources` ADD COLUMN `measured_at` datetime NULL;
-- add column "claimed_until" to table: "resources"
ALTER TABLE `resources` ADD COLUMN `claimed_until` datetime NULL;

-- +goose Down
-- reverse: add column "claimed_until" to table: "resources"
ALTER TABLE `resources` DROP COLUMN `claimed_until`;
-- reverse: add column "measured_at" to table: "resources"
ALTER TABLE `resources` DROP COLUMN `measured_at`;
