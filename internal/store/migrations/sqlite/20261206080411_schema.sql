-- +goose Up
-- create "stream_cursors" table
CREATE TABLE `stream_cursors` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `name` text NOT NULL, `position` integer NOT NULL DEFAULT (0), `handled` json NULL, `gap_fence` integer NOT NULL DEFAULT (0), `gap_xmax` integer NOT NULL DEFAULT (0), `updated_at` datetime NOT NULL);
-- create index "stream_cursors_name_key" to table: "stream_cursors"
CREATE UNIQUE INDEX `stream_cursors_name_key` ON `stream_cursors` (`name`);

-- +goose Down
-- reverse: create index "stream_cursors_name_key" to table: "stream_cursors"
DROP INDEX `stream_cursors_name_key`;
-- reverse: create "stream_cursors" table
DROP TABLE `stream_cursors`;
