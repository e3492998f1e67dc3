package web

import (
	"maps"
	"net/http/httptest"
	"testing"
)

// TestSafeNext: only a plain path of this site survives; anything a browser
// could read as another host goes home.
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/domains/?q=own":        "/domains/?q=own",
		"/accounts/3/edit":       "/accounts/3/edit",
		"":                       "/",
		"//evil.example":         "/",
		"https://evil.example":   "/",
		"/\t/evil.example":       "/",
		"\t/evil.example":        "/",
		"/\n/evil.example":       "/",
		"/\r/evil.example":       "/",
		"/\\evil.example":        "/",
		"/\\/evil.example":       "/",
		" //evil.example":        "/",
		"/ /evil.example":        "/",
		"/\x00/evil.example":     "/",
		"/\x7f/evil.example":     "/",
		"javascript:alert(1)":    "/",
		"evil.example":           "/",
		"/%2F%2Fevil.example":    "/%2F%2Fevil.example", // a path segment, not a host
		"/domains/?next=//x.org": "/domains/?next=//x.org",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestNestedErrorsBesideTheirField: an error on a part of a field the form
// has no field for (a kind's setting) shows beside that field; one on an
// object's field the form shows stays on it.
func TestNestedErrorsBesideTheirField(t *testing.T) {
	w := &Handler{models: &registry{}}
	r := httptest.NewRequest("GET", "/", nil)
	p := &problem{Fields: map[string]string{"settings.timeout": "Too long.", "user.password": "Too short.", "name": "Taken."}}
	fs := []Field{{Name: "name", Type: "string"}, {Name: "settings", Type: "object", Format: "map"}, {Name: "user.password", Type: "string"}}
	got := map[string]string{}
	for _, ff := range w.formFields(r, &Model{}, fs, map[string]string{}, p) {
		got[ff.Name] = ff.Error
	}
	want := map[string]string{"name": "Taken.", "settings": "settings.timeout: Too long.", "user.password": "Too short."}
	if !maps.Equal(got, want) || len(p.Other) != 0 {
		t.Errorf("errors %v, other %v; want %v", got, p.Other, want)
	}
}

// TestStateWords: a customer reads how a service stands from the last state
// of its operations on each server.
func TestStateWords(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range []struct {
		states []string
		class  string
	}{
		{nil, "ok"},
		{[]string{"SUCCESS", "SUCCESS"}, "ok"},
		{[]string{"SUCCESS", "SKIPPED"}, "ok"},
		{[]string{"SUCCESS", "STARTED"}, "busy"},
		{[]string{"FAILURE", "RECEIVED"}, "busy"},
		{[]string{"SUCCESS", "TIMEOUT"}, "bad"},
		{[]string{"ERROR"}, "bad"},
	} {
		words, class := stateWords(r, c.states)
		if class != c.class || words == "" {
			t.Errorf("stateWords(%v) = %q, %q; want class %q", c.states, words, class, c.class)
		}
	}
}
