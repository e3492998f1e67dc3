-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_execution_logs" table
CREATE TABLE `new_execution_logs` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `backend` text NOT NULL, `server_id` integer NOT NULL, `state` text NOT NULL DEFAULT ('RECEIVED'), `async` bool NOT NULL DEFAULT (false), `script` text NOT NULL DEFAULT (''), `secret_script` text NOT NULL DEFAULT (''), `secrets` json NULL, `stdout` text NOT NULL DEFAULT (''), `stderr` text NOT NULL DEFAULT (''), `exit_code` integer NULL, `error` text NOT NULL DEFAULT (''), `attempts` integer NOT NULL DEFAULT (0), `retry_of` integer NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `started_at` datetime NULL, `finished_at` datetime NULL, `next_attempt_at` datetime NULL);
-- copy rows from old table "execution_logs" to new temporary table "new_execution_logs"
INSERT INTO `new_execution_logs` (`id`, `backend`, `server_id`, `state`, `async`, `script`, `stdout`, `stderr`, `exit_code`, `error`, `attempts`, `retry_of`, `created_at`, `updated_at`, `started_at`, `finished_at`, `next_attempt_at`) SELECT `id`, `backend`, `server_id`, `state`, `async`, `script`, `stdout`, `stderr`, `exit_code`, `error`, `attempts`, `retry_of`, `created_at`, `updated_at`, `started_at`, `finished_at`, `next_attempt_at` FROM `execution_logs`;
-- drop "execution_logs" table after copying rows
DROP TABLE `execution_logs`;
-- rename temporary table "new_execution_logs" to "execution_logs"
ALTER TABLE `new_execution_logs` RENAME TO `execution_logs`;
-- create index "executionlog_server_id_state" to table: "execution_logs"
CREATE INDEX `executionlog_server_id_state` ON `execution_logs` (`server_id`, `state`);
-- create index "executionlog_created_at" to table: "execution_logs"
CREATE INDEX `executionlog_created_at` ON `execution_logs` (`created_at`);
-- create index "executionlog_state" to table: "execution_logs"
CREATE INDEX `executionlog_state` ON `execution_logs` (`state`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "executionlog_state" to table: "execution_logs"
DROP INDEX `executionlog_state`;
-- reverse: create index "executionlog_created_at" to table: "execution_logs"
DROP INDEX `executionlog_created_at`;
-- reverse: create index "executionlog_server_id_state" to table: "execution_logs"
DROP INDEX `executionlog_server_id_state`;
-- reverse: create "new_execution_logs" table
DROP TABLE `new_execution_logs`;
