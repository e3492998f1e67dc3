package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The server links neither Atlas, with the HCL and go-cty it brings (ent's
// migrate package and its SQL schema: migrations are goose files), nor lib/pq
// (riverdatabasesql: PostgreSQL is pgx's), nor libphonenumber with the
// protobuf runtime it decodes its metadata with (internal/validate/phone
// carries the metadata it needs). They weigh megabytes of binary and of
// resident memory for nothing the server runs.
func TestServerLinksNoMigrationTooling(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"ariga.io/atlas",
		"github.com/hashicorp/hcl",
		"github.com/zclconf/go-cty",
		"github.com/lib/pq",
		"entgo.io/ent/dialect/sql/schema",
		"github.com/orchestra-panel/orchestra/internal/store/ent/migrate",
		"github.com/riverqueue/river/riverdriver/riverdatabasesql",
		"github.com/nyaruka/phonenumbers",
		"google.golang.org/protobuf",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("orchestra links %s", pkg)
			}
		}
	}
}
