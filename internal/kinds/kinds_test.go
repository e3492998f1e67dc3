package kinds_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orchestra-panel/orchestra/internal/kinds"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/validate"
)

// A model that exists only here: gadgets, whose kinds are lamps and clocks.
type lamp struct {
	Watts int    `json:"watts" minimum:"1" maximum:"100" doc:"Power drawn."`
	Color string `json:"color" enum:"red,green,white"`
	Label string `json:"label,omitempty" maxLength:"20"`
}

type clock struct {
	Zone   string `json:"zone" minLength:"1" doc:"An IANA time zone."`
	Alarm  int    `json:"alarm" minimum:"0" maximum:"1439" doc:"Minutes after midnight."`
	Snooze int    `json:"snooze" minimum:"0"`
}

var gadgets = kinds.NewFamily("gadget", "TEST_GADGET_TYPES")

func init() {
	kinds.Register(gadgets, kinds.Kind[lamp]{Name: "lamp", Label: "Lamp",
		Defaults: func() lamp { return lamp{Watts: 40, Color: "white"} }})
	kinds.Register(gadgets, kinds.Kind[clock]{Name: "clock", Label: "Alarm clock",
		Defaults: func() clock { return clock{Zone: "UTC", Snooze: 5} },
		Check: func(ctx context.Context, c *clock, errs *validate.Errors) {
			if _, err := time.LoadLocation(c.Zone); err != nil {
				errs.Add("zone", "Unknown time zone.")
			}
			if c.Snooze > 60 {
				errs.Add("snooze", "At most an hour.")
			}
		}})
}

func fields(err error) []string {
	var out []string
	if errs, ok := err.(validate.Errors); ok {
		for _, e := range errs {
			out = append(out, e.Field)
		}
	}
	slices.Sort(out)
	return out
}

func TestDecode(t *testing.T) {
	ctx := context.Background()
	if got := gadgets.Labels(); len(got) != 2 || got["lamp"] != "Lamp" || got["clock"] != "Alarm clock" {
		t.Errorf("labels %v", got)
	}
	stored, v, err := gadgets.Decode(ctx, "lamp", map[string]any{"watts": 60}, "type", "settings")
	if err != nil {
		t.Fatal(err)
	}
	if l := v.(*lamp); l.Watts != 60 || l.Color != "white" {
		t.Errorf("lamp %+v: sent watts and the default color wanted", l)
	}
	if b, _ := json.Marshal(stored); string(b) != `{"color":"white","watts":60}` {
		t.Errorf("stored %s", b)
	}
	back, err := kinds.Value[lamp](gadgets, "lamp", stored)
	if err != nil || *back != *v.(*lamp) {
		t.Errorf("read back %+v (%v)", back, err)
	}
	if _, err := kinds.Value[clock](gadgets, "lamp", stored); err == nil {
		t.Error("a lamp's settings read as a clock's")
	}

	// every problem at once, named by field; the schema's then the kind's
	for _, tc := range []struct {
		kind string
		raw  map[string]any
		want []string
	}{
		{"lamp", map[string]any{"watts": 0, "color": "blue", "plug": "eu"}, []string{"settings.color", "settings.plug", "settings.watts"}},
		{"lamp", map[string]any{"watts": "sixty", "label": strings.Repeat("x", 21)}, []string{"settings.label", "settings.watts"}},
		{"clock", map[string]any{"zone": "Mars/Olympus", "snooze": 90}, []string{"settings.snooze", "settings.zone"}},
		{"clock", map[string]any{"zone": "", "alarm": 1440}, []string{"settings.alarm", "settings.zone"}},
		// the schema refuses alarm, the kind's check snooze: both at once
		{"clock", map[string]any{"alarm": -1, "snooze": 90}, []string{"settings.alarm", "settings.snooze"}},
		{"clock", map[string]any{"alarm": "noon", "zone": "Mars/Olympus"}, []string{"settings.alarm", "settings.zone"}},
		{"toaster", nil, []string{"type"}},
	} {
		_, _, err := gadgets.Decode(ctx, tc.kind, tc.raw, "type", "settings")
		if got := fields(err); !slices.Equal(got, tc.want) {
			t.Errorf("%s %v: errors on %v (%v), want %v", tc.kind, tc.raw, got, err, tc.want)
		}
	}
	if _, _, err := gadgets.Decode(ctx, "lamp", map[string]any{"watts": 0, "plug": 1}, "type", "settings"); err == nil ||
		!strings.Contains(err.Error(), "plug") {
		t.Errorf("an unknown setting is not named: %v", err)
	}
	if _, v, err := gadgets.Decode(ctx, "clock", nil, "type", "settings"); err != nil || v.(*clock).Zone != "UTC" {
		t.Errorf("a clock with its defaults: %+v %v", v, err)
	}
}

// TestEnabledBySetting: the family's setting offers a subset of the kinds;
// a kind not offered is refused by name, listing those that are.
func TestEnabledBySetting(t *testing.T) {
	if got := gadgets.Enabled(); !slices.Equal(got, []string{"lamp", "clock"}) {
		t.Fatalf("every kind by default: %v", got)
	}
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if err := settings.LoadEnv(lookup(map[string]string{"ORCHESTRA_TEST_GADGET_TYPES": "clock,toaster"})); err == nil ||
		!strings.Contains(err.Error(), `"toaster"`) {
		t.Errorf("a kind that does not exist is enabled: %v", err)
	}
	if err := settings.LoadEnv(lookup(map[string]string{"ORCHESTRA_TEST_GADGET_TYPES": "clock"})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settings.LoadEnv(lookup(nil)) })
	if got := gadgets.Enabled(); !slices.Equal(got, []string{"clock"}) {
		t.Errorf("enabled: %v", got)
	}
	_, _, err := gadgets.Decode(context.Background(), "lamp", map[string]any{"watts": 10}, "kind", "options")
	if got := fields(err); !slices.Equal(got, []string{"kind"}) || !strings.Contains(err.Error(), "clock") {
		t.Errorf("a lamp while only clocks are offered: %v", err)
	}
}

// TestDescribe: the OpenAPI document carries each kind's settings, with
// their constraints, and which schema goes with which type.
func TestDescribe(t *testing.T) {
	r := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	s := gadgets.Describe(r)
	doc, err := json.Marshal(map[string]any{"field": s, "components": r.Map()})
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, want := range []string{`"x-orchestra-kinds":{"clock":{"$ref":"#/components/schemas/GadgetClockSettings","label":"Alarm clock"}`,
		`"GadgetLampSettings":{`, `"maximum":1439`, `"enum":["red","green","white"]`, `"Power drawn."`} {
		if !strings.Contains(text, want) {
			t.Errorf("the description lacks %s:\n%s", want, text)
		}
	}
}

func TestRegisterRefuses(t *testing.T) {
	for name, reg := range map[string]func(){
		"twice":      func() { kinds.Register(gadgets, kinds.Kind[lamp]{Name: "lamp"}) },
		"bad name":   func() { kinds.Register(gadgets, kinds.Kind[lamp]{Name: "Lamp 2"}) },
		"not struct": func() { kinds.Register(gadgets, kinds.Kind[int]{Name: "number"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", name)
				}
			}()
			reg()
		}()
	}
}
