package store_test

import (
	"testing"

	"entgo.io/ent/dialect/sql/schema"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/migrate"
)

// ent.Tables stands in for migrate.Tables at run time: it must describe the
// same tables, columns, types and foreign keys, in the same order.
func TestTablesMatchMigrate(t *testing.T) {
	if len(ent.Tables) != len(migrate.Tables) {
		t.Fatalf("%d tables, migrate has %d", len(ent.Tables), len(migrate.Tables))
	}
	for i, mt := range migrate.Tables {
		et := ent.Tables[i]
		if et.Name != mt.Name {
			t.Fatalf("table %d: %s, migrate has %s", i, et.Name, mt.Name)
		}
		if len(et.Columns) != len(mt.Columns) {
			t.Fatalf("%s: %d columns, migrate has %d", et.Name, len(et.Columns), len(mt.Columns))
		}
		for j, mc := range mt.Columns {
			if ec := et.Columns[j]; ec.Name != mc.Name || ec.Type != mc.Type {
				t.Errorf("%s column %d: %s %v, migrate has %s %v", et.Name, j, ec.Name, ec.Type, mc.Name, mc.Type)
			}
		}
		if len(et.ForeignKeys) != len(mt.ForeignKeys) {
			t.Fatalf("%s: %d foreign keys, migrate has %d", et.Name, len(et.ForeignKeys), len(mt.ForeignKeys))
		}
		for j, mfk := range mt.ForeignKeys {
			efk := et.ForeignKeys[j]
			if efk.RefTable != mfk.RefTable.Name || efk.Cascade != (mfk.OnDelete == schema.Cascade) || len(efk.Columns) != len(mfk.Columns) {
				t.Errorf("%s foreign key %d: %+v, migrate has %s on delete %s", et.Name, j, efk, mfk.RefTable.Name, mfk.OnDelete)
				continue
			}
			for k, c := range mfk.Columns {
				if efk.Columns[k] != c.Name {
					t.Errorf("%s foreign key %d column %d: %s, migrate has %s", et.Name, j, k, efk.Columns[k], c.Name)
				}
			}
		}
	}
}
