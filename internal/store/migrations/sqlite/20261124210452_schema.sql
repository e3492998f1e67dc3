-- +goose Up
-- create "domains" table
CREATE TABLE `domains` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `serial` integer NOT NULL DEFAULT (0), `refresh` text NOT NULL DEFAULT (''), `retry` text NOT NULL DEFAULT (''), `expire` text NOT NULL DEFAULT (''), `min_ttl` text NOT NULL DEFAULT (''), `dnssec` bool NOT NULL DEFAULT (false), `account_id` integer NOT NULL, `top_id` integer NULL, CONSTRAINT `domains_accounts_domains` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `domains_domains_subdomains` FOREIGN KEY (`top_id`) REFERENCES `domains` (`id`) ON DELETE SET NULL);
-- create index "domains_name_key" to table: "domains"
CREATE UNIQUE INDEX `domains_name_key` ON `domains` (`name`);
-- create index "domain_account_id" to table: "domains"
CREATE INDEX `domain_account_id` ON `domains` (`account_id`);
-- create index "domain_top_id" to table: "domains"
CREATE INDEX `domain_top_id` ON `domains` (`top_id`);
-- create "records" table
CREATE TABLE `records` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `account_id` integer NOT NULL, `type` text NOT NULL, `value` text NOT NULL, `ttl` text NOT NULL DEFAULT (''), `domain_id` integer NOT NULL, CONSTRAINT `records_domains_records` FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE);
-- create index "record_domain_id" to table: "records"
CREATE INDEX `record_domain_id` ON `records` (`domain_id`);
-- create index "record_account_id" to table: "records"
CREATE INDEX `record_account_id` ON `records` (`account_id`);

-- +goose Down
-- reverse: create index "record_account_id" to table: "records"
DROP INDEX `record_account_id`;
-- reverse: create index "record_domain_id" to table: "records"
DROP INDEX `record_domain_id`;
-- reverse: create "records" table
DROP TABLE `records`;
-- reverse: create index "domain_top_id" to table: "domains"
DROP INDEX `domain_top_id`;
-- reverse: create index "domain_account_id" to table: "domains"
DROP INDEX `domain_account_id`;
-- reverse: create index "domains_name_key" to table: "domains"
DROP INDEX `domains_name_key`;
-- reverse: create "domains" table
DROP TABLE `domains`;
