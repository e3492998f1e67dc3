package api

import (
	"strings"
	"testing"
	"time"
)

// TestCopyOut: an output's fields are the entity's of the same name, a
// reference the entity's id field; one the entity lacks stops the
// declaration at start-up, naming it.
func TestCopyOut(t *testing.T) {
	type entity struct {
		ID        int
		Name      string
		AccountID int
		When      *time.Time
		secret    string
	}
	type out struct {
		ID      int
		Name    string
		Account int
		When    *time.Time
	}
	now := time.Now()
	got := copyOut[entity, out]("thing")(&entity{ID: 3, Name: "n", AccountID: 7, When: &now, secret: "s"})
	if got != (out{3, "n", 7, &now}) {
		t.Errorf("copied %+v", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "Missing") {
			t.Errorf("an output field the entity lacks: %v", r)
		}
	}()
	copyOut[entity, struct{ Missing string }]("thing")
}
