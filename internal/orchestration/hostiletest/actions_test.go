package hostiletest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestHostileActionArguments sends every seed, as a customer through the
// API, as the arguments of the system users' actions: a folder of the
// account to grant on, a link's target and name, a path to check. Each is
// refused with a 422 naming its field, or acts on exactly that path: the
// grant is in the folder's ACL, the link reads back byte for byte, the check
// names the path as it was sent. No seed runs.
func TestHostileActionArguments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, systemusers.Backend)
		owner := apitest.Unique("ha")
		canary := "/tmp/orchestra-canary-" + owner
		t.Cleanup(func() { bed.Root("rm -f " + canary) })
		as, _ := bed.Customer(owner)
		web := as.Do("POST", "/system-users", map[string]any{"username": owner + "w"}).Want(http.StatusCreated).ID()
		q := orchestration.Quote
		arrived, refused := 0, 0
		act := func(action string, body map[string]any, field string) (map[string]any, bool) {
			t.Helper()
			r := as.Do("POST", fmt.Sprintf("/system-users/%d/%s", web, action), body)
			if r.Status == http.StatusUnprocessableEntity && slices.ContainsFunc(r.FieldErrors(), func(f string) bool { return strings.HasPrefix(f, "body."+field) }) {
				refused++
				return nil, false
			}
			if res := r.JSON(); r.Status != http.StatusOK || res["state"] != "SUCCESS" {
				t.Errorf("%s %q: %d %s", action, body, r.Status, r.Body)
				return nil, false
			}
			arrived++
			return r.JSON(), true
		}
		for i, s := range append(seeds(canary), " padded ", "trailing ") {
			s = string([]rune(s)) // what JSON carries: bytes that are not UTF-8 become U+FFFD
			dir := fmt.Sprintf("/home/%s/d%d/%s", owner, i, s)
			if !strings.ContainsRune(dir, 0) { // the API refuses it; no script may hold it
				bed.Root(fmt.Sprintf("runuser -u %s -- mkdir -p -- %s 2>/dev/null", owner, q(dir)))
			}
			if _, ok := act("permissions", map[string]any{"path": dir, "access": "r", "mode": "grant"}, "path"); ok {
				if out, _ := bed.Root(fmt.Sprintf("getfacl -cp -- %s | grep -c '^user:%sw:r-x'", q(dir), owner)); out != "1\n" {
					t.Errorf("grant on %q: the folder's ACL holds %q", dir, out)
				}
			}
			name := fmt.Sprintf("l%d%s", i, s)
			if _, ok := act("links", map[string]any{"target": dir, "name": name}, ""); ok {
				got, _ := bed.Root(fmt.Sprintf("readlink -- /home/%sw/%s | base64 -w0", owner, q(name)))
				if b, _ := base64.StdEncoding.DecodeString(got); string(b) != dir+"\n" {
					t.Errorf("link %q: reads %q, want %q", name, b, dir)
				}
			}
			if res, ok := act("check-paths", map[string]any{"paths": []string{dir}}, "paths"); ok {
				if out := res["units"].([]any)[0].(map[string]any)["output"]; out != "exists: "+dir+"\n" {
					t.Errorf("check %q: %q", dir, out)
				}
			}
		}
		if out, _ := bed.Root("ls " + canary + " 2>/dev/null"); out != "" {
			t.Errorf("a seed ran: %s exists", canary)
		}
		t.Logf("%d arguments acted on, %d refused", arrived, refused)
	})
}
