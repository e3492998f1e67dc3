-- +goose Up
-- create "acme_accounts" table
CREATE TABLE `acme_accounts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `directory` text NOT NULL, `email` text NOT NULL DEFAULT (''), `location` text NOT NULL DEFAULT (''), `private_key` text NOT NULL);
-- create index "acme_accounts_directory_key" to table: "acme_accounts"
CREATE UNIQUE INDEX `acme_accounts_directory_key` ON `acme_accounts` (`directory`);
-- create "certificates" table
CREATE TABLE `certificates` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL DEFAULT (''), `names` json NOT NULL, `source` text NOT NULL, `state` text NOT NULL DEFAULT ('pending'), `last_error` text NOT NULL DEFAULT (''), `not_before` datetime NULL, `not_after` datetime NULL, `issuer` text NOT NULL DEFAULT (''), `key_type` text NOT NULL DEFAULT (''), `auto_renew` bool NOT NULL DEFAULT (true), `certificate` text NOT NULL DEFAULT (''), `private_key` text NOT NULL DEFAULT (''), `next_attempt_at` datetime NULL, `failures` integer NOT NULL DEFAULT (0), `claimed_until` datetime NULL, `alerted_at` datetime NULL, `account_id` integer NOT NULL, `website_id` integer NULL, CONSTRAINT `certificates_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `certificates_websites_website` FOREIGN KEY (`website_id`) REFERENCES `websites` (`id`) ON DELETE CASCADE);
-- create index "certificate_account_id" to table: "certificates"
CREATE INDEX `certificate_account_id` ON `certificates` (`account_id`);
-- create index "certificate_website_id" to table: "certificates"
CREATE INDEX `certificate_website_id` ON `certificates` (`website_id`);
-- create index "certificate_next_attempt_at" to table: "certificates"
CREATE INDEX `certificate_next_attempt_at` ON `certificates` (`next_attempt_at`);
-- create index "certificate_not_after" to table: "certificates"
CREATE INDEX `certificate_not_after` ON `certificates` (`not_after`);

-- +goose Down
-- reverse: create index "certificate_not_after" to table: "certificates"
DROP INDEX `certificate_not_after`;
-- reverse: create index "certificate_next_attempt_at" to table: "certificates"
DROP INDEX `certificate_next_attempt_at`;
-- reverse: create index "certificate_website_id" to table: "certificates"
DROP INDEX `certificate_website_id`;
-- reverse: create index "certificate_account_id" to table: "certificates"
DROP INDEX `certificate_account_id`;
-- reverse: create "certificates" table
DROP TABLE `certificates`;
-- reverse: create index "acme_accounts_directory_key" to table: "acme_accounts"
DROP INDEX `acme_accounts_directory_key`;
-- reverse: create "acme_accounts" table
DROP TABLE `acme_accounts`;
