package resources

import (
	"context"
	"errors"
	"slices"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/monitorsample"
	"github.com/orchestra-panel/orchestra/internal/store/ent/resourcedata"
)

// CompactAfter is the age of the samples compaction thins.
var CompactAfter = settings.Int("RESOURCES_COMPACT_AFTER_DAYS", 62,
	"Samples older than this many days are compacted: a disk monitor's runs of equal values keep their first and last, a traffic monitor's become one per month. 0: never.",
	settings.Validator(func(v any) error {
		if v.(int) < 0 {
			return errors.New("must not be negative")
		}
		return nil
	}))

func init() {
	jobs.RegisterPeriodic(jobs.Periodic{Name: "resources.compact", Every: 24 * time.Hour, Run: func(ctx context.Context, st *store.Store) error {
		days := CompactAfter.Get()
		if days <= 0 {
			return nil
		}
		if _, err := Purge(ctx, st); err != nil {
			return err
		}
		_, err := Compact(ctx, st, time.Now().UTC().Add(-time.Duration(days)*24*time.Hour))
		return err
	}})
}

// Purge forgets the samples and the usage of objects that no longer exist
// (a deleted mailbox's), and returns how many rows it removed.
func Purge(ctx context.Context, st *store.Store) (int, error) {
	gone := func(model string) func(*entsql.Selector) {
		meta := ent.Meta[model]
		return func(s *entsql.Selector) {
			s.Where(entsql.NotIn(s.C("object_id"), entsql.Select("id").From(entsql.Table(meta.Table))))
		}
	}
	n := 0
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		for _, name := range Monitors() {
			mon, _ := monitorOf(name)
			if _, ok := ent.Meta[mon.Backend.Model]; !ok {
				continue
			}
			k, err := tx.MonitorSample.Delete().Where(monitorsample.Monitor(name), gone(mon.Backend.Model)).Exec(ctx)
			if err != nil {
				return err
			}
			n += k
		}
		rs, err := tx.Resource.Query().All(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if _, ok := ent.Meta[r.Model]; !ok {
				continue
			}
			k, err := tx.ResourceData.Delete().Where(resourcedata.ResourceID(r.ID), gone(r.Model)).Exec(ctx)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// Compacted is what a compaction did.
type Compacted struct{ Read, Deleted, Updated int }

// compactChunk is how many objects' samples one transaction compacts.
const compactChunk = 200

// Compact thins each monitor's samples before before by its strategy
// (CollapseEqual for gauges, SumMonths for counters) without changing
// what the aggregations read. It only deletes samples and sets the value
// of the one a month's sum is kept in, so two panels compacting at once
// reach the same rows.
func Compact(ctx context.Context, st *store.Store, before time.Time) (Compacted, error) {
	var done Compacted
	for _, name := range Monitors() {
		mon, _ := monitorOf(name)
		strategy := Compaction(CollapseEqual)
		if mon.Counter {
			strategy = SumMonths
		}
		objects, err := st.MonitorSample.Query().Where(monitorsample.Monitor(name), monitorsample.CreatedAtLT(before)).
			Unique(true).Select(monitorsample.FieldObjectID).Ints(ctx)
		if err != nil {
			return done, err
		}
		slices.Sort(objects)
		for chunk := range slices.Chunk(objects, compactChunk) {
			if err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
				rows, err := tx.MonitorSample.Query().Where(monitorsample.Monitor(name), monitorsample.ObjectIDIn(chunk...),
					monitorsample.CreatedAtLT(before)).Order(ent.Asc(monitorsample.FieldObjectID), ent.Asc(monitorsample.FieldCreatedAt)).All(ctx)
				if err != nil {
					return err
				}
				samples := make([]Sample, len(rows))
				was := make(map[int]Sample, len(rows))
				for i, r := range rows {
					samples[i] = Sample{ID: r.ID, Object: r.ObjectID, At: r.CreatedAt, Value: r.Value}
					was[r.ID] = samples[i]
				}
				done.Read += len(samples)
				for _, s := range strategy(samples, before) {
					if old := was[s.ID]; !old.Value.Equal(s.Value) {
						q, args := entsql.Dialect(st.Dialect).Update(monitorsample.Table).Set(monitorsample.FieldValue, s.Value).
							Where(entsql.EQ(monitorsample.FieldID, s.ID)).Query()
						if _, err := tx.ExecContext(ctx, q, args...); err != nil {
							return err
						}
						done.Updated++
					}
					delete(was, s.ID)
				}
				gone := make([]int, 0, len(was))
				for id := range was {
					gone = append(gone, id)
				}
				for ids := range slices.Chunk(gone, 500) {
					n, err := tx.MonitorSample.Delete().Where(monitorsample.IDIn(ids...)).Exec(ctx)
					if err != nil {
						return err
					}
					done.Deleted += n
				}
				return nil
			}); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}
