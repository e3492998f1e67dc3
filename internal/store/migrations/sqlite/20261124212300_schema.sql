-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_domains" table
CREATE TABLE `new_domains` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `serial` integer NOT NULL DEFAULT (0), `refresh` text NOT NULL DEFAULT (''), `retry` text NOT NULL DEFAULT (''), `expire` text NOT NULL DEFAULT (''), `min_ttl` text NOT NULL DEFAULT (''), `dnssec` bool NOT NULL DEFAULT (false), `account_id` integer NOT NULL, `top_id` integer NULL, CONSTRAINT `domains_accounts_domains` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `domains_domains_subdomains` FOREIGN KEY (`top_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE);
-- copy rows from old table "domains" to new temporary table "new_domains"
INSERT INTO `new_domains` (`id`, `created_at`, `updated_at`, `version`, `name`, `serial`, `refresh`, `retry`, `expire`, `min_ttl`, `dnssec`, `account_id`, `top_id`) SELECT `id`, `created_at`, `updated_at`, `version`, `name`, `serial`, `refresh`, `retry`, `expire`, `min_ttl`, `dnssec`, `account_id`, `top_id` FROM `domains`;
-- drop "domains" table after copying rows
DROP TABLE `domains`;
-- rename temporary table "new_domains" to "domains"
ALTER TABLE `new_domains` RENAME TO `domains`;
-- create index "domains_name_key" to table: "domains"
CREATE UNIQUE INDEX `domains_name_key` ON `domains` (`name`);
-- create index "domain_account_id" to table: "domains"
CREATE INDEX `domain_account_id` ON `domains` (`account_id`);
-- create index "domain_top_id" to table: "domains"
CREATE INDEX `domain_top_id` ON `domains` (`top_id`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "domain_top_id" to table: "domains"
DROP INDEX `domain_top_id`;
-- reverse: create index "domain_account_id" to table: "domains"
DROP INDEX `domain_account_id`;
-- reverse: create index "domains_name_key" to table: "domains"
DROP INDEX `domains_name_key`;
-- reverse: create "new_domains" table
DROP TABLE `new_domains`;
