-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_lanes" table
CREATE TABLE `new_lanes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `owner` text NOT NULL DEFAULT (''), `expires` integer NULL, `generation` integer NOT NULL DEFAULT (0));
-- copy rows from old table "lanes" to new temporary table "new_lanes"
INSERT INTO `new_lanes` (`id`, `owner`) SELECT `id`, `owner` FROM `lanes`;
-- drop "lanes" table after copying rows
DROP TABLE `lanes`;
-- rename temporary table "new_lanes" to "lanes"
ALTER TABLE `new_lanes` RENAME TO `lanes`;
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create "new_lanes" table
DROP TABLE `new_lanes`;
