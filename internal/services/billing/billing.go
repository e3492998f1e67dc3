// Package billing is what the panel bills: services (a model's objects,
// which of them, how much of each, how often, at what price), plans and
// their rates, and the plans accounts contract. Orders, the billing run and
// bills build on these. Field names, defaults and choices are
// django-orchestra's (reference §2, §3).
package billing

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"

	"github.com/orchestra-panel/orchestra/internal/api"
	"github.com/orchestra-panel/orchestra/internal/api/models"
	"github.com/orchestra-panel/orchestra/internal/i18n"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/billing/rates"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/contractedplan"
	"github.com/orchestra-panel/orchestra/internal/store/ent/hook"
	"github.com/orchestra-panel/orchestra/internal/store/ent/plan"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// The choices of a service, as the original stores them.
var (
	BillingPeriods = []string{"", "MONTHLY", "ANUAL"}
	BillingPoints  = []string{"ON_REGISTER", "ON_FIXED_DATE"}
	IgnorePeriods  = []string{"", "ONE_DAY", "TWO_DAYS", "TEN_DAYS", "ONE_MONTH"}
	PricingPeriods = []string{"", "BILLING_PERIOD", "MONTHLY", "ANUAL"}
	OnCancels      = []string{"NOTHING", "DISCOUNT", "COMPENSATE", "REFUND"}
	PaymentStyles  = []string{"PREPAY", "POSTPAY"}
)

// Taxes are the tax rates services may have.
var Taxes = settings.StringList("SERVICES_SERVICE_TAXES", []string{"0", "21"},
	"The tax rates, in percent, services may have (0: duty free).", settings.Validator(func(v any) error {
		for _, t := range v.([]string) {
			if n, err := strconv.Atoi(t); err != nil || n < 0 || n > 100 {
				return strconv.ErrSyntax
			}
		}
		return nil
	}))

// Billable are the models a service may bill: those whose objects belong
// to an account, and the account itself.
func Billable() []string {
	var out []string
	for name, m := range ent.Meta {
		if m.Owner != "" && m.Audit && name != "Bill" && name != "BillContact" { // bills are what billing makes
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func rateNames() []string {
	var out []string
	for n := range rates.Algorithms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func init() {
	models.DeclareService(models.ServiceModel{Name: "service", Plural: "services", Tag: "Billing",
		List: "List billed services (staff)", Get: "Get a billed service (staff)", Create: "Add a billed service (staff)",
		Update: "Change a billed service (staff)", Delete: "Remove a billed service (staff)",
		CreateExample: map[string]any{"description": "Mailbox", "model": "Mailbox", "nominal_price": "2.50", "billing_period": "MONTHLY"},
		UpdateExample: map[string]any{"nominal_price": "3.00", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "description", "model", "created_at"}, Search: []string{"description"}, Default: "description"},
		Presentation: api.Presentation{Name: "service", Label: "Billed services", Singular: "Billed service", Group: "administration", Type: "Service", Staff: true,
			Toggle: "is_active", Title: "description", Columns: []string{"model", "nominal_price", "billing_period", "is_active"}, Money: []string{"nominal_price"},
			Fieldsets: []api.Fieldset{
				api.Set("", "description", "model", "match", "is_active"),
				api.Set("Billing", "billing_period", "billing_point", "payment_style", "is_fee", "order_description"),
				api.Set("Pricing", "nominal_price", "tax", "metric", "pricing_period", "rate_algorithm"),
				api.Set("Orders", "on_cancel", "ignore_period", "ignore_superusers", "periodic_update"),
			},
			Choices: map[string]api.Choice{"model": {From: Billable, Named: true}, "billing_period": api.Among(BillingPeriods...),
				"billing_point": api.Among(BillingPoints...), "ignore_period": api.Among(IgnorePeriods...), "pricing_period": api.Among(PricingPeriods...),
				"on_cancel": api.Among(OnCancels...), "payment_style": api.Among(PaymentStyles...), "rate_algorithm": {From: rateNames},
				"tax": api.FromSetting(Taxes.Name())}},
	})
	models.DeclarePlan(models.PlanModel{Name: "plan", Plural: "plans", Tag: "Billing",
		List: "List plans (staff)", Get: "Get a plan (staff)", Create: "Add a plan (staff)", Update: "Change a plan (staff)", Delete: "Remove a plan (staff)",
		CreateExample: map[string]any{"name": "basic", "verbose_name": "Basic", "is_default": true},
		UpdateExample: map[string]any{"verbose_name": "Basic hosting", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "name", "created_at"}, Search: []string{"name", "verbose_name"}, Default: "name"},
		Presentation: api.Presentation{Name: "plan", Label: "Plans", Singular: "Plan", Group: "administration", Type: "Plan", Staff: true,
			Toggle: "is_active", Title: "name", Columns: []string{"verbose_name", "is_default", "is_combinable", "allow_multiple", "is_active"},
			Fieldsets: []api.Fieldset{api.Set("", "name", "verbose_name", "is_active", "is_default", "is_combinable", "allow_multiple")}},
	})
	models.DeclareRate(models.RateModel{Name: "rate", Plural: "rates", Tag: "Billing",
		List: "List rates (staff)", Get: "Get a rate (staff)", Create: "Add a rate (staff)", Update: "Change a rate (staff)", Delete: "Remove a rate (staff)",
		CreateExample: map[string]any{"service": 1, "plan": 1, "quantity": 0, "price": "2.00"},
		UpdateExample: map[string]any{"price": "1.50", "version": 1},
		Listing:       api.Listing{Orderable: []string{"id", "service_id", "plan_id", "quantity", "created_at"}, Default: "service_id,plan_id,quantity"},
		Presentation: api.Presentation{Name: "rate", Label: "Rates", Singular: "Rate", Group: "administration", Type: "Rate", Staff: true,
			Title: "id", Caption: []string{"service", "plan", "quantity"}, Columns: []string{"service", "plan", "quantity", "price"}, Money: []string{"price"},
			Fieldsets: []api.Fieldset{api.Set("", "service", "plan", "quantity", "price")}},
	})
	models.DeclareContractedPlan(models.ContractedPlanModel{Name: "contracted-plan", Plural: "contracted-plans", Tag: "Billing",
		List: "List contracted plans", Get: "Get a contracted plan", Create: "Contract a plan for an account (staff)", Delete: "End a contracted plan (staff)",
		CreateExample: map[string]any{"plan": 1, "account": 1},
		Listing:       api.Listing{Orderable: []string{"id", "created_at", "account_id", "plan_id"}, Default: "account_id,plan_id"},
		Presentation: api.Presentation{Name: "contracted-plan", Label: "Contracted plans", Singular: "Contracted plan", Group: "accounts", Type: "ContractedPlan",
			Title: "id", Caption: []string{"plan"}, Columns: []string{"plan", "created_at", "account"},
			Fieldsets: []api.Fieldset{api.Set("", "account", "plan")}},
	})
	store.RegisterHook("Service", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.ServiceFunc(func(ctx context.Context, m *ent.ServiceMutation) (ent.Value, error) {
			if err := checkService(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("Plan", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.PlanFunc(func(ctx context.Context, m *ent.PlanMutation) (ent.Value, error) {
			var errs validate.Errors
			errs.Check(ctx, m, "name", func(s string) string { return validate.Required(ctx, s) }, validate.Is(ctx, validate.Name))
			errs.Check(ctx, m, "verbose_name", validate.OneLine(ctx))
			if err := errs.Err(); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("Rate", ent.OpCreate|ent.OpUpdateOne, func(next ent.Mutator) ent.Mutator {
		return hook.RateFunc(func(ctx context.Context, m *ent.RateMutation) (ent.Value, error) {
			var errs validate.Errors
			if q, ok := m.Quantity(); ok && q < 0 {
				errs.Add("quantity", i18n.T(ctx, "Enter a number of zero or more."))
			}
			if p, ok := m.Price(); ok {
				checkMoney(ctx, &errs, "price", p)
			}
			if err := errs.Err(); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
	store.RegisterHook("ContractedPlan", ent.OpCreate, func(next ent.Mutator) ent.Mutator {
		return hook.ContractedPlanFunc(func(ctx context.Context, m *ent.ContractedPlanMutation) (ent.Value, error) {
			if err := checkContract(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

// checkMoney refuses a negative amount or one finer than a cent.
func checkMoney(ctx context.Context, errs *validate.Errors, field string, v decimal.Decimal) {
	switch {
	case v.IsNegative():
		errs.Add(field, i18n.T(ctx, "Enter an amount of zero or more."))
	case !v.Equal(v.Round(2)) || v.GreaterThanOrEqual(decimal.New(1, 10)):
		errs.Add(field, i18n.T(ctx, "Enter an amount in cents, below 10,000,000,000."))
	}
}

// checkService holds a service's rules, every mistake at once: choices, an
// amount, and its expressions compiled against its model.
func checkService(ctx context.Context, m *ent.ServiceMutation) error {
	var errs validate.Errors
	among := func(list []string) func(string) string {
		return func(s string) string {
			if !slices.Contains(list, s) {
				return i18n.T(ctx, "Choose one of: %s.", strings.Join(list, ", "))
			}
			return ""
		}
	}
	errs.Check(ctx, m, "description", func(s string) string { return validate.Required(ctx, strings.TrimSpace(s)) }, validate.OneLine(ctx))
	errs.Check(ctx, m, "model", among(Billable()))
	errs.Check(ctx, m, "billing_period", among(BillingPeriods))
	errs.Check(ctx, m, "billing_point", among(BillingPoints))
	errs.Check(ctx, m, "ignore_period", among(IgnorePeriods))
	errs.Check(ctx, m, "pricing_period", among(PricingPeriods))
	errs.Check(ctx, m, "on_cancel", among(OnCancels))
	errs.Check(ctx, m, "payment_style", among(PaymentStyles))
	errs.Check(ctx, m, "rate_algorithm", among(rateNames()))
	if p, ok := m.NominalPrice(); ok {
		checkMoney(ctx, &errs, "nominal_price", p)
	}
	if t, ok := m.Tax(); ok && !slices.Contains(Taxes.Get(), strconv.Itoa(t)) {
		errs.Add("tax", i18n.T(ctx, "Choose one of: %s.", strings.Join(Taxes.Get(), ", ")))
	}
	model, _ := m.Model()
	if m.Op().Is(ent.OpUpdateOne) {
		model, _ = m.OldModel(ctx)
	}
	if !errs.Has("model") && model != "" {
		for _, e := range []struct {
			field string
			as    expr.Option
		}{{"match", expr.AsBool()}, {"metric", expr.AsFloat64()}, {"order_description", expr.AsKind(reflect.String)}} {
			v, ok := validate.String(ctx, m, e.field)
			if !ok || strings.TrimSpace(v) == "" {
				continue
			}
			if _, err := orchestration.CompileObject(model, v, e.as); err != nil {
				errs.Add(e.field, i18n.T(ctx, "This expression does not work on a %s: %s", model, err.Error()))
			}
		}
	}
	return errs.Err()
}

// checkContract refuses a second contract of a plan that does not allow
// several, and one of an inactive plan.
func checkContract(ctx context.Context, m *ent.ContractedPlanMutation) error {
	var errs validate.Errors
	planID, _ := m.PlanID()
	account, _ := m.AccountID()
	tx, err := m.Tx()
	if err != nil {
		return err
	}
	p, err := tx.Plan.Query().Where(plan.ID(planID)).Only(ctx)
	if ent.IsNotFound(err) {
		errs.Add("plan", i18n.T(ctx, "No such plan."))
		return errs.Err()
	} else if err != nil {
		return err
	}
	if !p.IsActive {
		errs.Add("plan", i18n.T(ctx, "This plan is no longer offered."))
	} else if !p.AllowMultiple {
		taken, err := tx.ContractedPlan.Query().Where(contractedplan.PlanID(planID), contractedplan.AccountID(account)).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			errs.Add("plan", i18n.T(ctx, "The account has this plan already, and it cannot be contracted twice."))
		}
	}
	return errs.Err()
}
