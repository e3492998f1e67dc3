-- +goose Up
-- create "accounts" table
CREATE TABLE `accounts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `username` text NOT NULL, `password` text NOT NULL DEFAULT (''), `short_name` text NOT NULL DEFAULT (''), `full_name` text NOT NULL, `email` text NOT NULL, `type` text NOT NULL, `language` text NOT NULL, `comments` text NOT NULL DEFAULT (''), `is_superuser` bool NOT NULL DEFAULT (false), `is_active` bool NOT NULL DEFAULT (true), `date_joined` datetime NOT NULL);
-- create index "accounts_username_key" to table: "accounts"
CREATE UNIQUE INDEX `accounts_username_key` ON `accounts` (`username`);
-- create "contacts" table
CREATE TABLE `contacts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `short_name` text NOT NULL, `full_name` text NOT NULL DEFAULT (''), `email` text NOT NULL, `email_usage` json NOT NULL, `phone` text NOT NULL DEFAULT (''), `phone2` text NOT NULL DEFAULT (''), `address` text NOT NULL DEFAULT (''), `city` text NOT NULL DEFAULT (''), `zipcode` text NOT NULL DEFAULT (''), `country` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, CONSTRAINT `contacts_accounts_contacts` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "contact_account_id" to table: "contacts"
CREATE INDEX `contact_account_id` ON `contacts` (`account_id`);
-- create "histories" table
CREATE TABLE `histories` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `time` datetime NOT NULL, `actor_id` integer NULL, `actor` text NOT NULL, `channel` text NOT NULL, `action` text NOT NULL, `object_type` text NOT NULL, `object_id` integer NOT NULL, `object_repr` text NOT NULL, `account_id` integer NULL, `changes` json NOT NULL);
-- create index "history_object_type_object_id" to table: "histories"
CREATE INDEX `history_object_type_object_id` ON `histories` (`object_type`, `object_id`);
-- create index "history_actor_id" to table: "histories"
CREATE INDEX `history_actor_id` ON `histories` (`actor_id`);
-- create index "history_account_id" to table: "histories"
CREATE INDEX `history_account_id` ON `histories` (`account_id`);
-- create "idempotency_keys" table
CREATE TABLE `idempotency_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `scope` text NOT NULL, `key` text NOT NULL, `fingerprint` text NOT NULL, `status` integer NOT NULL DEFAULT (0), `content_type` text NOT NULL DEFAULT (''), `location` text NOT NULL DEFAULT (''), `body` blob NULL, `created_at` datetime NOT NULL);
-- create index "idempotencykey_scope_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_scope_key` ON `idempotency_keys` (`scope`, `key`);
-- create index "idempotencykey_created_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_created_at` ON `idempotency_keys` (`created_at`);
-- create "sessions" table
CREATE TABLE `sessions` (`token` text NOT NULL, `data` blob NOT NULL, `expiry` datetime NOT NULL, PRIMARY KEY (`token`));
-- create index "session_expiry" to table: "sessions"
CREATE INDEX `session_expiry` ON `sessions` (`expiry`);
-- create "settings" table
CREATE TABLE `settings` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `value` json NOT NULL);
-- create index "settings_name_key" to table: "settings"
CREATE UNIQUE INDEX `settings_name_key` ON `settings` (`name`);
-- create "tokens" table
CREATE TABLE `tokens` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `name` text NOT NULL, `prefix` text NOT NULL, `hash` blob NOT NULL, `created_at` datetime NOT NULL, `expires_at` datetime NULL, `last_used_at` datetime NULL, `account_id` integer NOT NULL, CONSTRAINT `tokens_accounts_tokens` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "tokens_hash_key" to table: "tokens"
CREATE UNIQUE INDEX `tokens_hash_key` ON `tokens` (`hash`);
-- create index "token_account_id" to table: "tokens"
CREATE INDEX `token_account_id` ON `tokens` (`account_id`);

-- +goose Down
-- reverse: create index "token_account_id" to table: "tokens"
DROP INDEX `token_account_id`;
-- reverse: create index "tokens_hash_key" to table: "tokens"
DROP INDEX `tokens_hash_key`;
-- reverse: create "tokens" table
DROP TABLE `tokens`;
-- reverse: create index "settings_name_key" to table: "settings"
DROP INDEX `settings_name_key`;
-- reverse: create "settings" table
DROP TABLE `settings`;
-- reverse: create index "session_expiry" to table: "sessions"
DROP INDEX `session_expiry`;
-- reverse: create "sessions" table
DROP TABLE `sessions`;
-- reverse: create index "idempotencykey_created_at" to table: "idempotency_keys"
DROP INDEX `idempotencykey_created_at`;
-- reverse: create index "idempotencykey_scope_key" to table: "idempotency_keys"
DROP INDEX `idempotencykey_scope_key`;
-- reverse: create "idempotency_keys" table
DROP TABLE `idempotency_keys`;
-- reverse: create index "history_account_id" to table: "histories"
DROP INDEX `history_account_id`;
-- reverse: create index "history_actor_id" to table: "histories"
DROP INDEX `history_actor_id`;
-- reverse: create index "history_object_type_object_id" to table: "histories"
DROP INDEX `history_object_type_object_id`;
-- reverse: create "histories" table
DROP TABLE `histories`;
-- reverse: create index "contact_account_id" to table: "contacts"
DROP INDEX `contact_account_id`;
-- reverse: create "contacts" table
DROP TABLE `contacts`;
-- reverse: create index "accounts_username_key" to table: "accounts"
DROP INDEX `accounts_username_key`;
-- reverse: create "accounts" table
DROP TABLE `accounts`;
