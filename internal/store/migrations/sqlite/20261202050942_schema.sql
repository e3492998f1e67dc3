-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_idempotency_keys" table
CREATE TABLE `new_idempotency_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `scope` text NOT NULL, `key` text NOT NULL, `fingerprint` text NOT NULL, `status` integer NOT NULL DEFAULT (0), `content_type` text NOT NULL DEFAULT (''), `location` text NOT NULL DEFAULT (''), `body` blob NULL, `withheld` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL);
-- copy rows from old table "idempotency_keys" to new temporary table "new_idempotency_keys"
INSERT INTO `new_idempotency_keys` (`id`, `scope`, `key`, `fingerprint`, `status`, `content_type`, `location`, `body`, `created_at`) SELECT `id`, `scope`, `key`, `fingerprint`, `status`, `content_type`, `location`, `body`, `created_at` FROM `idempotency_keys`;
-- drop "idempotency_keys" table after copying rows
DROP TABLE `idempotency_keys`;
-- rename temporary table "new_idempotency_keys" to "idempotency_keys"
ALTER TABLE `new_idempotency_keys` RENAME TO `idempotency_keys`;
-- create index "idempotencykey_scope_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_scope_key` ON `idempotency_keys` (`scope`, `key`);
-- create index "idempotencykey_created_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_created_at` ON `idempotency_keys` (`created_at`);
-- sessions were keyed by the clear token: end them all (their keys become hashes)
DELETE FROM `sessions`;
-- create "new_sessions" table
CREATE TABLE `new_sessions` (`token_hash` text NOT NULL, `data` blob NOT NULL, `expiry` datetime NOT NULL, `account_id` integer NULL, PRIMARY KEY (`token_hash`));
-- copy rows from old table "sessions" to new temporary table "new_sessions"
INSERT INTO `new_sessions` (`data`, `expiry`) SELECT `data`, `expiry` FROM `sessions`;
-- drop "sessions" table after copying rows
DROP TABLE `sessions`;
-- rename temporary table "new_sessions" to "sessions"
ALTER TABLE `new_sessions` RENAME TO `sessions`;
-- create index "session_expiry" to table: "sessions"
CREATE INDEX `session_expiry` ON `sessions` (`expiry`);
-- create index "session_account_id" to table: "sessions"
CREATE INDEX `session_account_id` ON `sessions` (`account_id`);
-- create "throttles" table
CREATE TABLE `throttles` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `kind` text NOT NULL, `key` text NOT NULL, `count` integer NOT NULL DEFAULT (0), `window_start` datetime NOT NULL);
-- create index "throttle_kind_key" to table: "throttles"
CREATE UNIQUE INDEX `throttle_kind_key` ON `throttles` (`kind`, `key`);
-- create index "throttle_window_start" to table: "throttles"
CREATE INDEX `throttle_window_start` ON `throttles` (`window_start`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "throttle_window_start" to table: "throttles"
DROP INDEX `throttle_window_start`;
-- reverse: create index "throttle_kind_key" to table: "throttles"
DROP INDEX `throttle_kind_key`;
-- reverse: create "throttles" table
DROP TABLE `throttles`;
-- reverse: create index "session_account_id" to table: "sessions"
DROP INDEX `session_account_id`;
-- reverse: create index "session_expiry" to table: "sessions"
DROP INDEX `session_expiry`;
-- reverse: create "new_sessions" table
DROP TABLE `new_sessions`;
-- reverse: create index "idempotencykey_created_at" to table: "idempotency_keys"
DROP INDEX `idempotencykey_created_at`;
-- reverse: create index "idempotencykey_scope_key" to table: "idempotency_keys"
DROP INDEX `idempotencykey_scope_key`;
-- reverse: create "new_idempotency_keys" table
DROP TABLE `new_idempotency_keys`;
