-- +goose Up
-- modify "domains" table
ALTER TABLE "domains" DROP CONSTRAINT "domains_domains_subdomains", ADD CONSTRAINT "domains_domains_subdomains" FOREIGN KEY ("top_id") REFERENCES "domains" ("id") ON UPDATE NO ACTION ON DELETE CASCADE;

-- +goose Down
-- reverse: modify "domains" table
ALTER TABLE "domains" DROP CONSTRAINT "domains_domains_subdomains", ADD CONSTRAINT "domains_domains_subdomains" FOREIGN KEY ("top_id") REFERENCES "domains" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
