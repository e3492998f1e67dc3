package orchestration

import (
	"context"
	"maps"
	"slices"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/executionlog"
)

// Secrets (the fields a schema declares Sensitive(), ent.Meta[...].Secret)
// live in a change or operation snapshot only while a unit may still need
// them, and in a log's secret_script and secrets only until it is final:
//
//   - a change keeps them until it is planned, and only if a backend applies
//     saves of its model (a related model's or a delete's snapshot never);
//   - an operation keeps them only if its backend reads snapshots when it
//     runs (Exec) and its unit is not final; a script backend's are in
//     its log's secret_script instead;
//   - a log that becomes final drops them from itself and its operations,
//     in the transaction that records the state.

// secretFields returns the secret fields of a model, sorted.
func secretFields(model string) []string {
	return slices.Sorted(maps.Keys(ent.Meta[model].Secret))
}

// withoutSecrets returns snap without the model's secret fields (snap
// itself when it has none).
func withoutSecrets(model string, snap map[string]any) map[string]any {
	keys := secretFields(model)
	if !slices.ContainsFunc(keys, func(k string) bool { _, ok := snap[k]; return ok }) {
		return snap
	}
	out := maps.Clone(snap)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// hasSecrets reports whether snap holds a value of one of the model's
// secret fields.
func hasSecrets(model string, snap map[string]any) bool {
	for _, k := range secretFields(model) {
		if v, ok := snap[k]; ok && v != nil && v != "" {
			return true
		}
	}
	return false
}

// appliesSaves reports whether a backend applies saves of model as its
// main model: only such a change's snapshot is ever rendered with secrets.
func appliesSaves(model string) bool {
	return slices.ContainsFunc(Backends(), func(b *Backend) bool { return b.Model == model && b.Handles(ActionSave) })
}

// scrubSnapshots drops the secret fields from the snapshot column of the
// rows of table (changes or operations) that where selects, in one
// statement: each model's keys by a CASE on the row's model.
func scrubSnapshots(ctx context.Context, tx *ent.Tx, dialectName, table string, where func() *entsql.Predicate) error {
	var (
		cases strings.Builder
		which []*entsql.Predicate
	)
	for _, name := range slices.Sorted(maps.Keys(ent.Meta)) {
		keys := secretFields(name)
		if len(keys) == 0 {
			continue
		}
		has := make([]*entsql.Predicate, len(keys))
		for i, k := range keys {
			has[i] = sqljson.HasKey("snapshot", sqljson.Path(k))
		}
		which = append(which, entsql.And(entsql.EQ("model", name), entsql.Or(has...)))
		// model names and keys are the schema's, never user input
		cases.WriteString(" WHEN '" + name + "' THEN " + dropKeys(dialectName, keys))
	}
	if len(which) == 0 {
		return nil
	}
	query, args := entsql.Dialect(dialectName).Update(table).
		Set("snapshot", entsql.Expr("CASE "+quote(dialectName, "model")+cases.String()+" ELSE "+quote(dialectName, "snapshot")+" END")).
		Where(entsql.And(where(), entsql.Or(which...))).Query()
	_, err := tx.ExecContext(ctx, query, args...)
	return err
}

// quote quotes a column name the dialect's way.
func quote(dialectName, column string) string {
	if dialectName == dialect.Postgres {
		return `"` + column + `"`
	}
	return "`" + column + "`"
}

// dropKeys is the SQL of the snapshot column without keys; keys are field
// names of the schema, never user input.
func dropKeys(dialectName string, keys []string) string {
	if dialectName == dialect.Postgres {
		return quote(dialectName, "snapshot") + ` - '{` + strings.Join(keys, ",") + `}'::text[]`
	}
	return "json_remove(" + quote(dialectName, "snapshot") + ", '$." + strings.Join(keys, "', '$.") + "')"
}

// scrubLog drops the secrets of a log that became final, and of its
// operations.
func scrubLog(ctx context.Context, tx *ent.Tx, dialectName string, logID int) error {
	err := tx.ExecutionLog.Update().Where(executionlog.ID(logID), executionlog.Or(
		executionlog.SecretScriptNEQ(""), executionlog.SecretsNotNil())).
		SetSecretScript("").ClearSecrets().Exec(ctx)
	if err != nil {
		return err
	}
	return scrubSnapshots(ctx, tx, dialectName, "operations", func() *entsql.Predicate { return entsql.EQ("log_id", logID) })
}
