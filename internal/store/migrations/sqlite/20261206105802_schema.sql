-- +goose Up
-- create "bills" table
CREATE TABLE `bills` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `number` text NOT NULL, `type` text NOT NULL, `closed_on` datetime NULL, `is_open` bool NOT NULL DEFAULT (true), `is_sent` bool NOT NULL DEFAULT (false), `due_on` datetime NULL, `total` text NOT NULL, `comments` text NOT NULL DEFAULT (''), `html` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, `amend_of_id` integer NULL, CONSTRAINT `bills_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE RESTRICT, CONSTRAINT `bills_bills_amend_of` FOREIGN KEY (`amend_of_id`) REFERENCES `bills` (`id`) ON DELETE RESTRICT);
-- create index "bills_amend_of_id_key" to table: "bills"
CREATE UNIQUE INDEX `bills_amend_of_id_key` ON `bills` (`amend_of_id`);
-- create index "bill_number" to table: "bills"
CREATE UNIQUE INDEX `bill_number` ON `bills` (`number`);
-- create index "bill_account_id_type_is_open" to table: "bills"
CREATE INDEX `bill_account_id_type_is_open` ON `bills` (`account_id`, `type`, `is_open`);
-- create index "bill_closed_on" to table: "bills"
CREATE INDEX `bill_closed_on` ON `bills` (`closed_on`);
-- create "bill_contacts" table
CREATE TABLE `bill_contacts` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL DEFAULT (''), `address` text NOT NULL, `city` text NOT NULL DEFAULT ('Barcelona'), `zipcode` text NOT NULL, `country` text NOT NULL DEFAULT ('ES'), `vat` text NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `bill_contacts_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "billcontact_account_id" to table: "bill_contacts"
CREATE UNIQUE INDEX `billcontact_account_id` ON `bill_contacts` (`account_id`);
-- create "bill_lines" table
CREATE TABLE `bill_lines` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `version` integer NOT NULL DEFAULT (1), `account_id` integer NOT NULL, `description` text NOT NULL, `rate` text NULL, `quantity` text NULL, `verbose_quantity` text NOT NULL DEFAULT (''), `subtotal` text NOT NULL, `tax` integer NOT NULL DEFAULT (0), `start_on` datetime NOT NULL, `end_on` datetime NULL, `order_billed_on` datetime NULL, `order_billed_until` datetime NULL, `order_billed_metric` text NULL, `amended_line_id` integer NULL, `created_on` datetime NOT NULL, `bill_id` integer NOT NULL, `order_id` integer NULL, CONSTRAINT `bill_lines_bills_bill` FOREIGN KEY (`bill_id`) REFERENCES `bills` (`id`) ON DELETE CASCADE, CONSTRAINT `bill_lines_orders_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE SET NULL);
-- create index "billline_bill_id" to table: "bill_lines"
CREATE INDEX `billline_bill_id` ON `bill_lines` (`bill_id`);
-- create index "billline_order_id" to table: "bill_lines"
CREATE INDEX `billline_order_id` ON `bill_lines` (`order_id`);
-- create index "billline_account_id" to table: "bill_lines"
CREATE INDEX `billline_account_id` ON `bill_lines` (`account_id`);
-- create "bill_sublines" table
CREATE TABLE `bill_sublines` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `account_id` integer NOT NULL, `description` text NOT NULL, `total` text NOT NULL, `type` text NOT NULL DEFAULT ('OTHER'), `bill_line_id` integer NOT NULL, CONSTRAINT `bill_sublines_bill_lines_sublines` FOREIGN KEY (`bill_line_id`) REFERENCES `bill_lines` (`id`) ON DELETE CASCADE);
-- create index "billsubline_bill_line_id" to table: "bill_sublines"
CREATE INDEX `billsubline_bill_line_id` ON `bill_sublines` (`bill_line_id`);
-- create index "billsubline_account_id" to table: "bill_sublines"
CREATE INDEX `billsubline_account_id` ON `bill_sublines` (`account_id`);

-- +goose Down
-- reverse: create index "billsubline_account_id" to table: "bill_sublines"
DROP INDEX `billsubline_account_id`;
-- reverse: create index "billsubline_bill_line_id" to table: "bill_sublines"
DROP INDEX `billsubline_bill_line_id`;
-- reverse: create "bill_sublines" table
DROP TABLE `bill_sublines`;
-- reverse: create index "billline_account_id" to table: "bill_lines"
DROP INDEX `billline_account_id`;
-- reverse: create index "billline_order_id" to table: "bill_lines"
DROP INDEX `billline_order_id`;
-- reverse: create index "billline_bill_id" to table: "bill_lines"
DROP INDEX `billline_bill_id`;
-- reverse: create "bill_lines" table
DROP TABLE `bill_lines`;
-- reverse: create index "billcontact_account_id" to table: "bill_contacts"
DROP INDEX `billcontact_account_id`;
-- reverse: create "bill_contacts" table
DROP TABLE `bill_contacts`;
-- reverse: create index "bill_closed_on" to table: "bills"
DROP INDEX `bill_closed_on`;
-- reverse: create index "bill_account_id_type_is_open" to table: "bills"
DROP INDEX `bill_account_id_type_is_open`;
-- reverse: create index "bill_number" to table: "bills"
DROP INDEX `bill_number`;
-- reverse: create index "bills_amend_of_id_key" to table: "bills"
DROP INDEX `bills_amend_of_id_key`;
-- reverse: create "bills" table
DROP TABLE `bills`;
