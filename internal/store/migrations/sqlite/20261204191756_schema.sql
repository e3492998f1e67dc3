-- +goose Up
-- create "autoresponses" table
CREATE TABLE `autoresponses` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `subject` text NOT NULL, `message` text NOT NULL, `starts_at` datetime NULL, `ends_at` datetime NULL, `interval_days` integer NOT NULL DEFAULT (1), `is_active` bool NOT NULL DEFAULT (true), `address_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `autoresponses_mail_addresses_address` FOREIGN KEY (`address_id`) REFERENCES `mail_addresses` (`id`) ON DELETE CASCADE, CONSTRAINT `autoresponses_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "autoresponse_account_id" to table: "autoresponses"
CREATE INDEX `autoresponse_account_id` ON `autoresponses` (`account_id`);
-- create "mail_addresses" table
CREATE TABLE `mail_addresses` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL DEFAULT (''), `forward` json NULL, `domain_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `mail_addresses_domains_domain` FOREIGN KEY (`domain_id`) REFERENCES `domains` (`id`) ON DELETE CASCADE, CONSTRAINT `mail_addresses_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "mailaddress_name_domain_id" to table: "mail_addresses"
CREATE UNIQUE INDEX `mailaddress_name_domain_id` ON `mail_addresses` (`name`, `domain_id`);
-- create index "mailaddress_account_id" to table: "mail_addresses"
CREATE INDEX `mailaddress_account_id` ON `mail_addresses` (`account_id`);
-- create "mailboxes" table
CREATE TABLE `mailboxes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `password` text NOT NULL DEFAULT (''), `quota` integer NULL, `filtering` text NOT NULL DEFAULT (''), `custom_filtering` text NOT NULL DEFAULT (''), `is_active` bool NOT NULL DEFAULT (true), `account_id` integer NOT NULL, CONSTRAINT `mailboxes_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "mailboxes_name_key" to table: "mailboxes"
CREATE UNIQUE INDEX `mailboxes_name_key` ON `mailboxes` (`name`);
-- create index "mailbox_account_id" to table: "mailboxes"
CREATE INDEX `mailbox_account_id` ON `mailboxes` (`account_id`);
-- create "mail_address_mailboxes" table
CREATE TABLE `mail_address_mailboxes` (`mail_address_id` integer NOT NULL, `mailbox_id` integer NOT NULL, PRIMARY KEY (`mail_address_id`, `mailbox_id`), CONSTRAINT `mail_address_mailboxes_mail_address_id` FOREIGN KEY (`mail_address_id`) REFERENCES `mail_addresses` (`id`) ON DELETE CASCADE, CONSTRAINT `mail_address_mailboxes_mailbox_id` FOREIGN KEY (`mailbox_id`) REFERENCES `mailboxes` (`id`) ON DELETE CASCADE);

-- +goose Down
-- reverse: create "mail_address_mailboxes" table
DROP TABLE `mail_address_mailboxes`;
-- reverse: create index "mailbox_account_id" to table: "mailboxes"
DROP INDEX `mailbox_account_id`;
-- reverse: create index "mailboxes_name_key" to table: "mailboxes"
DROP INDEX `mailboxes_name_key`;
-- reverse: create "mailboxes" table
DROP TABLE `mailboxes`;
-- reverse: create index "mailaddress_account_id" to table: "mail_addresses"
DROP INDEX `mailaddress_account_id`;
-- reverse: create index "mailaddress_name_domain_id" to table: "mail_addresses"
DROP INDEX `mailaddress_name_domain_id`;
-- reverse: create "mail_addresses" table
DROP TABLE `mail_addresses`;
-- reverse: create index "autoresponse_account_id" to table: "autoresponses"
DROP INDEX `autoresponse_account_id`;
-- reverse: create "autoresponses" table
DROP TABLE `autoresponses`;
