-- +goose Up
-- create "ssh_keys" table
CREATE TABLE `ssh_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `key` text NOT NULL, `account_id` integer NOT NULL, `system_user_id` integer NOT NULL, CONSTRAINT `ssh_keys_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `ssh_keys_system_users_system_user` FOREIGN KEY (`system_user_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE);
-- create index "sshkey_account_id" to table: "ssh_keys"
CREATE INDEX `sshkey_account_id` ON `ssh_keys` (`account_id`);
-- create index "sshkey_system_user_id" to table: "ssh_keys"
CREATE INDEX `sshkey_system_user_id` ON `ssh_keys` (`system_user_id`);

-- +goose Down
-- reverse: create index "sshkey_system_user_id" to table: "ssh_keys"
DROP INDEX `sshkey_system_user_id`;
-- reverse: create index "sshkey_account_id" to table: "ssh_keys"
DROP INDEX `sshkey_account_id`;
-- reverse: create "ssh_keys" table
DROP TABLE `ssh_keys`;
