package resources

import (
	"context"
	"slices"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/crontab"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// What a resource may do when an object uses more than it is allocated.
const (
	ExceedNothing = "nothing"
	ExceedAlert   = "alert"   // staff are mailed
	ExceedDisable = "disable" // the model's enforcers take their exceeded action (and alert)
)

func init() {
	models.DeclareResource(models.ResourceModel{Name: "resource", Plural: "resources", Tag: "Resources",
		List: "List resources (staff)", Get: "Get a resource (staff)", Create: "Add a resource (staff)", Update: "Change a resource (staff)",
		Delete: "Remove a resource (staff)",
		CreateExample: map[string]any{"name": "disk", "label": "Disk space", "model": "SystemUser", "unit": "GB", "scale": "10**9",
			"aggregation": "last", "default_allocation": 10, "schedule": "0 * * * *", "on_exceed": "alert"},
		UpdateExample: map[string]any{"default_allocation": 20, "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "name", "model", "created_at"}, Search: []string{"name", "label"}, Default: "model,name"},
		Presentation: api.Presentation{Name: "resource", Label: "Resources", Singular: "Resource", Group: "administration", Type: "Resource", Staff: true, Toggle: "is_active",
			Fieldsets: []api.Fieldset{
				api.Set("", "name", "label", "model", "unit", "is_active"),
				api.Set("Measure", "monitors", "aggregation", "scale", "schedule", "on_demand"),
				api.Set("Limits", "default_allocation", "on_exceed"),
			},
			Title: "label", Columns: []string{"name", "model", "unit", "aggregation", "is_active"},
			Choices: map[string]api.Choice{"aggregation": api.Among(aggregationNames()...), "on_exceed": api.Among(ExceedNothing, ExceedAlert, ExceedDisable),
				"model": {From: Measurable, Named: true}}}, // once every service's backends are registered
	})
	store.RegisterHook("Resource", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.ResourceFunc(func(ctx context.Context, m *ent.ResourceMutation) (ent.Value, error) {
			if err := check(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

func aggregationNames() []string {
	var out []string
	for n := range Aggregations {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Measurable are the models a resource may measure: those a backend
// applies (the services') and the account.
func Measurable() []string {
	out := []string{"Account"}
	for _, b := range orchestration.Backends() {
		if !strings.HasPrefix(b.Name, "test-") && !slices.Contains(out, b.Model) {
			out = append(out, b.Model)
		}
	}
	slices.Sort(out)
	return out
}

// check holds a resource's rules, every mistake at once.
func check(ctx context.Context, m *ent.ResourceMutation) error {
	var errs validate.Errors
	among := func(list []string) func(string) string {
		return func(s string) string {
			if !slices.Contains(list, s) {
				return i18n.T(ctx, "Choose one of: %s.", strings.Join(list, ", "))
			}
			return ""
		}
	}
	required := func(s string) string { return validate.Required(ctx, s) }
	errs.Check(ctx, m, "name", required, validate.Is(ctx, validate.Name))
	errs.Check(ctx, m, "label", required, validate.OneLine(ctx))
	errs.Check(ctx, m, "model", among(Measurable()))
	errs.Check(ctx, m, "aggregation", among(aggregationNames()))
	errs.Check(ctx, m, "unit", validate.OneLine(ctx))
	errs.Check(ctx, m, "scale", func(s string) string {
		if _, err := Scale(s); err != nil {
			return i18n.T(ctx, "Enter a number above zero, or an expression of numbers such as 10**9 or 1024*1024.")
		}
		return ""
	})
	errs.Check(ctx, m, "schedule", func(s string) string {
		if _, err := crontab.Parse(s); s != "" && err != nil {
			return i18n.T(ctx, "Enter five crontab fields (minute, hour, day of month, month, day of week), such as 0 * * * * for hourly, or leave it empty.")
		}
		return ""
	})
	errs.Check(ctx, m, "on_exceed", among([]string{ExceedNothing, ExceedAlert, ExceedDisable}))
	if mons, ok := m.Monitors(); ok {
		for _, name := range mons {
			if !slices.Contains(Monitors(), name) {
				errs.Add("monitors", i18n.T(ctx, "No monitor is called %s.", name))
				break
			}
		}
	}
	onExceed, exceedSet := m.OnExceed()
	model, modelSet := m.Model()
	if m.Op().Is(ent.OpUpdateOne) {
		if !exceedSet {
			onExceed, _ = m.OldOnExceed(ctx)
		}
		model, _ = m.OldModel(ctx)
	} else if !modelSet {
		model = ""
	}
	if onExceed == ExceedDisable && model != "" && !hasEnforcer(model) {
		errs.Add("on_exceed", i18n.T(ctx, "Nothing can disable a %s that uses too much: choose nothing or alert.", model))
	}
	onDemand, set := m.OnDemand()
	alloc, given := m.DefaultAllocation()
	if m.Op().Is(ent.OpUpdateOne) {
		if !set {
			onDemand, _ = m.OldOnDemand(ctx)
		}
		if old, _ := m.OldDefaultAllocation(ctx); !given && !m.DefaultAllocationCleared() && old != nil {
			alloc, given = *old, true
		}
	}
	switch {
	case given && alloc < 0:
		errs.Add("default_allocation", i18n.T(ctx, "Enter a number of zero or more."))
	case given && onDemand:
		errs.Add("default_allocation", i18n.T(ctx, "A resource measured on demand has no allocation."))
	}
	return errs.Err()
}
