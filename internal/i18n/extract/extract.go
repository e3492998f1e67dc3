// Package extract finds the messages a Go source tree translates: the
// literal text given to i18n.T, i18n.Tl and i18n.M, and to the functions
// that pass their arguments on to them (Forwarders). The catalog test
// compares them with the catalogs.
package extract

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// Forwarders are functions, by name, whose arguments at the given indexes
// are messages they translate.
var Forwarders = map[string][]int{
	"plural": {2, 3}, // internal/web: one or many
	"bad":    {0},    // internal/services/dns: an import's refusal
}

// translators are the i18n package's functions and the index of their message.
var translators = map[string]int{"T": 1, "Tl": 1, "M": 0}

// Messages returns every literal message under root (test files and
// generated templ sources' .templ originals skipped: their _templ.go code
// holds the calls), with the first place each appears.
func Messages(root string) (map[string]string, error) {
	out := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		inI18n := f.Name.Name == "i18n"
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for _, i := range argsOf(call, inI18n) {
				if i < len(call.Args) {
					if msg, ok := literal(call.Args[i]); ok && msg != "" {
						if _, seen := out[msg]; !seen {
							out[msg] = fset.Position(call.Args[i].Pos()).String()
						}
					}
				}
			}
			return true
		})
		return nil
	})
	return out, err
}

// argsOf is the indexes of call's arguments that are messages.
func argsOf(call *ast.CallExpr, inI18n bool) []int {
	switch fn := call.Fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok && x.Name == "i18n" {
			if i, ok := translators[fn.Sel.Name]; ok {
				return []int{i}
			}
		}
	case *ast.Ident:
		if inI18n {
			if i, ok := translators[fn.Name]; ok {
				return []int{i}
			}
		}
		return Forwarders[fn.Name]
	}
	return nil
}

// literal is the text of a string literal or a sum of them.
func literal(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, ok := literal(e.X)
		if !ok {
			return "", false
		}
		r, ok := literal(e.Y)
		return l + r, ok
	case *ast.ParenExpr:
		return literal(e.X)
	}
	return "", false
}
