-- +goose Up
-- add column "password_hashes" to table: "website_directives"
ALTER TABLE `website_directives` ADD COLUMN `password_hashes` json NULL;

-- +goose Down
-- reverse: add column "password_hashes" to table: "website_directives"
ALTER TABLE `website_directives` DROP COLUMN `password_hashes`;
