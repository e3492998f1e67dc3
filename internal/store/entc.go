//go:build ignore

// entc.go generates the ent client from ./schema together with ent.Meta, the
// per-model scope table built from each schema's Scope annotation.
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
	err := entc.Generate("./schema", &gen.Config{
		Target:   "./ent",
		Package:  "github.com/orchestra-panel/orchestra/internal/store/ent",
		Features: []gen.Feature{gen.FeatureIntercept, gen.FeatureExecQuery, gen.FeatureVersionedMigration, gen.FeatureLock, gen.FeatureUpsert, gen.FeatureModifier},
		Templates: []*gen.Template{
			gen.MustParse(gen.NewTemplate("scopes").ParseFiles("scopes.tmpl")),
			gen.MustParse(gen.NewTemplate("query").ParseFiles("query.tmpl")),
			gen.MustParse(gen.NewTemplate("sqltx").ParseFiles("sqltx.tmpl")),
		},
		Hooks: []gen.Hook{requireScope},
	})
	if err != nil {
		log.Fatal(err)
	}
}
