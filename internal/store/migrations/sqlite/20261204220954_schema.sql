-- +goose Up
-- create "dkim_keys" table
CREATE TABLE `dkim_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `selector` text NOT NULL, `name` text NOT NULL, `private_key` text NOT NULL, `public_key` text NOT NULL, `retired_at` datetime NULL, `domain_id` integer NOT NULL, `account_id` integer NOT NULL, `record_id` integer NULL, CONSTRAINT `dkim_keys_domains_domain` FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE, CONSTRAINT `dkim_keys_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `dkim_keys_records_record` FOREIGN KEY (`record_id`) REFERENCES `records` (`id`) ON DELETE SET NULL);
-- create index "dkimkey_domain_id_selector" to table: "dkim_keys"
CREATE UNIQUE INDEX `dkimkey_domain_id_selector` ON `dkim_keys` (`domain_id`, `selector`);
-- create index "dkimkey_account_id" to table: "dkim_keys"
CREATE INDEX `dkimkey_account_id` ON `dkim_keys` (`account_id`);
-- create index "dkimkey_record_id" to table: "dkim_keys"
CREATE INDEX `dkimkey_record_id` ON `dkim_keys` (`record_id`);

-- +goose Down
-- reverse: create index "dkimkey_record_id" to table: "dkim_keys"
DROP INDEX `dkimkey_record_id`;
-- reverse: create index "dkimkey_account_id" to table: "dkim_keys"
DROP INDEX `dkimkey_account_id`;
-- reverse: create index "dkimkey_domain_id_selector" to table: "dkim_keys"
DROP INDEX `dkimkey_domain_id_selector`;
-- reverse: create "dkim_keys" table
DROP TABLE `dkim_keys`;
