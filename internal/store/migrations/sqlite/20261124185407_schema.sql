-- +goose Up
-- create "changes" table
CREATE TABLE `changes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `model` text NOT NULL, `object_id` integer NOT NULL, `action` text NOT NULL, `fields` json NULL, `snapshot` json NOT NULL, `repr` text NOT NULL DEFAULT (''), `account_id` integer NULL, `actor` text NOT NULL DEFAULT (''), `channel` text NOT NULL DEFAULT (''), `planned_at` datetime NULL);
-- create index "change_planned_at" to table: "changes"
CREATE INDEX `change_planned_at` ON `changes` (`planned_at`);
-- create index "change_model_object_id" to table: "changes"
CREATE INDEX `change_model_object_id` ON `changes` (`model`, `object_id`);
-- create "execution_logs" table
CREATE TABLE `execution_logs` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `backend` text NOT NULL, `server_id` integer NOT NULL, `state` text NOT NULL DEFAULT ('RECEIVED'), `async` bool NOT NULL DEFAULT (false), `script` text NOT NULL DEFAULT (''), `stdout` text NOT NULL DEFAULT (''), `stderr` text NOT NULL DEFAULT (''), `exit_code` integer NULL, `error` text NOT NULL DEFAULT (''), `attempts` integer NOT NULL DEFAULT (0), `retry_of` integer NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `started_at` datetime NULL, `finished_at` datetime NULL, `next_attempt_at` datetime NULL);
-- create index "executionlog_server_id_state" to table: "execution_logs"
CREATE INDEX `executionlog_server_id_state` ON `execution_logs` (`server_id`, `state`);
-- create index "executionlog_created_at" to table: "execution_logs"
CREATE INDEX `executionlog_created_at` ON `execution_logs` (`created_at`);
-- create index "executionlog_state" to table: "execution_logs"
CREATE INDEX `executionlog_state` ON `execution_logs` (`state`);
-- create "lanes" table
CREATE TABLE `lanes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `owner` text NOT NULL DEFAULT (''), `until` datetime NULL);
-- create "operations" table
CREATE TABLE `operations` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `change_id` integer NULL, `server_id` integer NULL, `backend` text NOT NULL, `action` text NOT NULL, `model` text NOT NULL, `object_id` integer NOT NULL, `repr` text NOT NULL DEFAULT (''), `account_id` integer NULL, `snapshot` json NOT NULL, `state` text NOT NULL DEFAULT ('RECEIVED'), `created_at` datetime NOT NULL, `log_id` integer NULL, CONSTRAINT `operations_execution_logs_operations` FOREIGN KEY (`log_id`) REFERENCES `execution_logs` (`id`) ON DELETE SET NULL);
-- create index "operation_log_id" to table: "operations"
CREATE INDEX `operation_log_id` ON `operations` (`log_id`);
-- create index "operation_model_object_id" to table: "operations"
CREATE INDEX `operation_model_object_id` ON `operations` (`model`, `object_id`);
-- create index "operation_change_id" to table: "operations"
CREATE INDEX `operation_change_id` ON `operations` (`change_id`);
-- create "routes" table
CREATE TABLE `routes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `backend` text NOT NULL, `match` text NOT NULL DEFAULT ('true'), `async` bool NOT NULL DEFAULT (false), `async_actions` json NOT NULL, `is_active` bool NOT NULL DEFAULT (true), `server_id` integer NOT NULL, CONSTRAINT `routes_servers_routes` FOREIGN KEY (`server_id`) REFERENCES `servers` (`id`) ON DELETE CASCADE);
-- create index "route_backend_server_id" to table: "routes"
CREATE UNIQUE INDEX `route_backend_server_id` ON `routes` (`backend`, `server_id`);
-- create "servers" table
CREATE TABLE `servers` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `address` text NOT NULL DEFAULT (''), `ssh_port` integer NOT NULL DEFAULT (22), `ssh_user` text NOT NULL DEFAULT ('root'), `host_key` text NOT NULL DEFAULT (''), `description` text NOT NULL DEFAULT (''), `os` text NOT NULL DEFAULT ('LINUX'), `settings` json NOT NULL, `is_active` bool NOT NULL DEFAULT (true));
-- create index "servers_name_key" to table: "servers"
CREATE UNIQUE INDEX `servers_name_key` ON `servers` (`name`);

-- +goose Down
-- reverse: create index "servers_name_key" to table: "servers"
DROP INDEX `servers_name_key`;
-- reverse: create "servers" table
DROP TABLE `servers`;
-- reverse: create index "route_backend_server_id" to table: "routes"
DROP INDEX `route_backend_server_id`;
-- reverse: create "routes" table
DROP TABLE `routes`;
-- reverse: create index "operation_change_id" to table: "operations"
DROP INDEX `operation_change_id`;
-- reverse: create index "operation_model_object_id" to table: "operations"
DROP INDEX `operation_model_object_id`;
-- reverse: create index "operation_log_id" to table: "operations"
DROP INDEX `operation_log_id`;
-- reverse: create "operations" table
DROP TABLE `operations`;
-- reverse: create "lanes" table
DROP TABLE `lanes`;
-- reverse: create index "executionlog_state" to table: "execution_logs"
DROP INDEX `executionlog_state`;
-- reverse: create index "executionlog_created_at" to table: "execution_logs"
DROP INDEX `executionlog_created_at`;
-- reverse: create index "executionlog_server_id_state" to table: "execution_logs"
DROP INDEX `executionlog_server_id_state`;
-- reverse: create "execution_logs" table
DROP TABLE `execution_logs`;
-- reverse: create index "change_model_object_id" to table: "changes"
DROP INDEX `change_model_object_id`;
-- reverse: create index "change_planned_at" to table: "changes"
DROP INDEX `change_planned_at`;
-- reverse: create "changes" table
DROP TABLE `changes`;
