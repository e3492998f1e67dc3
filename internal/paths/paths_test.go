package paths

import (
	"context"
	"strings"
	"testing"
)

func TestProblems(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("a", MaxName+1)
	for _, c := range []struct {
		check func(context.Context, string) string
		p     string
		ok    bool
	}{
		{AbsProblem, "/home/alice", true},
		{AbsProblem, "/home/alice/web site", true},
		{AbsProblem, "/home/alice/ñ", true},
		{AbsProblem, "", false},
		{AbsProblem, "home/alice", false},
		{AbsProblem, "/home/alice/", false},
		{AbsProblem, "/home//alice", false},
		{AbsProblem, "/home/alice/../bob", false},
		{AbsProblem, "/home/./alice", false},
		{AbsProblem, "/home/alice\n", false},
		{AbsProblem, "/home/al\tice", false},
		{AbsProblem, "/home/al\rice", false},
		{AbsProblem, "/home/al\x00ice", false},
		{AbsProblem, "/home/\xff", false},
		{AbsProblem, "/home/" + long, false},
		{AbsProblem, "/" + strings.Repeat("a/", MaxLen), false},
		{RelProblem, "webapps/blog", true},
		{RelProblem, "..blog", true},
		{RelProblem, "", false},
		{RelProblem, ".", false},
		{RelProblem, "..", false},
		{RelProblem, "../bob", false},
		{RelProblem, "a/../../bob", false},
		{RelProblem, "/etc", false},
		{RelProblem, "a/", false},
		{RelProblem, "a\nb", false},
		{NameProblem, "shared", true},
		{NameProblem, "a/b", false},
		{NameProblem, "..", false},
		{NameProblem, ".", false},
		{NameProblem, long, false},
	} {
		if got := c.check(ctx, c.p); (got == "") != c.ok {
			t.Errorf("%q: %q, want ok=%v", c.p, got, c.ok)
		}
	}
}

func TestWithin(t *testing.T) {
	bases := []Base{{"/home/alice", "alice"}, {"/home/alice/web", "web"}, {"/home/al", "al"}}
	for p, want := range map[string]string{
		"/home/alice":           "alice",
		"/home/alice/x":         "alice",
		"/home/alice/web/x":     "web",
		"/home/alice/webx":      "alice",
		"/home/al/x":            "al",
		"/home/alicex":          "",
		"/home":                 "",
		"/etc":                  "",
		"/home/alice-evil/file": "",
	} {
		b, ok := Within(bases, p)
		if ok != (want != "") || b.Owner != want {
			t.Errorf("%s: %v %v, want %q", p, b, ok, want)
		}
	}
}
