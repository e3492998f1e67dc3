package resources_test

import (
	"context"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
	"github.com/orchestra-panel/orchestra/internal/viewer"
	"github.com/shopspring/decimal"
)

// aYear writes a year of hourly samples ending at end for objects 1..n of
// monitor: a disk that grows by a step every ten days, or a traffic
// counter of a varying amount per hour.
func aYear(t testing.TB, st *store.Store, monitor string, n int, end time.Time, counter bool) {
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	start := end.Add(-365 * 24 * time.Hour)
	var batch []*ent.MonitorSampleCreate
	flush := func() {
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.MonitorSample.CreateBulk(batch...).Exec(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for obj := 1; obj <= n; obj++ {
		for h := 0; h < 365*24; h++ {
			at := start.Add(time.Duration(h) * time.Hour)
			v := decimal.NewFromInt(int64(1_000_000 * (1 + h/240)))
			if counter {
				v = decimal.NewFromInt(int64(1000 + h%7*10 + obj))
			}
			batch = append(batch, st.MonitorSample.Create().SetMonitor(monitor).SetObjectID(obj).SetCreatedAt(at).SetValue(v))
			if len(batch) == 2000 {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

func samplesOf(t testing.TB, st *store.Store, monitor string) []resources.Sample {
	ctx := viewer.System(context.Background(), viewer.ChannelSystem)
	rows := st.MonitorSample.Query().Where(monitorsample.Monitor(monitor)).Order(ent.Asc(monitorsample.FieldCreatedAt)).AllX(ctx)
	out := make([]resources.Sample, len(rows))
	for i, r := range rows {
		out[i] = resources.Sample{Object: r.ObjectID, At: r.CreatedAt, Value: r.Value}
	}
	return out
}

// upTo are the samples at or before t.
func upTo(s []resources.Sample, t time.Time) []resources.Sample {
	var out []resources.Sample
	for _, x := range s {
		if !x.At.After(t) {
			out = append(out, x)
		}
	}
	return out
}

// TestCompaction: a year of hourly samples of a disk and of a traffic
// counter, compacted after two months, keep what every aggregation reads
// at each month's end and now, in far fewer rows; compacting again
// changes nothing.
func TestCompaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		aYear(t, st, "unix-user-disk", 2, end, false)
		aYear(t, st, "test-window-monitor", 2, end, true)
		before := end.Add(-62 * 24 * time.Hour)
		// what the aggregations read at every month's end, before and after
		type read struct {
			monitor, agg string
			at           time.Time
		}
		var ats []time.Time
		for m := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC); m.Before(end); m = m.AddDate(0, 1, 0) {
			ats = append(ats, m.Add(-time.Second))
		}
		ats = append(ats, end, before)
		measure := func() map[read]decimal.Decimal {
			out := map[read]decimal.Decimal{}
			for _, c := range []struct{ monitor, agg string }{{"unix-user-disk", "last"}, {"test-window-monitor", "monthly-sum"}} {
				all := samplesOf(t, st, c.monitor)
				for _, at := range ats {
					v, err := resources.Aggregate(c.agg, upTo(all, at), at, decimal.NewFromInt(1))
					if err != nil {
						t.Fatal(err)
					}
					out[read{c.monitor, c.agg, at}] = v
				}
			}
			return out
		}
		reads := measure()
		count := func(monitor string) int {
			return st.MonitorSample.Query().Where(monitorsample.Monitor(monitor)).CountX(ctx)
		}
		disk, traffic := count("unix-user-disk"), count("test-window-monitor")
		done, err := resources.Compact(ctx, st, before)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range measure() {
			if !v.Equal(reads[k]) {
				t.Errorf("%s %s at %s: %s after compaction, %s before", k.monitor, k.agg, k.at, v, reads[k])
			}
		}
		// recent samples untouched: 62 days of hours per object
		recent := 62 * 24 * 2
		if n := count("unix-user-disk"); n >= disk || n > recent+2*2*31 {
			t.Errorf("the disk's samples: %d of %d", n, disk)
		}
		if n := count("test-window-monitor"); n != recent+2*11 && n != recent+2*12 {
			t.Errorf("the traffic's samples: %d of %d, want %d recent and one a month before", n, traffic, recent)
		}
		t.Logf("a year of hourly samples of 2 objects: disk %d → %d rows, traffic %d → %d rows (%+v)", disk, count("unix-user-disk"), traffic, count("test-window-monitor"), done)
		if again, err := resources.Compact(ctx, st, before); err != nil || again.Deleted != 0 || again.Updated != 0 {
			t.Errorf("compacting again: %+v %v", again, err)
		}
	})
}

// TestPurge: the samples and usage of objects since deleted are forgotten,
// those of objects that exist are kept.
func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := viewer.System(context.Background(), viewer.ChannelSystem)
		var acc *ent.Account
		var user int
		if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			acc = tx.Account.Create().SetUsername("kept").SetFullName("Kept").SetPassword("!").SetEmail("k@example.com").
				SetType("INDIVIDUAL").SetLanguage("EN").SaveX(ctx)
			user = tx.SystemUser.Create().SetUsername("kept2").SetAccountID(acc.ID).SaveX(ctx).ID
			r := tx.Resource.Create().SetName("n").SetLabel("N").SetModel("Account").SaveX(ctx)
			for _, obj := range []int{acc.ID, acc.ID + 1000} {
				tx.ResourceData.Create().SetResourceID(r.ID).SetObjectID(obj).SetAccountID(acc.ID).SetExceeded(true).ExecX(ctx)
			}
			for _, obj := range []int{user, user + 1000} {
				tx.MonitorSample.Create().SetMonitor("test-window-monitor").SetObjectID(obj).SetCreatedAt(time.Now()).SetValue(decimal.NewFromInt(1)).ExecX(ctx)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		n, err := resources.Purge(ctx, st)
		if err != nil || n != 2 {
			t.Fatalf("purged %d rows: %v", n, err)
		}
		if ids := st.ResourceData.Query().Select(resourcedata.FieldObjectID).IntsX(ctx); len(ids) != 1 || ids[0] != acc.ID {
			t.Errorf("usage kept for %v", ids)
		}
		if ids := st.MonitorSample.Query().Select(monitorsample.FieldObjectID).IntsX(ctx); len(ids) != 1 || ids[0] != user {
			t.Errorf("samples kept for %v", ids)
		}
	})
}
