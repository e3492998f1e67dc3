package web

import "testing"

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
