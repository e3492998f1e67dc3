-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_idempotency_keys" table
CREATE TABLE `new_idempotency_keys` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `scope` text NOT NULL, `key` text NOT NULL, `fingerprint` text NOT NULL, `status` integer NOT NULL DEFAULT (0), `content_type` text NOT NULL DEFAULT (''), `location` text NOT NULL DEFAULT (''), `body` blob NULL, `withheld` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL, `holder` text NOT NULL DEFAULT (''), `instance` text NOT NULL DEFAULT (''), `held_until` datetime NULL);
-- copy rows from old table "idempotency_keys" to new temporary table "new_idempotency_keys"
INSERT INTO `new_idempotency_keys` (`id`, `scope`, `key`, `fingerprint`, `status`, `content_type`, `location`, `body`, `withheld`, `created_at`) SELECT `id`, `scope`, `key`, `fingerprint`, `status`, `content_type`, `location`, `body`, `withheld`, `created_at` FROM `idempotency_keys`;
-- drop "idempotency_keys" table after copying rows
DROP TABLE `idempotency_keys`;
-- rename temporary table "new_idempotency_keys" to "idempotency_keys"
ALTER TABLE `new_idempotency_keys` RENAME TO `idempotency_keys`;
-- create index "idempotencykey_scope_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_scope_key` ON `idempotency_keys` (`scope`, `key`);
-- create index "idempotencykey_created_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_created_at` ON `idempotency_keys` (`created_at`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "idempotencykey_created_at" to table: "idempotency_keys"
DROP INDEX `idempotencykey_created_at`;
-- reverse: create index "idempotencykey_scope_key" to table: "idempotency_keys"
DROP INDEX `idempotencykey_scope_key`;
-- reverse: create "new_idempotency_keys" table
DROP TABLE `new_idempotency_keys`;
