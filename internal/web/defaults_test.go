package web_test

import (
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestFormDefaults: an add form shows the schema's defaults chosen, as
// the values the choices offer (a billed service's ANUAL, a resource's
// aggregation).
func TestFormDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		b := f.login(t, "admin", "Adm1n-password!")
		for path, wants := range map[string][]string{
			"/services/new":  {`<option value="ANUAL" selected>`, `<option value="TEN_DAYS" selected>`, `<option value="STEP_PRICE" selected>`},
			"/resources/new": {`<option value="last-10-days-avg" selected>`, `<option value="nothing" selected>`},
		} {
			_, _, page := b.get(path)
			for _, want := range wants {
				if !strings.Contains(page, want) {
					t.Errorf("%s lacks %s", path, want)
				}
			}
			if strings.Contains(page, `&#34;`) {
				t.Errorf("%s shows a value in quotes", path)
			}
		}
	})
}
