-- +goose Up
-- add column "domains" to table: "certificates"
ALTER TABLE `certificates` ADD COLUMN `domains` json NULL;

-- +goose Down
-- reverse: add column "domains" to table: "certificates"
ALTER TABLE `certificates` DROP COLUMN `domains`;
