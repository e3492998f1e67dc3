package resources_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/history"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resource"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// a monitor that prints what no monitor may: its unit must store nothing
func init() {
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{Name: "test-garbage-monitor", Model: "SystemUser", DefaultMatch: "true",
		Apply: func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
			s.Var("id", strconv.Itoa(o.ID))
			s.Raw(`printf '%s 1\n%s\n' "$id" "du: cannot read directory"`)
			return nil
		}}})
}

// a counter whose value is its window's length: what it prints shows the
// window each object was given
func init() {
	resources.RegisterMonitor(resources.Monitor{Counter: true, Backend: &orchestration.Backend{Name: "test-window-monitor", Model: "SystemUser", DefaultMatch: "true",
		Apply: func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
			s.Var("id", strconv.Itoa(o.ID))
			s.Var("since", o.Args["since"])
			s.Var("until", o.Args["until"])
			s.Raw(`printf '%s %s\n' "$id" "$((until - since))"`)
			return nil
		}}})
}

// TestCounterWindows: each object of a counter is measured over the window
// since its own last sample, so a refresh of one object from its page
// neither loses nor counts twice what the next run of all of them reads.
func TestCounterWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, "unix-user", "test-window-monitor")
		users := []string{apitest.Unique("rwa"), apitest.Unique("rwb")}
		for _, u := range users {
			bed.Customer(u)
		}
		id := bed.Admin.Do("POST", "/resources", map[string]any{"name": "window", "label": "Window", "model": "SystemUser",
			"aggregation": "monthly-sum", "monitors": []string{"test-window-monitor"}}).Want(http.StatusCreated).ID()
		ctx := viewer.System(context.Background(), viewer.ChannelCLI)
		r := st.Resource.GetX(ctx, id)
		first := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		for _, at := range []time.Time{first, first.Add(time.Minute)} {
			if round, err := resources.Measure(ctx, st, bed.Ex, r, at, time.Minute); err != nil || round.Samples == 0 {
				t.Fatalf("measuring at %s: %+v %v", at, round, err)
			}
		}
		objects := st.SystemUser.Query().Where(systemuser.UsernameIn(users...)).Order(ent.Asc(systemuser.FieldID)).IDsX(ctx)
		if ran, err := resources.Refresh(ctx, st, bed.Ex, id, objects[0]); err != nil || !ran {
			t.Fatalf("refreshing one object: %v %v", ran, err)
		}
		if round, err := resources.Measure(ctx, st, bed.Ex, r, time.Now().UTC().Add(time.Minute).Truncate(time.Second), time.Minute); err != nil || round.Samples == 0 {
			t.Fatalf("measuring all again: %+v %v", round, err)
		}
		for i, obj := range objects {
			samples := st.MonitorSample.Query().Where(monitorsample.Monitor("test-window-monitor"), monitorsample.ObjectID(obj)).
				Order(ent.Asc(monitorsample.FieldCreatedAt)).AllX(ctx)
			if want := 3 + 1 - i; len(samples) != want { // the refreshed one has one more
				t.Fatalf("object %d: %d samples, want %d", obj, len(samples), want)
			}
			if samples[0].Value.IntPart() != first.Unix() {
				t.Errorf("object %d: the first window counts %s s, want everything before it (%d)", obj, samples[0].Value, first.Unix())
			}
			for j := 1; j < len(samples); j++ {
				if want := int64(samples[j].CreatedAt.Sub(samples[j-1].CreatedAt) / time.Second); samples[j].Value.IntPart() != want {
					t.Errorf("object %d, sample %d: a window of %s s, want %d (since its previous sample)", obj, j, samples[j].Value, want)
				}
			}
		}
	})
}

// TestSystemUserDisk: a known amount of data written into a customer's
// home is what the disk monitor measures there (du's bytes), the usage of
// the user in the resource's unit and of its account; a monitor that
// prints a bad line fails its unit naming the line, and stores nothing.
func TestSystemUserDisk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		bed := apitest.OnTestBed(t, st, "unix-user", "unix-user-disk", "test-garbage-monitor")
		user := apitest.Unique("rd")
		client, acc := bed.Customer(user)
		bed.Root(fmt.Sprintf("head -c 2500000 /dev/urandom > ~%[1]s/data && chown %[1]s: ~%[1]s/data", user))
		du, _ := bed.Root(fmt.Sprintf("du -sbx ~%s | cut -f1", user))
		bytes, err := strconv.Atoi(strings.TrimSpace(du))
		if err != nil || bytes < 2_500_000 || bytes > 2_600_000 {
			t.Fatalf("du says %q", du)
		}
		mk := func(body map[string]any) *ent.Resource {
			id := bed.Admin.Do("POST", "/resources", body).Want(http.StatusCreated).ID()
			return st.Resource.GetX(viewer.System(context.Background(), viewer.ChannelCLI), id)
		}
		disk := mk(map[string]any{"name": "disk", "label": "Disk", "model": "SystemUser", "unit": "MB", "scale": "10**6",
			"aggregation": "last", "monitors": []string{"unix-user-disk"}, "default_allocation": 100})
		total := mk(map[string]any{"name": "disk", "label": "Disk", "model": "Account", "unit": "B", "aggregation": "last",
			"monitors": []string{"unix-user-disk"}})
		ctx, now := viewer.System(context.Background(), viewer.ChannelCLI), time.Now().UTC().Truncate(time.Second)
		for _, r := range []*ent.Resource{disk, total} {
			round, err := resources.Measure(ctx, st, bed.Ex, r, now, time.Minute)
			if err != nil || len(round.Failed) != 0 || round.Objects == 0 {
				t.Fatalf("measuring %s of %s: %+v %v", r.Name, r.Model, round, err)
			}
		}
		d := st.ResourceData.Query().Where(resourcedata.ResourceID(disk.ID), resourcedata.AccountID(acc)).OnlyX(ctx)
		if want := fmt.Sprintf("%.3f", float64(bytes)/1e6); d.Used == nil || d.Used.StringFixed(3) != want || d.Allocated == nil || *d.Allocated != 100 {
			t.Errorf("the user's disk: %v of %v MB, want %s of 100", d.Used, d.Allocated, want)
		}
		a := st.ResourceData.Query().Where(resourcedata.ResourceID(total.ID), resourcedata.ObjectID(acc)).OnlyX(ctx)
		if a.Used == nil || a.Used.IntPart() != int64(bytes) {
			t.Errorf("the account's disk: %v B, want %d", a.Used, bytes)
		}

		// the customer sees its usage, staff allocate, the history reads back
		// what was measured, and a refresh measures again
		list := client.Do("GET", fmt.Sprintf("/usage?model=SystemUser&object=%d", d.ObjectID), nil).Want(http.StatusOK).JSON()
		if rows, _ := list["results"].([]any); len(rows) != 1 || rows[0].(map[string]any)["used"] != fmt.Sprintf("%.3f", float64(bytes)/1e6) ||
			rows[0].(map[string]any)["unit"] != "MB" || rows[0].(map[string]any)["label"] != "Disk" || rows[0].(map[string]any)["object_name"] != user {
			t.Errorf("the customer's usage list: %v", list)
		}
		other, _ := bed.Customer(apitest.Unique("ro"))
		other.Do("GET", fmt.Sprintf("/usage/%d", d.ID), nil).Want(http.StatusNotFound)
		client.Do("PATCH", fmt.Sprintf("/usage/%d", d.ID), map[string]any{"allocated": 1000, "version": d.Version}).Want(http.StatusForbidden)
		if got := bed.Admin.Do("PATCH", fmt.Sprintf("/usage/%d", d.ID), map[string]any{"allocated": 200, "version": d.Version}).Want(http.StatusOK).JSON(); got["allocated"] != float64(200) {
			t.Errorf("staff's allocation: %v", got)
		}
		h := client.Do("GET", fmt.Sprintf("/usage/%d/history?days=2", d.ID), nil).Want(http.StatusOK).JSON()
		if samples, _ := h["samples"].([]any); len(samples) != 1 || samples[0].(map[string]any)["value"] != fmt.Sprintf("%.3f", float64(bytes)/1e6) {
			t.Errorf("the history's samples: %v", h["samples"])
		}
		if usage, _ := h["usage"].([]any); len(usage) == 0 {
			t.Errorf("the history's usage: %v", h["usage"])
		}
		bed.Root(fmt.Sprintf("head -c 1000000 /dev/zero > ~%[1]s/more && chown %[1]s: ~%[1]s/more", user))
		if got := client.Do("POST", fmt.Sprintf("/usage/%d/refresh", d.ID), nil).Want(http.StatusOK).JSON(); got["used"] != fmt.Sprintf("%.3f", float64(bytes+1_000_000)/1e6) {
			t.Errorf("refreshed: %v", got)
		}
		bed.Root(fmt.Sprintf("rm ~%s/more", user))
		// usage is the panel's: customers cannot forget it
		client.Do("DELETE", fmt.Sprintf("/usage/%d", d.ID), nil).Want(http.StatusForbidden)
		client.Do("POST", fmt.Sprintf("/resources/%d/measure", disk.ID), nil).Want(http.StatusForbidden)
		if got := bed.Admin.Do("POST", fmt.Sprintf("/resources/%d/measure", disk.ID), nil).Want(http.StatusOK).JSON(); got["samples"] == float64(0) {
			t.Errorf("measured now: %v", got)
		}

		// over its allocation, then back under: each recorded once in the
		// user's history, the state remembered between runs
		quota := mk(map[string]any{"name": "quota", "label": "Quota", "model": "SystemUser", "unit": "MB", "scale": "10**6",
			"aggregation": "last", "monitors": []string{"unix-user-disk"}, "default_allocation": 1, "on_exceed": "alert"})
		crossings := func() (states []string) {
			for _, h := range st.History.Query().Where(history.ObjectType("SystemUser"), history.ObjectID(d.ObjectID)).Order(ent.Asc(history.FieldID)).AllX(ctx) {
				if c, ok := h.Changes["resources.quota"].(map[string]any); ok {
					states = append(states, fmt.Sprint(c["new"]))
				}
			}
			return states
		}
		for i, step := range []struct {
			script string
			want   string
		}{{"true", "[exceeded]"}, {"true", "[exceeded]"}, {fmt.Sprintf("rm ~%s/data", user), "[exceeded within]"}, {"true", "[exceeded within]"}} {
			bed.Root(step.script)
			if _, err := resources.Measure(ctx, st, bed.Ex, quota, now.Add(time.Duration(i+1)*time.Minute), time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(crossings()); got != step.want {
				t.Errorf("run %d: the user's history holds %s, want %s", i+1, got, step.want)
			}
		}

		// staff forget a usage row, but not one over its allocation (its
		// enforcers go by it)
		q := st.ResourceData.Query().Where(resourcedata.ResourceID(quota.ID), resourcedata.ObjectID(d.ObjectID)).OnlyX(ctx)
		write0 := func(over bool) {
			if err := st.Tx(store.KeepVersion(ctx), func(ctx context.Context, tx *ent.Tx) error {
				return tx.ResourceData.UpdateOne(q).SetExceeded(over).Exec(ctx)
			}); err != nil {
				t.Fatal(err)
			}
		}
		write0(true)
		bed.Admin.Do("DELETE", fmt.Sprintf("/usage/%d", q.ID), nil).Want(http.StatusConflict)
		write0(false)
		bed.Admin.Do("DELETE", fmt.Sprintf("/usage/%d", q.ID), nil).Want(http.StatusNoContent)

		// on schedule: in the minutes it names, once a minute, never while
		// another run holds it; on-demand and inactive resources wait to be asked
		write := func(f func(ctx context.Context, tx *ent.Tx) error) {
			if err := st.Tx(store.KeepVersion(ctx), f); err != nil { // the test's own writes leave the version
				t.Fatal(err)
			}
		}
		write(func(ctx context.Context, tx *ent.Tx) error {
			return tx.Resource.Update().Where(resource.IDIn(disk.ID, total.ID, quota.ID)).SetIsActive(false).Exec(ctx)
		})
		hourly := mk(map[string]any{"name": "hourly", "label": "Hourly", "model": "SystemUser", "aggregation": "last",
			"monitors": []string{"unix-user-disk"}, "schedule": "*/5 * * * *"})
		mk(map[string]any{"name": "asked", "label": "Asked", "model": "SystemUser", "aggregation": "last",
			"monitors": []string{"unix-user-disk"}, "schedule": "* * * * *", "on_demand": true})
		base := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
		for _, step := range []struct {
			at   time.Duration
			held bool
			want int
		}{{3 * time.Minute, false, 0}, {5 * time.Minute, false, 1}, {5*time.Minute + 30*time.Second, false, 0}, {10 * time.Minute, true, 0}, {15 * time.Minute, false, 1}} {
			if step.held {
				write(func(ctx context.Context, tx *ent.Tx) error {
					return tx.Resource.UpdateOne(hourly).SetClaimedUntil(time.Now().Add(time.Hour)).Exec(ctx)
				})
			}
			n, err := resources.RunDue(ctx, st, bed.Ex, base.Add(step.at))
			if err != nil || n != step.want {
				t.Errorf("at %s: %d measured (%v), want %d", base.Add(step.at).Format("15:04:05"), n, err, step.want)
			}
			if step.held {
				write(func(ctx context.Context, tx *ent.Tx) error {
					return tx.Resource.UpdateOne(hourly).ClearClaimedUntil().Exec(ctx)
				})
			}
		}
		if r := st.Resource.GetX(ctx, hourly.ID); r.MeasuredAt == nil || !r.MeasuredAt.Equal(base.Add(15*time.Minute)) || r.ClaimedUntil != nil || r.Version != 1 {
			t.Errorf("after its runs: measured at %v, claimed until %v, version %d", r.MeasuredAt, r.ClaimedUntil, r.Version)
		}

		// garbage: the unit fails naming the line, nothing is stored
		bad := mk(map[string]any{"name": "junk", "label": "Junk", "model": "SystemUser", "aggregation": "last", "monitors": []string{"test-garbage-monitor"}})
		round, err := resources.Measure(ctx, st, bed.Ex, bad, now, time.Minute)
		if err != nil || len(round.Failed) != 1 || !strings.Contains(round.Failed[0], `"du: cannot read directory"`) || round.Samples != 0 {
			t.Errorf("a monitor printing garbage: %+v %v", round, err)
		}
		if n := st.MonitorSample.Query().Where(monitorsample.Monitor("test-garbage-monitor")).CountX(ctx); n != 0 {
			t.Errorf("%d samples of garbage stored", n)
		}
		if n := st.ResourceData.Query().Where(resourcedata.ResourceID(bad.ID)).CountX(ctx); n != 0 {
			t.Errorf("usage computed from garbage for %d objects", n)
		}
	})
}
