//go:build ignore

// entc.go generates the ent client from ./schema together with ent.Meta, the
// per-model scope table built from each schema's Scope annotation, and
// ent.Tables, the tables' columns and foreign keys.
package main

import (
	"fmt"
	"log"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	requireScope := func(next gen.Generator) gen.Generator {
		return gen.GenerateFunc(func(g *gen.Graph) error {
			for _, n := range g.Nodes {
				if _, ok := n.Annotations["Scope"]; !ok {
					return fmt.Errorf("schema %s has no Scope annotation: declare its owner and auditing", n.Name)
				}
			}
			return next.Generate(g)
		})
	}
	// The client does without ent's migrate package (migrations are goose
	// files applied at startup), so the server links no Atlas nor HCL; the
	// package itself is still generated for migrationsgen and tests.
	storage, err := gen.NewStorage("sql")
	if err != nil {
		log.Fatal(err)
	}
	storage.SchemaMode &^= gen.Migrate
	for i, t := range gen.GraphTemplates {
		if t.Name == "migrate" || t.Name == "schema" {
			gen.GraphTemplates[i].Skip = nil
		}
	}
	err = entc.Generate("./schema", &gen.Config{
		Storage:  storage,
		Target:   "./ent",
		Package:  "github.com/orchestra-panel/orchestra/internal/store/ent",
		Features: []gen.Feature{gen.FeatureIntercept, gen.FeatureExecQuery, gen.FeatureVersionedMigration, gen.FeatureLock, gen.FeatureUpsert, gen.FeatureModifier},
		Templates: []*gen.Template{
			gen.MustParse(gen.NewTemplate("scopes").ParseFiles("scopes.tmpl")),
			gen.MustParse(gen.NewTemplate("query").ParseFiles("query.tmpl")),
			gen.MustParse(gen.NewTemplate("sqltx").ParseFiles("sqltx.tmpl")),
			gen.MustParse(gen.NewTemplate("tables").ParseFiles("tables.tmpl")),
			gen.MustParse(gen.NewTemplate("adapters").ParseFiles("adapters.tmpl")),
		},
		Hooks: []gen.Hook{requireScope, apiModels("../api/models/models.go")},
	})
	if err != nil {
		log.Fatal(err)
	}
}
