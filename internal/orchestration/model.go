package orchestration

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema/field"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
)

// model is what orchestration knows of an ent model from its table: the
// column types (to decode snapshots and type route expressions) and the
// foreign keys that cascade deletes into it. Tables come from ent.Tables, not
// ent's migrate package, which would link Atlas into the server.
type model struct {
	name    string // ent type name, e.g. "Account"
	varName string // name in route expressions, e.g. "account"
	table   *ent.Table
	env     reflect.Type // struct with one field per column, tagged with its name
	// withResources is env and the object's resources by name, for the
	// expressions of billing (mailbox.resources.disk.allocated).
	withResources reflect.Type
}

var (
	modelsOnce sync.Once
	models     map[string]*model // by ent type name
	byTable    map[string]*model
)

func loadModels() {
	modelsOnce.Do(func() {
		models, byTable = map[string]*model{}, map[string]*model{}
		tables := map[string]*ent.Table{}
		for _, t := range ent.Tables {
			tables[t.Name] = t
		}
		for name, meta := range ent.Meta {
			t := tables[meta.Table]
			if t == nil {
				continue
			}
			m := &model{name: name, varName: snake(name), table: t, env: envType(t)}
			m.withResources = reflect.StructOf(append(structFields(m.env), reflect.StructField{
				Name: "Resources", Type: reflect.TypeFor[map[string]Usage](), Tag: `expr:"resources" json:"-"`}))
			models[name] = m
			byTable[t.Name] = m
		}
	})
}

func modelOf(name string) *model {
	loadModels()
	return models[name]
}

// snake turns "DatabaseUser" into "database_user".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// goType is the Go type a column's values take in expressions.
func goType(t field.Type) reflect.Type {
	switch t {
	case field.TypeBool:
		return reflect.TypeFor[bool]()
	case field.TypeInt, field.TypeInt8, field.TypeInt16, field.TypeInt32, field.TypeInt64,
		field.TypeUint, field.TypeUint8, field.TypeUint16, field.TypeUint32, field.TypeUint64:
		return reflect.TypeFor[int]()
	case field.TypeFloat32, field.TypeFloat64:
		return reflect.TypeFor[float64]()
	case field.TypeTime:
		return reflect.TypeFor[time.Time]()
	case field.TypeString, field.TypeEnum, field.TypeUUID:
		return reflect.TypeFor[string]()
	default: // JSON and others
		return reflect.TypeFor[any]()
	}
}

// envType builds a struct type whose fields are the table's columns, so that
// expr checks field names and types when a route is saved.
func envType(t *ent.Table) reflect.Type {
	fields := make([]reflect.StructField, 0, len(t.Columns))
	for i, c := range t.Columns {
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("F%d", i),
			Type: goType(c.Type),
			Tag:  reflect.StructTag(fmt.Sprintf(`expr:%q json:%q`, c.Name, c.Name)),
		})
	}
	return reflect.StructOf(fields)
}

func structFields(t reflect.Type) []reflect.StructField {
	out := make([]reflect.StructField, t.NumField())
	for i := range out {
		out[i] = t.Field(i)
	}
	return out
}

// fieldList names the fields an expression can use.
func (m *model) fieldList() string {
	names := make([]string, len(m.table.Columns))
	for i, c := range m.table.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// value turns a snapshot into a value of the model's env type.
func (m *model) value(snapshot map[string]any) (any, error) {
	b, err := json.Marshal(snapshot)
	if err != nil {
		return nil, err
	}
	v := reflect.New(m.env)
	if err := json.Unmarshal(b, v.Interface()); err != nil {
		return nil, err
	}
	return v.Elem().Interface(), nil
}

// snapshots reads the rows of ids as column → value maps with values of
// the columns' types (SQLite keeps booleans as integers, JSON as text).
func (m *model) snapshots(ctx context.Context, tx *ent.Tx, dialect string, ids []int) (map[int]map[string]any, error) {
	out := map[int]map[string]any{}
	if len(ids) == 0 {
		return out, nil
	}
	cols := make([]string, len(m.table.Columns))
	for i, c := range m.table.Columns {
		cols[i] = c.Name
	}
	query, args := entsql.Dialect(dialect).Select(cols...).From(entsql.Table(m.table.Name)).
		Where(entsql.InInts("id", ids...)).Query()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		snap := make(map[string]any, len(cols))
		for i, c := range m.table.Columns {
			snap[c.Name] = normalize(c.Type, vals[i])
		}
		id, _ := snap["id"].(int)
		out[id] = snap
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, fill(ctx, tx, m.name, out)
}

func normalize(t field.Type, v any) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch t {
	case field.TypeBool:
		switch x := v.(type) {
		case int64:
			return x != 0
		case string:
			return x == "1" || x == "true"
		}
	case field.TypeInt, field.TypeInt8, field.TypeInt16, field.TypeInt32, field.TypeInt64,
		field.TypeUint, field.TypeUint8, field.TypeUint16, field.TypeUint32, field.TypeUint64:
		switch x := v.(type) {
		case int64:
			return int(x)
		case int32:
			return int(x)
		case float64:
			return int(x)
		}
	case field.TypeJSON:
		if s, ok := v.(string); ok {
			var j any
			if json.Unmarshal([]byte(s), &j) == nil {
				return j
			}
		}
	case field.TypeTime:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC()
		}
	}
	return v
}

// cascades returns the models whose rows a delete of m's rows deletes too
// (ON DELETE CASCADE), with the column that refers to m.
func (m *model) cascades() []struct {
	child  *model
	column string
} {
	loadModels()
	var out []struct {
		child  *model
		column string
	}
	for _, t := range ent.Tables {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable == m.table.Name && fk.Cascade && len(fk.Columns) == 1 {
				if child := byTable[t.Name]; child != nil {
					out = append(out, struct {
						child  *model
						column string
					}{child, fk.Columns[0]})
				}
			}
		}
	}
	return out
}
